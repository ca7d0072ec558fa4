"""Routing: which waiting call rings which agent, and the sweep that moves time-based things on.

Rule (DESIGN.md §6): a waiting call goes to the ready agent with the skill who has been idle
longest. Calls are served by priority (IVR-verified callers first when
``CALLS_VERIFIED_PRIORITY`` > 0), then by how long they waited. A call is served by agents
whose skill for its queue — or, after an overflow, for its first queue — is at least the
queue's ``min_skill_level``.

Correctness under concurrency does not depend on the plan: each offer re-checks the call and
the agent under their row locks (``services.call_offer``), and the agent's ``call`` column is
one-to-one, so two routers working at once can never give one agent two calls or one call two
agents; a planned pair that lost the race is simply skipped and the next pass re-plans.

The sweep (``sweep``): unanswered offers past ``CALLS_OFFER_TIMEOUT_S`` go to the next agent and
the first is set not ready; calls past their queue's overflow time overflow; long waits get a
callback offer; forgotten after-call work is closed after ``AGENTS_ACW_TIMEOUT_S``; agents whose
desktops are gone lose their ringing offer and then go offline (``agents.presence``). It runs from
Celery beat (``calls.sweep``, every second), from the websocket processes' ticker, and offer
expiry also at the start of every routing pass — so it works in the embedded default, where
tasks run eagerly and there is no beat.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from agents import presence
from agents.models import AgentSkill, AgentState, AgentStatus

from .models import Call, CallState, Queue

logger = logging.getLogger(__name__)

_local = threading.local()
MAX_PASSES = 5
PLAN_CALLS = 200


@contextmanager
def routing_deferred():
    """Within the block, requests to route are collected and run once at its end (a CTI batch)."""
    _local.defer = getattr(_local, "defer", 0) + 1
    try:
        yield
    finally:
        _local.defer -= 1
        if _local.defer == 0 and getattr(_local, "pending", False):
            _local.pending = False
            route_waiting()


def route_soon() -> None:
    """Route waiting calls once the current transaction has committed."""
    transaction.on_commit(_route_requested, robust=True)


def _route_requested() -> None:
    if getattr(_local, "defer", 0):
        _local.pending = True
        return
    if getattr(_local, "routing", False):
        _local.again = True
        return
    route_waiting()


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
    from .services import call_offer

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
    from .services import call_offer_withdraw

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
    from agents.services import agents_disconnected_sweep

    from .services import call_auto_wrapup, call_callback_offer, call_overflow

    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.CALLS_ROUTE_MAX_AGE_S)
    done = {"expired": expire_offers(now), "overflowed": 0, "callback_offers": 0, "auto_wrapups": 0}
    done.update(agents_disconnected_sweep(now))
    for queue in Queue.objects.filter(overflow_queue__isnull=False, overflow_after_s__isnull=False):
        due = Call.objects.filter(
            state=CallState.QUEUED,
            queue=queue,
            overflowed_at__isnull=True,
            queued_at__lte=now - timedelta(seconds=queue.overflow_after_s),
            queued_at__gte=horizon,
        ).values_list("pk", flat=True)
        done["overflowed"] += sum(call_overflow(call_pk=pk, now=now) for pk in list(due))
    for queue in Queue.objects.filter(callback_offer_after_s__isnull=False):
        due = Call.objects.filter(
            state=CallState.QUEUED,
            queue=queue,
            callback_offered_at__isnull=True,
            queued_at__lte=now - timedelta(seconds=queue.callback_offer_after_s),
            queued_at__gte=horizon,
        ).values_list("pk", flat=True)
        done["callback_offers"] += sum(call_callback_offer(call_pk=pk, now=now) for pk in list(due))
    if settings.AGENTS_ACW_TIMEOUT_S:
        stale = AgentStatus.objects.filter(
            state=AgentState.ACW, since__lte=now - timedelta(seconds=settings.AGENTS_ACW_TIMEOUT_S)
        ).values_list("pk", flat=True)
        done["auto_wrapups"] = sum(call_auto_wrapup(status_pk=pk, now=now) for pk in list(stale))
    done["offers"] = route_waiting(now)
    return done


def sweep_if_due(interval_s: float | None = None) -> dict[str, int] | None:
    """``sweep`` at most once per ``CALLS_SWEEP_INTERVAL_S`` across processes (a cache slot)."""
    interval = interval_s or float(settings.CALLS_SWEEP_INTERVAL_S)
    slot = int(time.time() / interval)
    if not cache.add(f"calls:sweep:{slot}", 1, timeout=max(int(interval * 4), 2)):
        return None
    return sweep()
