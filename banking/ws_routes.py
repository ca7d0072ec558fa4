"""Websocket routes of banking (to be gathered by ``contactcenter.routing``)."""

from django.urls import path

from .consumers import BatchProgressConsumer

websocket_urlpatterns = [
    path("ws/banking/batches/<int:batch_id>/", BatchProgressConsumer.as_asgi()),
]
