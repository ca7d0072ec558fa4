from django.urls import path

from . import apis

urlpatterns = [
    path("alerts/", apis.AlertListApi.as_view(), name="api-risk-alerts"),
    path("alerts/<int:alert_id>/", apis.AlertDetailApi.as_view(), name="api-risk-alert"),
    path("alerts/<int:alert_id>/assign/", apis.AlertAssignApi.as_view(), name="api-risk-alert-assign"),
    path("alerts/<int:alert_id>/comment/", apis.AlertCommentApi.as_view(), name="api-risk-alert-comment"),
    path("alerts/<int:alert_id>/escalate/", apis.AlertEscalateApi.as_view(), name="api-risk-alert-escalate"),
    path("alerts/<int:alert_id>/close/", apis.AlertCloseApi.as_view(), name="api-risk-alert-close"),
]
