"""``/api/ivr/``: the switch's call API, prompt audio, the simulator, menu versions, statistics."""

from django.urls import path, re_path

from . import apis

app_name = "ivr-api"

urlpatterns = [
    path("calls/", apis.CallStartApi.as_view(), name="call-start"),
    path("calls/<str:call_id>/events/", apis.CallEventApi.as_view(), name="call-events"),
    path("calls/<str:call_id>/vxml", apis.CallVxmlApi.as_view(), name="call-vxml"),
    re_path(
        r"^calls/(?P<call_id>[^/]+)/audio/(?P<seq>[0-9]{1,7})-(?P<index>[0-9]{1,3})(?:-(?P<sub>[0-9]{1,3}))?\.wav$",
        apis.CallAudioApi.as_view(),
        name="call-audio",
    ),
    path("simulator/calls/", apis.SimulatorCallStartApi.as_view(), name="simulator-start"),
    path("simulator/calls/<str:call_id>/events/", apis.SimulatorCallEventApi.as_view(), name="simulator-events"),
    path("menus/", apis.MenuVersionListApi.as_view(), name="menu-list"),
    path("menus/<int:pk>/", apis.MenuVersionDetailApi.as_view(), name="menu-detail"),
    path("menus/<int:pk>/tree/", apis.MenuTreeApi.as_view(), name="menu-tree"),
    path("menus/<int:pk>/publish/", apis.MenuPublishApi.as_view(), name="menu-publish"),
    path("menus/<int:pk>/rollback/", apis.MenuRollbackApi.as_view(), name="menu-rollback"),
    path("statistics/", apis.StatisticsApi.as_view(), name="statistics"),
]
