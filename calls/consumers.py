"""Websocket consumers: they authenticate, join their group and relay (``calls.realtime``).

``/ws/agent/`` (agents, team leads): on connect the agent's desk (state, ringing or connected call
with its screen-pop, call in after-call work) as ``{"type": "desk", ...}``, then ``call.offered``,
``call.updated``, ``agent.state`` and ``callbacks.changed`` of this agent only.
``/ws/wallboard/`` (team leads, director): a snapshot on connect, then coalesced snapshots.

No user: accepted and closed with 4401 (so the browser sees the code and goes to the login page
instead of retrying); a role without access: closed with 4403.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer

from agents import presence
from core.websocket import JsonConsumer
from org.roles import Role
from org.scoping import user_role

from .dispatch import Ticker
from .realtime import WALLBOARD_GROUP, agent_group

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class _RelayConsumer(JsonConsumer):
    roles: tuple[str, ...] = ()
    is_wallboard = False
    is_desktop = False  # an agent's desktop: its connection is the agent's presence

    async def connect(self):
        self.group = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED)
        if await database_sync_to_async(user_role)(user) not in self.roles:
            await self._refuse(CLOSE_FORBIDDEN)
        self.group = self.group_for(user)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.desktop_of = user.pk if self.is_desktop else None
        Ticker.current().join(wallboard=self.is_wallboard, desktop=(self.channel_name, self.desktop_of))
        await self.send_json(await database_sync_to_async(self.first_message)(user))

    async def _refuse(self, code: int) -> None:
        """Accept, then close with ``code`` (a browser sees the code of an accepted socket only),
        and stop: the server may never report the disconnect of a socket the app closed, which
        would leave this consumer waiting on the channel layer for good."""
        await self.accept()
        await self.close(code=code)
        raise StopConsumer()

    def group_for(self, user) -> str:
        raise NotImplementedError

    def first_message(self, user) -> dict:
        raise NotImplementedError

    async def disconnect(self, code):
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            Ticker.current().leave(wallboard=self.is_wallboard, desktop=self.channel_name)
            self.group = None
            desktop_of = getattr(self, "desktop_of", None)
            if desktop_of is not None:
                await database_sync_to_async(presence.connection_closed)(desktop_of, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def relay(self, message):
        await self.send_json(message["payload"])


class AgentConsumer(_RelayConsumer):
    roles = (Role.AGENT, Role.TEAM_LEAD)
    is_desktop = True

    def group_for(self, user) -> str:
        return agent_group(user.pk)

    def first_message(self, user) -> dict:
        from agents.selectors import agent_desk
        from agents.services import agent_status_for

        presence.connection_opened(user.pk, self.channel_name)
        agent_status_for(user)
        return agent_desk(user)


class WallboardConsumer(_RelayConsumer):
    roles = (Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST)  # the analyst's dashboard is live too
    is_wallboard = True

    def group_for(self, user) -> str:
        return WALLBOARD_GROUP

    def first_message(self, user) -> dict:
        from .selectors import wallboard_snapshot

        return wallboard_snapshot()
