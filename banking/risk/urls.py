"""The risk officer's pages, mounted at ``/risk/alerts/`` (namespace ``risk``)."""

from django.urls import path

from . import views

app_name = "risk"

urlpatterns = [
    path("", views.alert_list, name="alerts"),
    path("<int:pk>/", views.alert_detail, name="alert"),
    path("<int:pk>/<slug:action>/", views.alert_action, name="alert-action"),
    path("queried-accounts/", views.queried_accounts, name="queried-accounts"),
]
