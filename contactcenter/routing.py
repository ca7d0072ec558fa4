"""Websocket routes of every app, gathered in one list for the ASGI router."""

from banking.ws_routes import websocket_urlpatterns as banking_routes
from calls.ws_routes import websocket_urlpatterns as calls_routes

websocket_urlpatterns: list = [*calls_routes, *banking_routes]
