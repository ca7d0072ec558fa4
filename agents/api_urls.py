"""``/api/agents/``: agent states, skills and callbacks."""

from django.urls import path

from . import apis

app_name = "agents-api"

urlpatterns = [
    path("", apis.AgentListApi.as_view(), name="list"),
    path("me/", apis.MeApi.as_view(), name="me"),
    path("me/state/", apis.MyStateApi.as_view(), name="my-state"),
    path("callbacks/", apis.CallbackListApi.as_view(), name="callbacks"),
    path("callbacks/<int:pk>/complete/", apis.CallbackCompleteApi.as_view(), name="callback-complete"),
    path("<str:username>/state/", apis.AgentStateApi.as_view(), name="state"),
    path("<str:username>/skills/", apis.AgentSkillsApi.as_view(), name="skills"),
]
