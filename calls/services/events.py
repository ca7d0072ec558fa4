"""The one writer of calls: every change to a call is an event (``CallEvent``).

``record`` inserts new events under the call's row lock and rebuilds the call from all its events
(``cdr.fold``), then brings the agents involved in line (``agent_sync``: ringing, on a call,
after-call work, missed offer) and saves the call (``call_rows``). After commit: the pushes to
the agents' screens (built here, sent by ``calls.realtime``), the wallboard's change counter and
a routing request (``calls.signals.routing_requested``, which ``calls.dispatch`` serves). Lock
order: ``calls.locks``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.db import retry_on_conflict

from .. import cdr, errors, realtime, signals
from ..locks import lock_calls
from ..models import Call, CallEvent, CallState, EventType
from ..selectors import call_updated_payload, screen_pop_payload
from .agent_sync import ACTIVE_STATES, is_live, sync_agents
from .call_rows import save_calls
from .fields import call_fields

logger = logging.getLogger(__name__)
_local = threading.local()


# --- events --------------------------------------------------------------------------------------


@dataclass
class NewEvent:
    """An event to record. ``digest`` is computed from the caller's content for idempotency."""

    event_id: str
    call_id: str
    type: str
    ts: datetime
    source: str
    queue: str = ""
    agent_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    digest: str = ""

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = content_digest(
                {
                    "call_id": self.call_id,
                    "type": self.type,
                    "ts": self.ts.isoformat(),
                    "queue": self.queue,
                    "agent": self.agent_id,
                    "data": self.data,
                }
            )


def event_row(event: NewEvent, *, call_pk: int | None = None) -> CallEvent:
    """The ``CallEvent`` row of ``event`` (of call ``call_pk``; the fast path sets the call in SQL)."""
    return CallEvent(
        event_id=event.event_id,
        call_id=call_pk,  # type: ignore[misc]  # None: the fast path sets the call in SQL
        type=event.type,
        ts=event.ts,
        source=event.source,
        queue=event.queue,
        agent_id=event.agent_id,
        data=event.data,
        digest=event.digest,
    )


def content_digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class EventResult:
    event_id: str
    status: str  # accepted | duplicate | rejected
    code: str = ""
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"event_id": self.event_id, "status": self.status}
        if self.code:
            out["code"] = self.code
            out["message"] = self.message
        return out


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


# --- the one writer of calls -----------------------------------------------------------------------


def ensure_calls(call_ids: set[str], *, tests: set[str] | None = None) -> dict[str, int]:
    """Call rows for ``call_ids`` (created when new, racing creators tolerated) → pk by call_id.
    ``tests`` receives the ids of those that are the IVR simulator's test calls (same query)."""
    found = {}
    for call_id, pk, is_test in Call.objects.filter(call_id__in=call_ids).values_list("call_id", "pk", "is_test"):
        found[call_id] = pk
        if is_test and tests is not None:
            tests.add(call_id)
    missing = call_ids - set(found)
    if missing:
        Call.objects.bulk_create([Call(call_id=call_id) for call_id in sorted(missing)], ignore_conflicts=True)
        found.update(Call.objects.filter(call_id__in=missing).values_list("call_id", "pk"))
    return found


def record(call_pk: int, events: list[NewEvent], *, now: datetime | None = None) -> tuple[Call, set[str]]:
    """Insert ``events`` of one call (those not yet stored) and rebuild it → (call, inserted ids)."""
    calls, inserted = record_many({call_pk: events}, now=now)
    call = calls.get(call_pk)
    if call is None:
        raise errors.CallNotFound()
    return call, inserted


