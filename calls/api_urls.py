"""``/api/calls/``: call status for the switch, agents' call controls, screen-pop, wallboard."""

from django.urls import path

from . import apis

app_name = "calls-api"

urlpatterns = [
    path("wallboard/", apis.WallboardApi.as_view(), name="wallboard"),
    path("queues/", apis.QueueListApi.as_view(), name="queues"),
    path("<str:call_id>/", apis.CallStatusApi.as_view(), name="call"),
    path("<str:call_id>/answer/", apis.CallActionApi.as_view(action_name="answer"), name="answer"),
    path("<str:call_id>/hold/", apis.CallActionApi.as_view(action_name="hold"), name="hold"),
    path("<str:call_id>/retrieve/", apis.CallActionApi.as_view(action_name="retrieve"), name="retrieve"),
    path("<str:call_id>/hangup/", apis.CallActionApi.as_view(action_name="hangup"), name="hangup"),
    path("<str:call_id>/wrapup/", apis.CallWrapupApi.as_view(), name="wrapup"),
    path("<str:call_id>/transfer/", apis.CallTransferApi.as_view(), name="transfer"),
    path("<str:call_id>/callback/", apis.CallCallbackApi.as_view(), name="callback"),
    path("<str:call_id>/screen-pop/", apis.ScreenPopApi.as_view(), name="screen-pop"),
    path("<str:call_id>/test-hangup/", apis.TestCallHangupApi.as_view(), name="test-hangup"),
    path("<str:call_id>/customer/", apis.CallCustomerLinkApi.as_view(), name="customer"),
]
