from django.urls import path

from . import views, wfm_views
from .quality import urls as quality_urls

app_name = "agents"

urlpatterns = [
    path("desktop/", views.desktop, name="desktop"),
    path("wfm/staffing/", wfm_views.staffing, name="wfm-staffing"),
    path("wfm/rosters/", wfm_views.rosters, name="wfm-rosters"),
    path("wfm/rosters/<int:pk>/", wfm_views.roster_detail, name="wfm-roster"),
    path("wfm/my-shifts/", wfm_views.my_shifts, name="wfm-my-shifts"),
    path("wfm/my-shifts/panel/", wfm_views.my_shifts_panel, name="wfm-my-shifts-panel"),
    path("wfm/requests/", wfm_views.shift_requests, name="wfm-requests"),
    *quality_urls.urlpatterns,
]
