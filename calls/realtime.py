"""Pushes to screens: group names, the one ``group_send`` helper, and the wallboard coalescer.

One path from a database write to a screen: a service registers ``*_on_commit`` → after commit
the payload is built with the REST API's serializers → ``push`` → the group → the consumer
relays it to the browser.

Agents get their own messages at once (group ``agent.<user id>``: ``call.offered``,
``call.updated``, ``call.withdrawn``, ``agent.state``, ``callbacks.changed``). The wallboard is coalesced: writers
only bump a change counter (``wallboard_changed``); a flusher in each websocket process wakes
every ``CALLS_WALLBOARD_INTERVAL_S``, and when something changed one process (a per-slot cache
lock) builds one snapshot and sends it to the ``wallboard`` group — at most two messages a
second however many events arrive. In the embedded default the cache is per process, so the
flusher also watches the newest ``updated_at`` of calls and agents (a change made by another
process, e.g. ``simulate_traffic``). The same per-process ticker runs the routing sweep
(``calls.dispatch.sweep_if_due``), so offers time out even without Celery beat, and refreshes
the presence of this process's agent desktops every ``AGENTS_PRESENCE_HEARTBEAT_S``
(``agents.presence``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

WALLBOARD_GROUP = "wallboard"
VERSION_KEY = "calls:wallboard:version"
SENT_KEY = "calls:wallboard:sent"
SLOT_KEY = "calls:wallboard:slot:{slot}"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


def relay_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer message every consumer relays as is (``type`` names its handler)."""
    return {"type": "relay", "payload": payload}


