"""Routing: which waiting call rings which agent, and the sweep that moves time-based things on.

Rule (DESIGN.md §6): a waiting call goes to the ready agent with the skill who has been idle
longest. Calls are served by priority (IVR-verified callers first when
``CALLS_VERIFIED_PRIORITY`` > 0), then by how long they waited. A call is served by agents
whose skill for its queue — or, after an overflow, for its first queue — is at least the
queue's ``min_skill_level``.

Correctness under concurrency does not depend on the plan: each offer re-checks the call and
the agent under their row locks (``services.routing.call_offer``), and the agent's ``call`` column is
one-to-one, so two routers working at once can never give one agent two calls or one call two
agents; a planned pair that lost the race is simply skipped and the next pass re-plans.

The sweep (``sweep``): unanswered offers past ``CALLS_OFFER_TIMEOUT_S`` go to the next agent and
the first is set not ready; calls past their queue's overflow time overflow; long waits get a
callback offer; forgotten after-call work is closed after ``AGENTS_ACW_TIMEOUT_S``; agents whose
desktops are gone lose their ringing offer and then go offline (``agents.presence``). It runs from
Celery beat (``calls.sweep``, every second), from the websocket processes' ticker, and offer
expiry also at the start of every routing pass — so it works in the embedded default, where
tasks run eagerly and there is no beat.

Routing is requested, never called back: the writers send ``calls.signals.routing_requested`` on
commit (``services.events.routing_request``), and ``on_routing_requested`` here receives it.

The per-process ticker of the websocket processes (``Ticker``) runs the sweep too, flushes the
wallboard (writers only bump ``calls.realtime``'s change counter; when something changed one
process — a per-slot cache lock — builds one snapshot and sends it to the ``wallboard`` group, at
most one per ``CALLS_WALLBOARD_INTERVAL_S`` however many events arrive; in the embedded default
the cache is per process, so it also watches the newest ``updated_at`` of calls and agents, a
change made by another process such as ``simulate_traffic``), and refreshes the presence of the
process's agent desktops every ``AGENTS_PRESENCE_HEARTBEAT_S`` (``agents.presence``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from agents import presence
from agents.models import AgentSkill, AgentState, AgentStatus
from agents.services import agents_disconnected_sweep

from . import realtime
from .models import Call, CallState, Queue
from .outbound.dialer import progressive_after_routing
from .outbound.dialer import sweep as outbound_sweep
from .selectors import wallboard_snapshot
from .services.routing import call_auto_wrapup, call_callback_offer, call_offer, call_offer_withdraw, call_overflow

logger = logging.getLogger(__name__)

_local = threading.local()
MAX_PASSES = 5
PLAN_CALLS = 200


def on_routing_requested(sender: Any = None, **_kwargs: Any) -> None:
    """Receiver of ``calls.signals.routing_requested`` (sent after commit): a routing pass, or one
    more pass of the one running in this thread."""
    if getattr(_local, "routing", False):
        _local.again = True
        return
    route_waiting()
    # Inbound first: agents the router left ready get progressive dials (issue 19).
    progressive_after_routing()


def route_waiting(now: datetime | None = None) -> int:
    """Offer waiting calls to ready agents; returns how many offers were made."""
    if getattr(_local, "routing", False):
        _local.again = True
        return 0
    _local.routing = True
    made = 0
    try:
        for _pass in range(MAX_PASSES):
            _local.again = False
            current = now or timezone.now()
            expire_offers(current)
            offers, exhausted = _route_pass(current)
            made += offers
            if exhausted and not _local.again:
                break
    finally:
        _local.routing = False
    return made


def _route_pass(now: datetime) -> tuple[int, bool]:
    """One plan and its offers → (offers made, nothing more to do: every planned pair worked, or
    no waiting call or no ready agent was left)."""
    horizon = now - timedelta(seconds=settings.CALLS_ROUTE_MAX_AGE_S)
    calls = list(
        Call.objects.filter(state=CallState.QUEUED, queued_at__gte=horizon)
        .order_by("-priority", "queued_at", "pk")
        .values("pk", "queue_id", "entry_queue_id")[:PLAN_CALLS]
    )
    if not calls:
        return 0, True
    ready = list(
        AgentStatus.objects.filter(state=AgentState.READY, call__isnull=True)
        .order_by("ready_since", "pk")
        .values("pk", "user_id")
    )
    if ready:
        # Never ring a seat nobody sits at: only agents with a live desktop (agents.presence).
        seated = presence.connected(agent["user_id"] for agent in ready)
        ready = [agent for agent in ready if agent["user_id"] in seated]
    if not ready:
        return 0, True
    levels = {
        (row["agent_id"], row["queue_id"]): row["level"]
        for row in AgentSkill.objects.filter(agent_id__in=[agent["user_id"] for agent in ready]).values(
            "agent_id", "queue_id", "level"
        )
    }
    minimum = dict(Queue.objects.filter(is_active=True).values_list("pk", "min_skill_level"))
    taken: set[int] = set()
    made = lost = 0
    for call in calls:
        queues = {call["queue_id"], call["entry_queue_id"]} - {None}
        for agent in ready:
            if agent["pk"] in taken:
                continue
            if not any(q in minimum and levels.get((agent["user_id"], q), 0) >= minimum[q] for q in queues):
                continue
            taken.add(agent["pk"])
            if call_offer(call_pk=call["pk"], status_pk=agent["pk"], now=now):
                made += 1
                break
            lost += 1
            if not Call.objects.filter(pk=call["pk"], state=CallState.QUEUED).exists():
                break  # the call moved on (answered elsewhere, hung up); the agent stays free
    # Another pass is worth it only if a planned pair lost a race (someone else moved first).
    return made, lost == 0


def expire_offers(now: datetime | None = None) -> int:
    """Withdraw offers not answered within ``CALLS_OFFER_TIMEOUT_S``; the agent goes not ready."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.CALLS_ROUTE_MAX_AGE_S)
    due = list(
        Call.objects.filter(
            state=CallState.OFFERED, offer_expires_at__lte=now, offer_expires_at__gte=horizon
        ).values_list("pk", "agent_id")
    )
    expired = 0
    for call_pk, agent_id in due:
        status = AgentStatus.objects.filter(user_id=agent_id).first()
        if status is None:
            continue
        if call_offer_withdraw(call=Call(pk=call_pk), agent_status=status, reason="expired", now=now):
            expired += 1
            logger.info("offer of call %s to agent %s expired", call_pk, agent_id)
    return expired


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Everything that happens because time passed; then a routing pass."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.CALLS_ROUTE_MAX_AGE_S)
    done = {"expired": expire_offers(now), "overflowed": 0, "callback_offers": 0, "auto_wrapups": 0}
    done.update(agents_disconnected_sweep(now))
    for queue in Queue.objects.filter(overflow_queue__isnull=False, overflow_after_s__isnull=False):
        due = Call.objects.filter(
            state=CallState.QUEUED,
            queue=queue,
            overflowed_at__isnull=True,
            queued_at__lte=now - timedelta(seconds=queue.overflow_after_s),  # type: ignore[arg-type]  # filtered: not null
            queued_at__gte=horizon,
        ).values_list("pk", flat=True)
        done["overflowed"] += sum(call_overflow(call_pk=pk, now=now) for pk in list(due))
    for queue in Queue.objects.filter(callback_offer_after_s__isnull=False):
        due = Call.objects.filter(
            state=CallState.QUEUED,
            queue=queue,
            callback_offered_at__isnull=True,
            queued_at__lte=now - timedelta(seconds=queue.callback_offer_after_s),  # type: ignore[arg-type]  # filtered: not null
            queued_at__gte=horizon,
        ).values_list("pk", flat=True)
        done["callback_offers"] += sum(call_callback_offer(call_pk=pk, now=now) for pk in list(due))
    if settings.AGENTS_ACW_TIMEOUT_S:
        stale = AgentStatus.objects.filter(
            state=AgentState.ACW, since__lte=now - timedelta(seconds=settings.AGENTS_ACW_TIMEOUT_S)
        ).values_list("pk", flat=True)
        done["auto_wrapups"] = sum(call_auto_wrapup(status_pk=pk, now=now) for pk in list(stale))
    done["offers"] = route_waiting(now)
    # Outbound (issue 19): re-send unacknowledged switch commands, give up stale dials, and a
    # progressive pass for the agents routing left ready (calls.outbound.dialer).
    done.update(outbound_sweep(now))
    return done


