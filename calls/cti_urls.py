"""``/api/cti/``: the switch's call-event feed."""

from django.urls import path

from . import apis

app_name = "cti-api"

urlpatterns = [
    path("events/", apis.CtiEventsApi.as_view(), name="events"),
]
