"""The websocket origin check guards session-cookie logins only (contactcenter/ws_auth.py): a
``?token=`` client with no ``Origin`` (a wall display, a CTI bridge) connects; a cookie login from
another site, or with no ``Origin``, is refused; a bad token never falls back to the cookie."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from rest_framework.authtoken.models import Token

from calls.tests.helpers import websocket_communicator_class
from contactcenter.asgi import application
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db(transaction=True)

WebsocketCommunicator = websocket_communicator_class()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def connects(path: str, headers=()) -> tuple[bool, int | None]:
    async def attempt():
        comm = WebsocketCommunicator(application, path, headers=list(headers))
        connected, code = await comm.connect(timeout=3)
        if connected:
            first = await comm.receive_output(timeout=3)
            await comm.disconnect()
            if first["type"] == "websocket.close":
                return False, first.get("code")
        return connected, code

    return async_to_sync(attempt)()


def session_cookie(client, user) -> tuple[bytes, bytes]:
    client.force_login(user)
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())


def test_a_token_client_without_an_origin_header_connects(queues):
    lead = make_staff(Role.TEAM_LEAD, username="wall-display")
    token = Token.objects.create(user=lead)
    assert connects(f"/ws/wallboard/?token={token.key}") == (True, None)


def test_a_token_client_from_any_origin_connects(queues):
    lead = make_staff(Role.TEAM_LEAD, username="wall-display-2")
    token = Token.objects.create(user=lead)
    connected, _code = connects(f"/ws/wallboard/?token={token.key}", [(b"origin", b"http://kiosk.example")])
    assert connected


def test_a_session_cookie_from_another_site_or_without_origin_is_refused(queues, client):
    lead = make_staff(Role.TEAM_LEAD, username="lead-cookie")
    cookie = session_cookie(client, lead)
    assert connects("/ws/wallboard/", [cookie, (b"origin", b"http://evil.example")])[0] is False
    assert connects("/ws/wallboard/", [cookie])[0] is False
    assert connects("/ws/wallboard/", [cookie, (b"origin", b"http://testserver")]) == (True, None)


def test_a_bad_token_does_not_carry_the_cookie_past_the_origin_check(queues, client):
    lead = make_staff(Role.TEAM_LEAD, username="lead-cookie-2")
    cookie = session_cookie(client, lead)
    connected, code = connects("/ws/wallboard/?token=not-a-token", [cookie, (b"origin", b"http://evil.example")])
    assert (connected, code) == (False, 4401)
    assert connects("/ws/wallboard/?token=a%00b", [cookie])[0] is False