def sweep_if_due(interval_s: float | None = None) -> dict[str, int] | None:
    """``sweep`` at most once per ``CALLS_SWEEP_INTERVAL_S`` across processes (a cache slot)."""
    interval = interval_s or float(settings.CALLS_SWEEP_INTERVAL_S)
    slot = int(time.time() / interval)
    if not cache.add(f"calls:sweep:{slot}", 1, timeout=max(int(interval * 4), 2)):
        return None
    return sweep()


# --- the per-process ticker of websocket processes ------------------------------------------------


EMBEDDED_PERIOD_S = 15.0


def _embedded_periodic() -> None:
    """Beat's SMS sweep in the embedded default (tasks in-process, no beat): rows no task got."""
    from notifications.delivery import sweep

    sweep()


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
        self.last_embedded = time.monotonic()
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
                    await database_sync_to_async(presence.connections_refreshed)(dict(self.desktops))
                if settings.CALLS_SWEEP_IN_WEBSOCKET_PROCESS and time.monotonic() - self.last_sweep >= 1.0:
                    self.last_sweep = time.monotonic()
                    await database_sync_to_async(sweep_if_due)()
                if settings.CELERY_TASK_ALWAYS_EAGER and time.monotonic() - self.last_embedded >= EMBEDDED_PERIOD_S:
                    # The embedded default runs no beat: its periodic safety nets run here.
                    self.last_embedded = time.monotonic()
                    await database_sync_to_async(_embedded_periodic)()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("websocket ticker failed; continuing")

    async def flush_wallboard(self, *, force: bool = False) -> bool:
        marker = await database_sync_to_async(change_marker)()
        if marker == self.last_marker and not force:
            return False
        if not force:
            if await cache.aget(realtime.SENT_KEY) == marker:
                self.last_marker = marker
                return False
            slot = int(time.time() / float(settings.CALLS_WALLBOARD_INTERVAL_S))
            if not await cache.aadd(realtime.SLOT_KEY.format(slot=slot), 1, timeout=5):
                return False  # another process sends in this slot; look again next tick
        snapshot = await database_sync_to_async(wallboard_snapshot)()
        layer = get_channel_layer()
        await layer.group_send(realtime.WALLBOARD_GROUP, realtime.relay_message(snapshot))
        await cache.aset(realtime.SENT_KEY, marker, timeout=300)
        self.last_marker = marker
        return True


def change_marker() -> str:
    """What the wallboard shows changed when this changes."""
    version = cache.get(realtime.VERSION_KEY) or 0
    if settings.FULL_STACK:
        return f"v{version}"

    def newest(model) -> str:
        value = model.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
        return value.isoformat() if value else "-"

    return f"v{version}|{newest(Call)}|{newest(AgentStatus)}|{newest(Queue)}"
