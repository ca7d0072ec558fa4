"""The router's writes: offer a waiting call to an agent, take an offer back, overflow a call,
flag a long wait for a callback offer, close forgotten after-call work (``calls.dispatch``
decides when; the agents app asks for withdrawals and wrap-ups through ``agents.call_port``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from agents.locks import lock_agents
from agents.models import AgentState, AgentStatus
from agents.services import status_transition
from core.db import retry_on_conflict

from ..locks import lock_call
from ..models import Call, CallState, Disposition, EventSource, EventType, Queue
from .events import NewEvent, new_id, record
from .lookups import queue_code_for


@retry_on_conflict
def call_offer_withdraw(
    *,
    call: Call,
    agent_status: AgentStatus,
    reason: str,
    next_state: str = "",
    next_reason: str = "",
    actor: AbstractBaseUser | AnonymousUser | None = None,
    now: datetime | None = None,
) -> bool:
    """Take back the offer ringing ``agent_status``'s agent (expired, or the agent went not ready).

    Returns False when the call no longer rings that agent (answered or moved on meanwhile).
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_call(call.pk)
        if locked is None or locked.state != CallState.OFFERED or locked.agent_id != agent_status.user_id:
            return False
        data: dict[str, Any] = {"reason": reason}
        if next_state:
            data.update(next_state=next_state, next_reason=next_reason, actor_id=getattr(actor, "pk", None))
        event = NewEvent(
            event_id=new_id("rt"),
            call_id=locked.call_id,
            type=EventType.OFFER_EXPIRED,
            ts=now,
            source=EventSource.ROUTER,
            agent_id=agent_status.user_id,
            queue=queue_code_for(locked.queue_id),
            data=data,
        )
        record(locked.pk, [event], now=now)
        return True


def call_offer(*, call_pk: int, status_pk: int, now: datetime | None = None) -> bool:
    """Offer a waiting call to a ready agent (the router's one write). Both rows are re-checked
    under their locks; returns False when either moved on meanwhile."""
    return _offer(call_pk, status_pk, now or timezone.now())


@retry_on_conflict
def _offer(call_pk: int, status_pk: int, now: datetime) -> bool:
    with transaction.atomic():
        call = lock_call(call_pk)
        if call is None or call.state != CallState.QUEUED:
            return False
        status = lock_agents(status_pk).get(status_pk)
        if status is None or status.state != AgentState.READY or status.call_id is not None:
            return False
        event = NewEvent(
            event_id=new_id("rt"),
            call_id=call.call_id,
            type=EventType.RINGING,
            ts=now,
            source=EventSource.ROUTER,
            agent_id=status.user_id,
            queue=queue_code_for(call.queue_id),
        )
        call, _ids = record(call.pk, [event], now=now)
        return call.state == CallState.OFFERED and call.agent_id == status.user_id


@retry_on_conflict
def call_overflow(*, call_pk: int, now: datetime | None = None) -> bool:
    """Move a call that waited past its queue's overflow time into the overflow queue (agents of
    the first queue keep serving it too)."""
    now = now or timezone.now()
    with transaction.atomic():
        call = lock_call(call_pk)
        if call is None or call.state != CallState.QUEUED or call.queue_id is None or call.overflowed_at:
            return False
        queue = Queue.objects.select_related("overflow_queue").get(pk=call.queue_id)
        if queue.overflow_queue is None or queue.overflow_after_s is None:
            return False
        event = NewEvent(
            event_id=f"rt:{call.call_id}:overflow:{queue.overflow_queue.code}",
            call_id=call.call_id,
            type=EventType.QUEUED,
            ts=now,
            source=EventSource.ROUTER,
            queue=queue.overflow_queue.code,
            data={"reason": "overflow", "from": queue.code},
        )
        record(call.pk, [event], now=now)
        return True


def call_callback_offer(*, call_pk: int, now: datetime | None = None) -> bool:
    """Flag a long-waiting call: the switch sees ``callback_offer`` on ``GET /api/calls/{id}/``."""
    now = now or timezone.now()
    updated = Call.objects.filter(pk=call_pk, state=CallState.QUEUED, callback_offered_at__isnull=True).update(
        callback_offered_at=now, updated_at=now
    )
    return bool(updated)


@retry_on_conflict
def call_auto_wrapup(*, status_pk: int, now: datetime | None = None) -> bool:
    """After-call work past ``AGENTS_ACW_TIMEOUT_S``: closed with disposition ``auto``."""
    now = now or timezone.now()
    with transaction.atomic():
        status = AgentStatus.objects.filter(pk=status_pk).values("acw_call_id", "state").first()
        if status is None or status["state"] != AgentState.ACW:
            return False
        if status["acw_call_id"] is None:
            locked = lock_agents(status_pk)[status_pk]
            if locked.state == AgentState.ACW and locked.acw_call_id is None:
                status_transition(locked, state=AgentState.READY, at=now)
            return True
        call = lock_call(status["acw_call_id"])
        if call is None or call.wrapup_at is not None or call.state != CallState.ENDED:
            locked = lock_agents(status_pk)[status_pk]
            if locked.state == AgentState.ACW and locked.call_id is None:
                status_transition(locked, state=AgentState.READY, acw_call=None, at=now)
            return True
        event = NewEvent(
            event_id=f"sys:{call.call_id}:auto-wrapup",
            call_id=call.call_id,
            type=EventType.WRAPUP,
            ts=now,
            source=EventSource.SYSTEM,
            data={"disposition": Disposition.AUTO, "note": ""},
        )
        record(call.pk, [event], now=now)
        return True
