"""Quality-scoring pages, mounted by ``agents/urls.py`` under ``/agent/`` (names ``agents:qa-…``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("qa/", views.worklist, name="qa-worklist"),
    path("qa/mine/", views.mine, name="qa-mine"),
    path("qa/recordings/<int:recording_id>/score/", views.score, name="qa-score"),
    path("qa/evaluations/<int:pk>/", views.evaluation_detail, name="qa-evaluation"),
    path("qa/evaluations/<int:pk>/rescore/", views.rescore, name="qa-rescore"),
]