@retry_on_conflict
def record_many(batches: dict[int, list[NewEvent]], *, now: datetime | None = None) -> tuple[dict[int, Call], set[str]]:
    """Insert the new events of several calls and rebuild those calls, in one transaction with
    set-based queries (a CTI batch costs about ten queries whatever its size). The calls are
    locked in primary-key order, then the agents involved (``calls.locks``)."""
    now = now or timezone.now()
    with transaction.atomic():
        calls = lock_calls(*batches)
        ids = [event.event_id for events in batches.values() for event in events]
        stored = set(CallEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
        fresh: dict[int, list[NewEvent]] = {}
        for pk, events in batches.items():
            new = [event for event in events if event.event_id not in stored]
            if new and pk in calls:
                fresh[pk] = new
        if not fresh:
            return calls, set()
        CallEvent.objects.bulk_create(
            [event_row(event, call_pk=pk) for pk, events in fresh.items() for event in events]
        )
        rebuild_many({pk: calls[pk] for pk in fresh}, fresh, now=now)
        return calls, {event.event_id for events in fresh.values() for event in events}


def rebuild_many(
    calls: dict[int, Call],
    fresh: dict[int, list[NewEvent]],
    *,
    now: datetime,
    events_by_call: dict[int, list[cdr.EventLike]] | None = None,
    held: set[int] | None = None,
    shown: set[int] | None = None,
) -> None:
    """Recompute each call from all its events (read here unless given: the fast path of
    ``calls.fastpath`` reads them with its insert), bring the agents involved in line, save the
    calls in one statement and notify after commit. ``held``: the calls an agent holds, when the
    caller has read it (else any call that was ringing or connected may be held); ``shown``: the
    calls on a desk (held, or in an agent's after-call work), when the caller has read it (else
    any call may be on one)."""
    if events_by_call is None:
        events_by_call = defaultdict(list)
        for event in CallEvent.objects.filter(call_id__in=list(calls)).only(
            "event_id", "call_id", "type", "ts", "queue", "agent_id", "data"
        ):
            events_by_call[event.call_id].append(event)
    folds = {pk: cdr.fold(events_by_call[pk]) for pk in calls}
    before = {pk: (call.state, call.agent_id, call.queue_id) for pk, call in calls.items()}
    wrapped_before = {pk: call.wrapup_at is not None for pk, call in calls.items()}
    queued_before = {pk: call.queued_at for pk, call in calls.items()}
    for pk, call in calls.items():
        folded = folds[pk]
        for name, value in call_fields(folded).items():
            setattr(call, name, value)
        call.direction = call.direction or "inbound"
        call.offer_expires_at = (
            folded.offer_at + timedelta(seconds=settings.CALLS_OFFER_TIMEOUT_S) if folded.offer_at else None
        )
        if call.state not in (CallState.QUEUED, CallState.ENDED):
            call.callback_offered_at = None  # the offer was for this wait; a new wait may get a new one
        call.updated_at = now
    # Screens first: the pushes registered here run right after commit, before the agents' own.
    routing = False
    for pk, call in calls.items():
        state, agent_id, queue_id = before[pk]
        changed = (state, agent_id, queue_id) != (call.state, call.agent_id, call.queue_id)
        live = is_live(fresh[pk], now)
        # A late event that takes the call from an agent tells their desk, if a desk shows it
        # (a desk shows only the call its agent holds or wraps up: a historical load tells none).
        taken = agent_id is not None and agent_id != call.agent_id and (shown is None or pk in shown)
        if (live and (changed or call.state in ACTIVE_STATES)) or taken:
            if call.agent_id is not None or agent_id is not None:
                _call_changed_on_commit(
                    call.pk, previous_agent_id=agent_id, withdrawn=_withdrawn_reason(state, agent_id, call, fresh[pk])
                )
        # A call waiting longer than the router looks back (a historical load) asks for no pass.
        routing = routing or (call.state == CallState.QUEUED and not _is_stale(call, now))
    # The wallboard shows calls waiting now and today's figures: a call queued before today (a
    # historical load) changes neither (agents' changes count through their own pushes).
    if any(_on_wallboard(q, now) for pk, call in calls.items() for q in (queued_before[pk], call.queued_at)):
        transaction.on_commit(realtime.wallboard_changed, robust=True)
    # Agents are involved only where one may hold the call (it was ringing or connected: the
    # holder is released at the rebuild that ends that), a live event rings or connects one, or
    # the call's after-call work just ended; the others (most of a historical load) skip the
    # agents' queries and locks.
    involved = [
        pk
        for pk, call in calls.items()
        if (before[pk][0] in ACTIVE_STATES and (held is None or pk in held))
        or (call.state in ACTIVE_STATES and is_live(fresh[pk], now))
        or (folds[pk].wrapup_at is not None and not wrapped_before[pk])
    ]
    if involved:
        sync_agents({pk: calls[pk] for pk in involved}, folds, fresh, now=now, held=held)
    save_calls(list(calls.values()))
    # The reports' rollups recompute the intervals a call was and is counted in (its first
    # queue time, before and after this rebuild: a late event may move it), after commit.
    queued = {
        moment
        for pk, call in calls.items()
        if not call.is_test
        for moment in (queued_before[pk], call.queued_at)
        if moment is not None
    }
    if queued:
        transaction.on_commit(partial(signals.calls_changed.send, sender=Call, queued=queued), robust=True)
    for pk, call in calls.items():
        _log_anomalies(call, fresh[pk], call.anomalies)
    if routing:
        routing_request()


def _withdrawn_reason(state_before: str, agent_before: int | None, call: Call, fresh: list[NewEvent]) -> str:
    """Why the offer that rang ``agent_before`` is gone ("" when it was not withdrawn: answered,
    or still ringing): the router's reason (``expired``, ``rejected``, ``disconnected``),
    ``caller_hung_up`` or ``moved`` (the switch or the router moved the call on)."""
    if state_before != CallState.OFFERED or agent_before is None:
        return ""
    if call.state == CallState.OFFERED and call.agent_id == agent_before:
        return ""
    if any(leg.get("agent") == agent_before for leg in call.legs or []):
        return ""  # they answered it
    for event in reversed(fresh):
        if event.type == EventType.OFFER_EXPIRED and event.agent_id == agent_before:
            return str((event.data or {}).get("reason") or "expired")
    return "caller_hung_up" if call.state == CallState.ENDED else "moved"


def _log_anomalies(call: Call, fresh: list[NewEvent], anomalies: list[dict[str, str]]) -> None:
    # INFO, not WARNING: with events arriving out of order an event is often ignored only until
    # the one before it arrives (the next rebuild then takes it).
    fresh_ids = {event.event_id for event in fresh}
    for anomaly in anomalies:
        if anomaly["event_id"] in fresh_ids:
            logger.info(
                "call %s: event %s (%s) ignored: %s",
                call.call_id,
                anomaly["event_id"],
                anomaly["type"],
                anomaly["code"],
            )


def _on_wallboard(queued_at: datetime | None, now: datetime) -> bool:
    if queued_at is None:
        return False
    start_of_day = datetime.combine(
        timezone.localdate(now), datetime.min.time(), tzinfo=timezone.get_default_timezone()
    )
    return queued_at >= min(start_of_day, now - timedelta(seconds=settings.CALLS_ROUTE_MAX_AGE_S))


def _is_stale(call: Call, now: datetime) -> bool:
    return call.queued_at is not None and call.queued_at < now - timedelta(seconds=settings.CALLS_ROUTE_MAX_AGE_S)


def record_tolerant(batches: dict[int, list[NewEvent]]) -> dict[str, EventResult]:
    """``record_many``; when an event id collides with one stored meanwhile for another call (a
    concurrent batch, or the same id reused), the calls and then their events are recorded one
    by one, so only the colliding event is refused."""
    try:
        _calls, inserted = record_many(batches)
    except IntegrityError:
        if len(batches) > 1:
            results: dict[str, EventResult] = {}
            for pk, events in batches.items():
                results.update(record_tolerant({pk: events}))
            return results
        ((pk, events),) = batches.items()
        if len(events) > 1:
            results = {}
            for event in events:
                results.update(record_tolerant({pk: [event]}))
            return results
        event = events[0]
        digest = CallEvent.objects.filter(event_id=event.event_id).values_list("digest", flat=True).first()
        if digest == event.digest:
            return {event.event_id: EventResult(event.event_id, "duplicate")}
        message = _("Event id reused with other content.")
        return {event.event_id: EventResult(event.event_id, "rejected", "event_id_conflict", message)}
    return {
        event.event_id: EventResult(event.event_id, "accepted" if event.event_id in inserted else "duplicate")
        for events in batches.values()
        for event in events
    }


# --- after commit: the agents' screens and routing ---------------------------------------------------


def _call_changed_on_commit(call_pk: int, *, previous_agent_id: int | None, withdrawn: str = "") -> None:
    """``withdrawn``: the offer ringing ``previous_agent_id`` was taken back, and why — their desk
    gets ``call.withdrawn`` and clears its caller panel."""
    transaction.on_commit(lambda: _push_call_changed(call_pk, previous_agent_id, withdrawn), robust=True)


def _push_call_changed(call_pk: int, previous_agent_id: int | None, withdrawn: str = "") -> None:
    call = Call.objects.filter(pk=call_pk).select_related("queue", "agent", "agent__profile").first()
    if call is None:
        return
    if call.agent_id is not None:
        if call.state == CallState.OFFERED and previous_agent_id != call.agent_id:
            realtime.push(realtime.agent_group(call.agent_id), screen_pop_payload(call, for_user=call.agent))  # type: ignore[arg-type]  # agent_id checked
        else:
            realtime.push(realtime.agent_group(call.agent_id), call_updated_payload(call))
    if previous_agent_id is not None and withdrawn:
        realtime.push(
            realtime.agent_group(previous_agent_id),
            {"type": "call.withdrawn", "call_id": call.call_id, "reason": withdrawn},
        )
    if previous_agent_id is not None and previous_agent_id != call.agent_id:
        realtime.push(realtime.agent_group(previous_agent_id), call_updated_payload(call))
    realtime.wallboard_changed()


@contextmanager
def routing_deferred() -> Iterator[None]:
    """Within the block, requests to route are collected and sent once at its end (a CTI batch)."""
    _local.defer = getattr(_local, "defer", 0) + 1
    try:
        yield
    finally:
        _local.defer -= 1
        if _local.defer == 0 and getattr(_local, "pending", False):
            _local.pending = False
            signals.routing_requested.send(sender=Call)


def routing_request() -> None:
    """Route waiting calls once the current transaction has committed (``calls.dispatch``
    receives ``calls.signals.routing_requested``)."""
    transaction.on_commit(_routing_requested, robust=True)


def _routing_requested() -> None:
    if getattr(_local, "defer", 0):
        _local.pending = True
        return
    signals.routing_requested.send(sender=Call)
