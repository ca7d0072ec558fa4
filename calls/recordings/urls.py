"""The recordings pages (``/recordings/``); the API and the audio stream are under ``/api/recordings/``."""

from django.urls import path

from . import views

app_name = "recordings"

urlpatterns = [
    path("", views.recording_list, name="list"),
    path("<int:pk>/", views.recording_detail, name="detail"),
    path("<int:pk>/legal-hold/", views.recording_legal_hold, name="legal-hold"),
]
