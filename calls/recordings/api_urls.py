"""``/api/recordings/`` (DESIGN.md §6 "Recordings")."""

from django.urls import path

from . import apis

app_name = "recordings-api"

urlpatterns = [
    path("", apis.RecordingListApi.as_view(), name="list"),
    path("pause/", apis.RecordingPauseApi.as_view(), name="pause"),
    path("<int:recording_id>/", apis.RecordingDetailApi.as_view(), name="detail"),
    path("<int:recording_id>/audio/", apis.RecordingAudioApi.as_view(), name="audio"),
    path("<int:recording_id>/download/", apis.RecordingDownloadApi.as_view(), name="download"),
    path("<int:recording_id>/legal-hold/", apis.RecordingLegalHoldApi.as_view(), name="legal-hold"),
]
