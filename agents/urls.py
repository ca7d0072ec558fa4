from django.urls import path

from . import views, wfm_views

app_name = "agents"

urlpatterns = [
    path("desktop/", views.desktop, name="desktop"),
    path("wfm/staffing/", wfm_views.staffing, name="wfm-staffing"),
    path("wfm/rosters/", wfm_views.rosters, name="wfm-rosters"),
    path("wfm/rosters/<int:pk>/", wfm_views.roster_detail, name="wfm-roster"),
]
