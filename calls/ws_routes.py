"""Websocket routes of calls and agents (gathered by ``contactcenter.routing``)."""

from django.urls import path

from .consumers import AgentConsumer, WallboardConsumer
from .outbound.consumers import SwitchConsumer

websocket_urlpatterns = [
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
    path("ws/switch/", SwitchConsumer.as_asgi()),  # the switch adapter's commands (token only)
]
