"""``/api/reports/``."""

from django.urls import path

from . import apis

app_name = "reports-api"

urlpatterns = [
    path("kpi/", apis.KpiApi.as_view(), name="kpi"),
    path("tickets/", apis.TicketsApi.as_view(), name="tickets"),
]
