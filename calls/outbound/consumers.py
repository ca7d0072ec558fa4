"""``/ws/switch/``: the switch adapter's command channel (docs/cti.md "The switch contract").

Token only (``?token=`` of a user with the ``switch`` role): a session login — a browser — is
refused (4403) even for a switch user, and no user at all is 4401. On every (re)connect the
adapter first gets every unacknowledged ``originate`` and the recent ``cancel`` commands
(``commands.replay_for_reconnect``), then the live ones pushed to the group ``switch``. It
answers ``{"type": "ack", "command_id"}`` per command; an ack of a cancelled command is answered
with the ``cancel`` again, an unknown one with ``{"type": "error", "code": "unknown_command"}``.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer

from core.websocket import JsonConsumer
from org.roles import Role
from org.scoping import user_role

from ..consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from ..dispatch import Ticker
from . import commands, dialer


def _has_token(scope) -> bool:
    """Whether the socket authenticated with ``?token=`` (``contactcenter.ws_auth``), not a session."""
    return bool(parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token"))


class SwitchConsumer(JsonConsumer):
    async def connect(self):
        self.joined = False
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
        if not _has_token(self.scope) or await database_sync_to_async(user_role)(user) != Role.SWITCH:
            await self._refuse(CLOSE_FORBIDDEN)
        await self.channel_layer.group_add(commands.SWITCH_GROUP, self.channel_name)
        self.joined = True
        await self.accept()
        Ticker.current().join(wallboard=False)  # the sweep re-sends what is not acknowledged
        for message in await database_sync_to_async(commands.replay_for_reconnect)():
            await self.send_json(message)

    async def _refuse(self, code: int) -> None:
        await self.accept()
        await self.close(code=code)
        raise StopConsumer()

    async def disconnect(self, code):
        if self.joined:
            self.joined = False
            await self.channel_layer.group_discard(commands.SWITCH_GROUP, self.channel_name)
            Ticker.current().leave(wallboard=False)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        if kind != "ack":
            await self.send_json({"type": "error", "code": "unknown_message"})
            return
        command_id = content.get("command_id")
        if not isinstance(command_id, str) or not 0 < len(command_id) <= 64:
            await self.send_json({"type": "error", "code": "invalid_command_id"})
            return
        result = await database_sync_to_async(dialer.acknowledge)(command_id)
        if result == "cancelled":
            await self.send_json(commands.cancel_payload(command_id))
        elif result == "unknown":
            await self.send_json({"type": "error", "code": "unknown_command", "command_id": command_id})

    async def relay(self, message):
        await self.send_json(message["payload"])
