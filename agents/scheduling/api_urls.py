"""``/api/wfm/``: workforce management (issue 18)."""

from django.urls import path

from . import apis

app_name = "wfm-api"

urlpatterns = [
    path("erlang-c/", apis.ErlangCApi.as_view(), name="erlang-c"),
    path("erlang-a/", apis.ErlangAApi.as_view(), name="erlang-a"),
    path("rosters/", apis.RosterListApi.as_view(), name="rosters"),
    path("rosters/<int:pk>/", apis.RosterDetailApi.as_view(), name="roster"),
    path("rosters/<int:pk>/publish/", apis.RosterPublishApi.as_view(), name="roster-publish"),
    path("rosters/<int:pk>/swaps/", apis.RosterSwapApi.as_view(), name="roster-swaps"),
    path("adherence/", apis.AdherenceApi.as_view(), name="adherence"),
    path("me/shifts/", apis.MyShiftsApi.as_view(), name="my-shifts"),
    path("requests/", apis.ShiftRequestListApi.as_view(), name="requests"),
    *[
        path(
            f"requests/<int:pk>/{action}/", apis.ShiftRequestActionApi.as_view(action=action), name=f"request-{action}"
        )
        for action in apis.ShiftRequestActionApi.ROLES
    ],
]