def push(group: str, payload: dict[str, Any]) -> None:
    """Send ``payload`` to everyone in ``group``. Runs after commit: a failure is logged, never
    raised into the request that caused it (the desktop resyncs on reconnect)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, relay_message(payload))
    except Exception:
        logger.exception("push to %s failed", group)


# --- what services call (inside their transaction) -------------------------------------------------


def agent_changed_on_commit(user_id: int) -> None:
    transaction.on_commit(lambda: _agent_changed(user_id), robust=True)


def call_changed_on_commit(call_pk: int, *, previous_agent_id: int | None, withdrawn: str = "") -> None:
    """``withdrawn``: the offer ringing ``previous_agent_id`` was taken back, and why — their desk
    gets ``call.withdrawn`` and clears its caller panel."""
    transaction.on_commit(lambda: _call_changed(call_pk, previous_agent_id, withdrawn), robust=True)


def callbacks_changed_on_commit() -> None:
    transaction.on_commit(_callbacks_changed, robust=True)


def wallboard_changed() -> None:
    """Count a change for the wallboard flusher (cheap: no message is sent here)."""
    try:
        from django.core.cache import caches
        from django.core.cache.backends.redis import RedisCache

        backend = caches["default"]
        if isinstance(backend, RedisCache):
            # One INCR (it creates the counter): Django's ``add`` + ``incr`` are three round trips
            # (SET NX, EXISTS, INCR) on every event. The value stays readable by ``cache.get``
            # (integers are stored as they are).
            key = backend.make_and_validate_key(VERSION_KEY)
            backend._cache.get_client(key, write=True).incr(key)
        elif not cache.add(VERSION_KEY, 1, timeout=None):
            cache.incr(VERSION_KEY)
    except Exception:
        logger.exception("wallboard change counter failed")


# --- after commit -------------------------------------------------------------------------------


def _agent_changed(user_id: int) -> None:
    from agents.selectors import agent_state_payload

    push(agent_group(user_id), agent_state_payload(user_id))
    wallboard_changed()


def _call_changed(call_pk: int, previous_agent_id: int | None, withdrawn: str = "") -> None:
    from .models import Call, CallState
    from .selectors import call_updated_payload, screen_pop_payload

    call = Call.objects.filter(pk=call_pk).select_related("queue", "agent", "agent__profile").first()
    if call is None:
        return
    if call.agent_id is not None:
        if call.state == CallState.OFFERED and previous_agent_id != call.agent_id:
            push(agent_group(call.agent_id), screen_pop_payload(call, for_user=call.agent))
        else:
            push(agent_group(call.agent_id), call_updated_payload(call))
    if previous_agent_id is not None and withdrawn:
        push(agent_group(previous_agent_id), {"type": "call.withdrawn", "call_id": call.call_id, "reason": withdrawn})
    if previous_agent_id is not None and previous_agent_id != call.agent_id:
        push(agent_group(previous_agent_id), call_updated_payload(call))
    wallboard_changed()


def _callbacks_changed() -> None:
    push(WALLBOARD_GROUP, {"type": "callbacks.changed"})
    from agents.selectors import callback_subscribers

    for user_id in callback_subscribers():
        push(agent_group(user_id), {"type": "callbacks.changed"})


# --- the per-process ticker of websocket processes ------------------------------------------------


class Ticker:
    """One per event loop: flushes the wallboard and runs the routing sweep while any consumer
    of this process is connected."""

    _by_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.consumers = 0
        self.wallboards = 0
        self.task: asyncio.Task | None = None
        self.last_marker: Any = None
        self.last_sweep = 0.0
        self.desktops: dict[str, int] = {}  # this process's desktop sockets: channel name → agent
        self.last_heartbeat = time.monotonic()

    @classmethod
    def current(cls) -> Ticker:
        loop = asyncio.get_running_loop()
        ticker = cls._by_loop.get(loop)
        if ticker is None:
            ticker = cls._by_loop[loop] = cls()
        return ticker

    def join(self, *, wallboard: bool, desktop: tuple[str, int | None] | None = None) -> None:
        """A consumer connected; ``desktop`` = (channel name, agent's user id) of an agent's desktop."""
        self.consumers += 1
        self.wallboards += int(wallboard)
        if desktop is not None and desktop[1] is not None:
            self.desktops[desktop[0]] = desktop[1]
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def leave(self, *, wallboard: bool, desktop: str = "") -> None:
        self.consumers = max(self.consumers - 1, 0)
        self.wallboards = max(self.wallboards - int(wallboard), 0)
        self.desktops.pop(desktop, None)
        if self.consumers == 0 and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        interval = float(settings.CALLS_WALLBOARD_INTERVAL_S)
        while self.consumers > 0:
            await asyncio.sleep(interval)
            try:
                if self.wallboards:
                    await self.flush_wallboard()
                if self.desktops and time.monotonic() - self.last_heartbeat >= settings.AGENTS_PRESENCE_HEARTBEAT_S:
                    self.last_heartbeat = time.monotonic()
                    await database_sync_to_async(_presence_heartbeat)(dict(self.desktops))
                if settings.CALLS_SWEEP_IN_WEBSOCKET_PROCESS and time.monotonic() - self.last_sweep >= 1.0:
                    self.last_sweep = time.monotonic()
                    await database_sync_to_async(_sweep_if_due)()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("websocket ticker failed; continuing")

    async def flush_wallboard(self, *, force: bool = False) -> bool:
        marker = await database_sync_to_async(change_marker)()
        if marker == self.last_marker and not force:
            return False
        if not force:
            if await cache.aget(SENT_KEY) == marker:
                self.last_marker = marker
                return False
            slot = int(time.time() / float(settings.CALLS_WALLBOARD_INTERVAL_S))
            if not await cache.aadd(SLOT_KEY.format(slot=slot), 1, timeout=5):
                return False  # another process sends in this slot; look again next tick
        snapshot = await database_sync_to_async(_snapshot)()
        layer = get_channel_layer()
        await layer.group_send(WALLBOARD_GROUP, relay_message(snapshot))
        await cache.aset(SENT_KEY, marker, timeout=300)
        self.last_marker = marker
        return True


def change_marker() -> str:
    """What the wallboard shows changed when this changes."""
    version = cache.get(VERSION_KEY) or 0
    if settings.FULL_STACK:
        return f"v{version}"
    from agents.models import AgentStatus

    from .models import Call, Queue

    def newest(model) -> str:
        value = model.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
        return value.isoformat() if value else "-"

    return f"v{version}|{newest(Call)}|{newest(AgentStatus)}|{newest(Queue)}"


def _snapshot() -> dict[str, Any]:
    from .selectors import wallboard_snapshot

    return wallboard_snapshot()


def _presence_heartbeat(desktops: dict[str, int]) -> None:
    from agents.presence import connections_refreshed

    connections_refreshed(desktops)


def _sweep_if_due() -> None:
    from .dispatch import sweep_if_due

    sweep_if_due()
