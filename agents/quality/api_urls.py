"""``/api/qa/``: quality scoring of recorded calls."""

from django.urls import path

from . import apis

app_name = "qa-api"

urlpatterns = [
    path("scorecards/", apis.ScorecardListApi.as_view(), name="scorecards"),
    path("evaluations/", apis.EvaluationListApi.as_view(), name="evaluations"),
    path("evaluations/<int:pk>/", apis.EvaluationDetailApi.as_view(), name="evaluation"),
    path("evaluations/<int:pk>/acknowledge/", apis.EvaluationAcknowledgeApi.as_view(), name="acknowledge"),
    path("evaluations/<int:pk>/dispute/", apis.EvaluationDisputeApi.as_view(), name="dispute"),
    path("evaluations/<int:pk>/resolve/", apis.EvaluationResolveApi.as_view(), name="resolve"),
    path("evaluations/<int:pk>/rescore/", apis.EvaluationRescoreApi.as_view(), name="rescore"),
    path("sample/", apis.SampleApi.as_view(), name="sample"),
]
