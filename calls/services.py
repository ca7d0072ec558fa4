"""Writes of the calls app: CTI events, the IVR's transfers, agents' call controls, callbacks.

Every change to a call is an event (``CallEvent``); ``_record`` inserts new events under the
call's row lock and rebuilds the call from all its events (``cdr.fold``), then brings the
agents involved in line (``_sync_agents``: ringing, on a call, after-call work, missed offer).
Pushes to screens happen after commit (``calls.realtime``). Lock order: ``calls.locks``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import AgentState, AgentStatus, Callback, CallbackStatus
from agents.services import status_transition
from contactcenter import rows
from contactcenter.api.telephony import ani_digits

from . import cdr, errors, realtime
from .locks import lock_agents, lock_call, lock_calls, retry_on_conflict
from .models import Call, CallEvent, CallState, Disposition, EventSource, EventType, Queue

logger = logging.getLogger(__name__)
User = get_user_model()

ACTIVE_STATES = (CallState.OFFERED, CallState.CONNECTED)


# --- queue lookups (queues change rarely; a short per-process cache) ------------------------------

_queue_cache: dict[str, Any] = {"at": 0.0, "by_code": {}, "by_id": {}}
_queue_cache_lock = threading.Lock()
QUEUE_CACHE_S = 10.0


def queues_by_code(*, refresh: bool = False) -> dict[str, int]:
    with _queue_cache_lock:
        if refresh or time.monotonic() - _queue_cache["at"] > QUEUE_CACHE_S:
            rows = list(Queue.objects.values_list("code", "id"))
            _queue_cache["by_code"] = dict(rows)
            _queue_cache["by_id"] = {pk: code for code, pk in rows}
            _queue_cache["at"] = time.monotonic()
        return _queue_cache["by_code"]


def queue_cache_clear(**_kwargs: Any) -> None:
    """Forget the queue ids (connected to ``Queue`` saves and deletes)."""
    with _queue_cache_lock:
        _queue_cache["at"] = 0.0


def queue_id_for(code: str) -> int | None:
    """The id of queue ``code`` (re-reading the table once when the code is new to this process)."""
    if not code:
        return None
    pk = queues_by_code().get(code)
    if pk is None:
        pk = queues_by_code(refresh=True).get(code)
    return pk


def queue_code_for(pk: int | None) -> str:
    if pk is None:
        return ""
    queues_by_code()
    code = _queue_cache["by_id"].get(pk)
    if code is None:
        queues_by_code(refresh=True)
        code = _queue_cache["by_id"].get(pk, "")
    return code


# --- agents' ids by username (a CTI event names its agent) ----------------------------------------


def agent_ids_for(usernames: set[str]) -> dict[str, int]:
    """The user ids of the known ``usernames`` (unknown ones left out). One name (a single CTI
    event) is one prepared statement (``contactcenter.rows``), without the ORM's compiler."""
    if len(usernames) == 1:
        (name,) = usernames
        table = rows._quote(User._meta.db_table)
        found = rows.select_one(User, f"{table}.{rows._quote('username')} = %s", [name])
        return {name: found[0].pk} if found else {}
    return dict(User.objects.filter(username__in=usernames).values_list("username", "pk"))


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

    def __post_init__(self):
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


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def _now() -> datetime:
    return timezone.now()


# --- the one writer of calls -----------------------------------------------------------------------


def _ensure_calls(call_ids: set[str], *, tests: set[str] | None = None) -> dict[str, int]:
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


def _record(call_pk: int, events: list[NewEvent], *, now: datetime | None = None) -> tuple[Call, set[str]]:
    """Insert ``events`` of one call (those not yet stored) and rebuild it → (call, inserted ids)."""
    calls, inserted = _record_many({call_pk: events}, now=now)
    call = calls.get(call_pk)
    if call is None:
        raise errors.CallNotFound()
    return call, inserted


@retry_on_conflict
def _record_many(
    batches: dict[int, list[NewEvent]], *, now: datetime | None = None
) -> tuple[dict[int, Call], set[str]]:
    """Insert the new events of several calls and rebuild those calls, in one transaction with
    set-based queries (a CTI batch costs about ten queries whatever its size). The calls are
    locked in primary-key order, then the agents involved (``calls.locks``)."""
    now = now or _now()
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
            [
                CallEvent(
                    event_id=event.event_id,
                    call_id=pk,
                    type=event.type,
                    ts=event.ts,
                    source=event.source,
                    queue=event.queue,
                    agent_id=event.agent_id,
                    data=event.data,
                    digest=event.digest,
                )
                for pk, events in fresh.items()
                for event in events
            ]
        )
        _rebuild_many({pk: calls[pk] for pk in fresh}, fresh, now=now)
        return calls, {event.event_id for events in fresh.values() for event in events}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def call_fields(folded: cdr.Fold) -> dict[str, Any]:
    """The ``Call`` columns a fold determines (everything but the live offer and callback flags)."""
    return {
        "state": folded.public_state,
        "held": folded.held,
        "queue_id": queue_id_for(folded.queue),
        "entry_queue_id": queue_id_for(folded.entry_queue),
        "home_queue_id": queue_id_for(folded.home_queue),
        "service_queue_id": queue_id_for(folded.service_queue),
        "agent_id": folded.agent_id,
        "direction": folded.direction,
        "ani": folded.ani[:255],
        "dnis": folded.dnis[:255],
        "verified": folded.verified,
        "ivr_path": folded.ivr_path,
        "customer_id": folded.customer_id,
        "account_id": folded.account_id,
        "customer_source": folded.customer_source,
        "is_test": folded.is_test,
        "priority": settings.CALLS_VERIFIED_PRIORITY if folded.verified else 0,
        "started_at": folded.started_at,
        "queued_at": folded.queued_at,
        "offered_at": folded.offered_at,
        "answered_at": folded.answered_at,
        "ended_at": folded.ended_at,
        "wrapup_at": folded.wrapup_at,
        "overflowed_at": folded.overflowed_at,
        "wait_ms": folded.wait_ms,
        "talk_ms": folded.talk_ms,
        "hold_ms": folded.hold_ms,
        "acw_ms": folded.acw_ms,
        "abandoned": folded.abandoned,
        "missed_offers": folded.missed_offers,
        "transfers": folded.transfers,
        "holds": [[_iso(start), _iso(end)] for start, end in folded.holds],
        "legs": [
            {"agent": leg["agent"], "answered": _iso(leg["answered"]), "ended": _iso(leg.get("ended"))}
            for leg in folded.legs
        ],
        "anomalies": list(folded.anomalies),
        "disposition": folded.disposition[:16],
        "note": folded.note,
        "end_reason": folded.end_reason,
        "event_count": folded.event_count,
    }


def _rebuild_many(
    calls: dict[int, Call],
    fresh: dict[int, list[NewEvent]],
    *,
    now: datetime,
    events_by_call: dict[int, list[cdr.EventLike]] | None = None,
    held: set[int] | None = None,
) -> None:
    """Recompute each call from all its events (read here unless given: the fast path of
    ``calls.fastpath`` reads them with its insert), bring the agents involved in line, save the
    calls in one statement and notify after commit. ``held``: the calls an agent holds, when the
    caller has read it (else any call that was ringing or connected may be held)."""
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
        live = _is_live(fresh[pk], now)
        if (live and (changed or call.state in ACTIVE_STATES)) or (agent_id is not None and agent_id != call.agent_id):
            if call.agent_id is not None or agent_id is not None:
                realtime.call_changed_on_commit(
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
        or (call.state in ACTIVE_STATES and _is_live(fresh[pk], now))
        or (folds[pk].wrapup_at is not None and not wrapped_before[pk])
    ]
    if involved:
        _sync_agents({pk: calls[pk] for pk in involved}, folds, fresh, now=now)
    _save_calls(list(calls.values()))
    for pk, call in calls.items():
        _log_anomalies(call, fresh[pk], call.anomalies)
    if routing:
        from .dispatch import route_soon

        route_soon()


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


_saved: list = []


def _saved_fields() -> list:
    """The fields ``_rebuild_many`` writes: the fold's, the live offer and callback flags."""
    if not _saved:
        names = [*call_fields(cdr.Fold()).keys(), "offer_expires_at", "callback_offered_at", "updated_at"]
        _saved.extend(Call._meta.get_field(name) for name in names)
    return _saved


def _save_calls(calls: list[Call]) -> None:
    """One parameterised UPDATE per call, sent as a batch. ``bulk_update`` would compile a CASE
    expression per call and column, which cost more CPU than the database's whole work here."""
    fields = _saved_fields()
    table = connection.ops.quote_name(Call._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in fields)
    sql = f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608 - column names from the model
    values = [
        [field.get_db_prep_save(getattr(call, field.attname), connection) for field in fields] + [call.pk]
        for call in calls
    ]
    if len(values) == 1:
        # One call (an event, an agent's button): a prepared statement (``contactcenter.rows``).
        with rows._cursor(rows._db()) as cursor:
            cursor.execute(sql, values[0])
        return
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


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


def _is_live(fresh: list[NewEvent], now: datetime) -> bool:
    window = timedelta(seconds=settings.CALLS_LIVE_WINDOW_S)
    return any(event.ts >= now - window for event in fresh)


def _sync_agents(
    calls: dict[int, Call], folds: dict[int, cdr.Fold], fresh: dict[int, list[NewEvent]], *, now: datetime
) -> None:
    """Bring the agents' states in line with the rebuilt calls (the call rows are locked).

    The agent who holds a call (ringing or connected) but no longer should is released (to
    after-call work if they talked, not ready after a missed offer, else back to ready); the
    agent a call now rings or connects takes it — only for live events, so a historical load
    never moves anyone; the agent whose after-call work a call was goes back to ready.
    """
    holders = {
        status.call_id: status
        for status in AgentStatus.objects.filter(call_id__in=list(calls)).only("pk", "user_id", "call_id")
    }
    targets_wanted = {
        pk: call.agent_id
        for pk, call in calls.items()
        if call.state in ACTIVE_STATES
        and _is_live(fresh[pk], now)
        and (pk not in holders or holders[pk].user_id != call.agent_id)
    }
    targets = {}
    if targets_wanted:
        targets = {
            status.user_id: status
            for status in AgentStatus.objects.filter(user_id__in=set(targets_wanted.values())).only("pk", "user_id")
        }
    wrapped = [pk for pk in calls if folds[pk].wrapup_at is not None]
    acws = {}
    if wrapped:
        acws = {
            status.acw_call_id: status
            for status in AgentStatus.objects.filter(acw_call_id__in=wrapped, state=AgentState.ACW).only(
                "pk", "acw_call_id"
            )
        }
    locked = lock_agents(*(status.pk for group in (holders, targets, acws) for status in group.values()))
    if not locked:
        return
    for pk, call in calls.items():
        folded, new = folds[pk], fresh[pk]
        target_user = call.agent_id if call.state in ACTIVE_STATES else None
        holder = locked.get(holders[pk].pk) if pk in holders else None
        if holder is not None and holder.call_id == call.pk:
            if holder.user_id == target_user:
                wanted = AgentState.RINGING if call.state == CallState.OFFERED else AgentState.ON_CALL
                if holder.state != wanted:
                    status_transition(holder, state=wanted, at=now, call_id=call.call_id)
            else:
                _release(holder, call, folded, new, now=now)
        target_id = targets_wanted.get(pk)
        target = locked.get(targets[target_id].pk) if target_id in targets else None
        if target is not None and target.call_id != call.pk:
            wanted = AgentState.RINGING if call.state == CallState.OFFERED else AgentState.ON_CALL
            if target.call_id is None and target.state != AgentState.OFFLINE:
                status_transition(target, state=wanted, call=call, at=now, call_id=call.call_id)
            else:
                code = "agent_offline" if target.state == AgentState.OFFLINE else "agent_busy"
                logger.warning("call %s: agent %s not assigned (%s)", call.call_id, target.user.get_username(), code)
                call.anomalies = [*call.anomalies, {"event_id": new[-1].event_id, "type": new[-1].type, "code": code}]
        acw = locked.get(acws[pk].pk) if pk in acws else None
        if acw is not None and acw.state == AgentState.ACW and acw.acw_call_id == call.pk and acw.call_id is None:
            status_transition(acw, state=AgentState.READY, acw_call=None, at=now, call_id=call.call_id)


def _release(holder: AgentStatus, call: Call, folded: cdr.Fold, fresh: list[NewEvent], *, now: datetime) -> None:
    talked = any(leg["agent"] == holder.user_id and leg.get("ended") is not None for leg in folded.legs)
    expired = [e for e in fresh if e.type == EventType.OFFER_EXPIRED and e.agent_id == holder.user_id]
    if talked:
        if folded.wrapup_at is None:
            status_transition(holder, state=AgentState.ACW, call=None, acw_call=call, at=now, call_id=call.call_id)
        else:
            status_transition(holder, state=AgentState.READY, call=None, acw_call=None, at=now, call_id=call.call_id)
    elif expired:
        data = expired[-1].data or {}
        if data.get("reason") == "rejected":
            status_transition(
                holder,
                state=data.get("next_state") or AgentState.READY,
                reason=data.get("next_reason") or "",
                call=None,
                at=now,
                call_id=call.call_id,
                actor_id=data.get("actor_id"),
            )
        elif data.get("reason") == "disconnected":
            # Nobody sits at the desktop: the call goes to the next agent; the agent is not to
            # blame (a dropped network), keeps their place and goes offline if it stays gone.
            status_transition(
                holder, state=AgentState.READY, call=None, at=now, call_id=call.call_id, keep_ready_since=True
            )
        else:
            status_transition(
                holder, state=AgentState.NOT_READY, reason="missed_offer", call=None, at=now, call_id=call.call_id
            )
    else:
        # The caller hung up while it rang, or the switch moved the call: back to ready, keeping
        # the agent's place in the longest-idle order.
        status_transition(
            holder, state=AgentState.READY, call=None, at=now, call_id=call.call_id, keep_ready_since=True
        )


# --- CTI ingestion --------------------------------------------------------------------------------


@contextmanager
def _batch():
    from .dispatch import routing_deferred

    with routing_deferred():
        yield


def cti_events_ingest(*, events: list[dict[str, Any]]) -> list[EventResult]:
    """Record CTI events (already validated: ``calls.serializers.CtiEventSerializer``); one
    result per event, in order.

    Per event: ``accepted`` (new), ``duplicate`` (its ``event_id`` was seen with the same
    content, before or earlier in the batch) or ``rejected`` with a code (``event_id_conflict``:
    seen with other content). Events are grouped by call; each call is rebuilt once per batch,
    in its own transaction. A call seen for the first time is opened by whatever event comes
    first, since events may arrive out of order (its ``offered`` event fills in the start).
    """
    if len(events) == 1 and connection.vendor == "postgresql" and settings.CALLS_CTI_FAST_PATH:
        return [_ingest_one(events[0])]
    conflict = _("Event id reused with other content.")
    results: list[EventResult | None] = [None] * len(events)
    first_seen: dict[str, NewEvent] = {}
    positions: dict[str, int] = {}
    for index, item in enumerate(events):
        event = _cti_event(item)
        twin = first_seen.get(event.event_id)
        if twin is not None:
            same = twin.digest == event.digest
            results[index] = EventResult(
                event.event_id,
                "duplicate" if same else "rejected",
                "" if same else "event_id_conflict",
                "" if same else conflict,
            )
            continue
        first_seen[event.event_id] = event
        positions[event.event_id] = index

    stored = dict(CallEvent.objects.filter(event_id__in=list(first_seen)).values_list("event_id", "digest"))
    by_call: dict[str, list[NewEvent]] = defaultdict(list)
    for event_id, event in first_seen.items():
        digest = stored.get(event_id)
        if digest is None:
            by_call[event.call_id].append(event)
        elif digest == event.digest:
            results[positions[event_id]] = EventResult(event_id, "duplicate")
        else:
            results[positions[event_id]] = EventResult(event_id, "rejected", "event_id_conflict", conflict)
    if by_call:
        _enrich_from_ivr(by_call)
        tests: set[str] = set()
        pks = _ensure_calls(set(by_call), tests=tests)
        for call_id in tests:  # the simulator's test calls: no switch carries them
            for event in by_call.pop(call_id):
                results[positions[event.event_id]] = EventResult(
                    event.event_id, "rejected", "call_not_found", str(errors.CallNotFound.default_message)
                )
        outcome = {}
        if by_call:
            with _batch():
                outcome = _record_tolerant({pks[call_id]: call_events for call_id, call_events in by_call.items()})
        for event_id, result in outcome.items():
            results[positions[event_id]] = result
    return [result for result in results if result is not None]


def _cti_event(item: dict[str, Any]) -> NewEvent:
    return NewEvent(
        event_id=item["event_id"],
        call_id=item["call_id"],
        type=item["type"],
        ts=item["ts"],
        source=EventSource.CTI,
        queue=item.get("queue") or "",
        agent_id=item.get("agent_id"),
        data=item.get("data") or {},
    )


def _ingest_one(item: dict[str, Any]) -> EventResult:
    """One event, the way switches send them: ``calls.fastpath`` (one statement records it and
    reads the call back), then the same rebuild as a batch."""
    from .fastpath import record_one

    event = _cti_event(item)
    _enrich_from_ivr({event.call_id: [event]})
    with _batch():
        return record_one(event, now=_now())


def _record_tolerant(batches: dict[int, list[NewEvent]]) -> dict[str, EventResult]:
    """``_record_many``; when an event id collides with one stored meanwhile for another call (a
    concurrent batch, or the same id reused), the calls and then their events are recorded one
    by one, so only the colliding event is refused."""
    try:
        _calls, inserted = _record_many(batches)
    except IntegrityError:
        if len(batches) > 1:
            results: dict[str, EventResult] = {}
            for pk, events in batches.items():
                results.update(_record_tolerant({pk: events}))
            return results
        ((pk, events),) = batches.items()
        if len(events) > 1:
            results = {}
            for event in events:
                results.update(_record_tolerant({pk: [event]}))
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


def _enrich_from_ivr(by_call: dict[str, list[NewEvent]]) -> None:
    """A ``queued`` event of a call that went through our IVR carries its context (verified
    caller, path), so the screen-pop has it even when the switch reports the queue first."""
    wanted = [call_id for call_id, events in by_call.items() if any(e.type == EventType.QUEUED for e in events)]
    if not wanted:
        return
    for call_id, context in _ivr_contexts(wanted).items():
        for event in by_call[call_id]:
            if event.type == EventType.QUEUED:
                event.data = {**event.data, **context}


def _ivr_contexts(call_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What ``ivr.selectors.ivr_context_for_call`` gives, for many calls in one query (a CTI batch)."""
    from django.apps import apps

    rows = (
        apps.get_model("ivr", "IvrCall")
        .objects.filter(call_id__in=call_ids)
        .values_list("call_id", "verified", "path", "customer_id", "account_id")
    )
    return {
        call_id: {
            "verified": bool(verified),
            "path": list(path or []),
            "customer_id": customer_id if verified else None,
            "account_id": account_id if verified else None,
        }
        for call_id, verified, path, customer_id, account_id in rows
    }


# --- the IVR's transfer to an agent ---------------------------------------------------------------


def _ivr_started_at(call_id: str) -> datetime | None:
    from django.apps import apps

    ivr_call = apps.get_model("ivr", "IvrCall")
    return ivr_call.objects.filter(call_id=call_id).values_list("started_at", flat=True).first()


def call_enqueue_from_ivr(
    *,
    call_id: str,
    ani: str = "",
    dnis: str = "",
    queue: str = "",
    verified: bool = False,
    customer_id: int | None = None,
    account_id: int | None = None,
    path: list[str] | None = None,
    is_test: bool = False,
    **_ignored: Any,
) -> Call:
    """The IVR handed the caller to agent queue ``queue``: open or update the call, queue it and
    route it (an agent gets ``call.offered`` with the screen-pop). Idempotent per call and queue.
    ``is_test``: a call of the IVR simulator, routed the same way and marked as a test call
    (``Call.is_test``: shown on the screen-pop, left out of every KPI).

    An unknown queue falls back to ``CALLS_DEFAULT_QUEUE`` (logged). Called on commit of the
    IVR's transaction by the receiver of ``ivr.signals.call_transferred_to_agent``.
    """
    now = _now()
    if queue_id_for(queue) is None:
        logger.warning("IVR call %s: unknown queue %r, using %s", call_id, queue, settings.CALLS_DEFAULT_QUEUE)
        queue = settings.CALLS_DEFAULT_QUEUE
        if queue_id_for(queue) is None:
            raise errors.UnknownQueue()
    test = {"test": True} if is_test else {}
    context = {
        "ani": str(ani or "")[:255],
        "dnis": str(dnis or "")[:255],
        "direction": "inbound",
        "verified": bool(verified),
        "path": [str(step) for step in (path or [])],
        "customer_id": customer_id if verified else None,
        "account_id": account_id if verified else None,
        **test,
    }
    events = [
        NewEvent(
            event_id=f"ivr:{call_id}:offered",
            call_id=call_id,
            type=EventType.OFFERED,
            ts=_ivr_started_at(call_id) or now,
            source=EventSource.IVR,
            data={"ani": context["ani"], "dnis": context["dnis"], "direction": "inbound", **test},
        ),
        NewEvent(
            event_id=f"ivr:{call_id}:queued:{queue}",
            call_id=call_id,
            type=EventType.QUEUED,
            ts=now,
            source=EventSource.IVR,
            queue=queue,
            data=context,
        ),
    ]
    pk = _ensure_calls({call_id})[call_id]
    call, _inserted = _record(pk, events, now=now)
    return call


def on_ivr_transfer(sender=None, **kwargs: Any) -> None:
    """Receiver of ``ivr.signals.call_transferred_to_agent`` (sent on the IVR's commit). A failure
    here must not turn the IVR's answer to the switch into an error: it is logged, and the
    switch's own CTI ``queued`` event queues the call anyway."""
    try:
        call_enqueue_from_ivr(**kwargs)
    except Exception:
        logger.exception("IVR transfer of call %s could not be queued", kwargs.get("call_id"))


def _test_call_owner_id(call_id: str) -> int | None:
    """Who started IVR test call ``call_id`` in the simulator (``None``: no such test call)."""
    from django.apps import apps

    ivr_call = apps.get_model("ivr", "IvrCall")
    return ivr_call.objects.filter(call_id=call_id, is_test=True).values_list("started_by_id", flat=True).first()


@retry_on_conflict
def call_tester_hangup(*, call_id: str, tester) -> Call:
    """The IVR simulator's caller hangs up a test call after the IVR handed it to a queue, where a
    switch would report the end with a CTI ``ended`` event: waiting, ringing or connected, the
    call ends (the agent who talked goes to after-call work). Only the tester who placed the call
    can; any other call, real ones included, is ``call_not_found``. Ending it again is harmless."""
    owner = _test_call_owner_id(call_id)
    if owner is None or owner != getattr(tester, "pk", None):
        raise errors.CallNotFound()
    now = _now()
    with transaction.atomic():
        call = lock_call(_call_by_id(call_id).pk)
        if not call.is_test:
            raise errors.CallNotFound()
        if call.state == CallState.ENDED:
            return call
        event = NewEvent(
            event_id=_new_id("sim"),
            call_id=call.call_id,
            type=EventType.ENDED,
            ts=now,
            source=EventSource.SYSTEM,
            data={"reason": "caller_hangup"},
        )
        call, _ids = _record(call.pk, [event], now=now)
        return call


# --- agents' call controls ------------------------------------------------------------------------


def _call_by_id(call_id: str) -> Call:
    call = Call.objects.filter(call_id=call_id).first()
    if call is None:
        raise errors.CallNotFound()
    return call


def _agent_event(call: Call, user, type_: str, *, now: datetime, **kwargs: Any) -> NewEvent:
    return NewEvent(
        event_id=_new_id("ag"),
        call_id=call.call_id,
        type=type_,
        ts=now,
        source=EventSource.AGENT,
        agent_id=user.pk,
        **kwargs,
    )


@retry_on_conflict
def call_answer(*, call_id: str, user) -> Call:
    """The agent answers the call ringing them. Answering again is harmless."""
    now = _now()
    with transaction.atomic():
        call = lock_call(_call_by_id(call_id).pk)
        if call.state == CallState.CONNECTED and call.agent_id == user.pk:
            return call
        if call.state != CallState.OFFERED or call.agent_id != user.pk:
            raise errors.NotOfferedToYou()
        call, _ids = _record(call.pk, [_agent_event(call, user, EventType.ANSWERED, now=now)], now=now)
        return call


def _connected_call(call_id: str, user) -> Call:
    call = lock_call(_call_by_id(call_id).pk)
    if call.agent_id != user.pk or call.state not in (CallState.CONNECTED, CallState.ENDED, CallState.OFFERED):
        raise errors.NotYourCall()
    if call.state != CallState.CONNECTED:
        raise errors.InvalidCallState()
    return call


def call_hold(*, call_id: str, user) -> Call:
    return _set_held(call_id, user, held=True)


def call_retrieve(*, call_id: str, user) -> Call:
    return _set_held(call_id, user, held=False)


@retry_on_conflict
def _set_held(call_id: str, user, *, held: bool) -> Call:
    """Put the agent's connected call on hold or take it back; already so: nothing recorded."""
    now = _now()
    with transaction.atomic():
        call = _connected_call(call_id, user)
        if call.held == held:
            return call
        event = _agent_event(call, user, EventType.HELD if held else EventType.RETRIEVED, now=now)
        call, _ids = _record(call.pk, [event], now=now)
        return call


@retry_on_conflict
def call_hangup(*, call_id: str, user) -> Call:
    """The agent ends the call; they go to after-call work."""
    now = _now()
    with transaction.atomic():
        call = _connected_call(call_id, user)
        event = _agent_event(call, user, EventType.ENDED, now=now, data={"reason": "agent_hangup"})
        call, _ids = _record(call.pk, [event], now=now)
        return call


@retry_on_conflict
def call_transfer(*, call_id: str, user, queue: str = "", agent: str = "") -> Call:
    """Blind transfer to a queue or to a ready agent; the transferring agent goes to after-call work."""
    now = _now()
    if bool(queue) == bool(agent):
        raise errors.InvalidInput(_("Give either a queue or an agent."), code="transfer_target_required")
    target_id = None
    if agent:
        target_id = User.objects.filter(username=agent, is_active=True).values_list("pk", flat=True).first()
        if target_id is None:
            raise errors.UnknownAgent()
        if target_id == user.pk:
            raise errors.InvalidInput(_("You cannot transfer a call to yourself."), code="transfer_to_self")
    elif queue_id_for(queue) is None:
        raise errors.UnknownQueue()
    with transaction.atomic():
        call = _connected_call(call_id, user)
        if target_id is not None:
            status = AgentStatus.objects.filter(user_id=target_id).first()
            if status is None or status.state != AgentState.READY or status.call_id is not None:
                raise errors.AgentUnavailable()
        event = NewEvent(
            event_id=_new_id("ag"),
            call_id=call.call_id,
            type=EventType.TRANSFERRED,
            ts=now,
            source=EventSource.AGENT,
            queue=queue or queue_code_for(call.queue_id),
            agent_id=target_id,
            data={"by": user.pk},
        )
        call, _ids = _record(call.pk, [event], now=now)
        return call


@retry_on_conflict
def call_wrapup(*, call_id: str, user, disposition: str, note: str = "", ticket: dict | None = None) -> Call:
    """The agent finishes after-call work with a disposition and a note; optionally records a
    consultation / complaint / suggestion (``tickets.services.ticket_create``) for the call."""
    now = _now()
    if disposition not in Disposition.values:
        raise errors.InvalidInput(_("Unknown disposition."), code="invalid_disposition")
    with transaction.atomic():
        call = lock_call(_call_by_id(call_id).pk)
        if not any(leg.get("agent") == user.pk for leg in call.legs or []):
            raise errors.NotYourCall()
        if call.state != CallState.ENDED:
            raise errors.InvalidCallState(_("Hang up before wrapping up."), code="call_not_ended")
        if call.wrapup_at is not None:
            raise errors.AlreadyWrappedUp()
        event = _agent_event(
            call, user, EventType.WRAPUP, now=now, data={"disposition": disposition, "note": str(note or "")[:2000]}
        )
        call, _ids = _record(call.pk, [event], now=now)
        # The contact recorded with the wrap-up, for the desktop's notice (工单号 / 登记号).
        call.wrapup_ticket = _ticket_for_call(call, user, ticket) if ticket else None
        return call


def _ticket_for_call(call: Call, user, ticket: dict) -> Any:
    """A consultation / complaint / suggestion for the call, when the tickets app offers it."""
    try:
        from tickets.services import ticket_create
    except ImportError:  # pragma: no cover - the tickets app ships with the project
        raise errors.InvalidInput(_("Work orders are not available."), code="tickets_unavailable") from None
    customer = None
    if call.customer_id:
        from banking.selectors import customer_get

        customer = customer_get(user=user, customer_id=call.customer_id)
    return ticket_create(
        actor=user,
        kind=ticket.get("kind", ""),
        category=ticket.get("category", ""),
        description=ticket.get("description", ""),
        customer=customer,
        call_id=call.call_id,
        received_at=call.answered_at or call.started_at,
    )


@retry_on_conflict
def call_customer_link(*, call_id: str, user, customer) -> Call:
    """Link "this is the caller": the agent links the customer they identified to their own call —
    connected, or ended and still in after-call work — and to the contacts already recorded for it
    (``tickets.services.tickets_customer_link_for_call``). An event on the call (the fold keeps the
    latest link, ``customer_source = "agent"``: not an IVR verification) and an audit row."""
    now = _now()
    with transaction.atomic():
        call = lock_call(_call_by_id(call_id).pk)
        mine = call.agent_id == user.pk or any(leg.get("agent") == user.pk for leg in call.legs or [])
        if not mine:
            raise errors.NotYourCall()
        in_hand = call.state == CallState.CONNECTED or (call.state == CallState.ENDED and call.wrapup_at is None)
        if not in_hand:
            raise errors.InvalidCallState(_("The call is no longer being handled."), code="call_not_active")
        before = call.customer_id if call.customer_source == "agent" or call.verified else None
        event = _agent_event(call, user, EventType.CUSTOMER_LINKED, now=now, data={"customer_id": customer.pk})
        call, _ids = _record(call.pk, [event], now=now)
        from audit.services import audit_record

        audit_record(
            actor=user,
            action="calls.customer_link",
            object_type="call",
            object_id=call.call_id,
            details={"customer": customer.pk, "before": before},
        )
        try:
            from tickets.services import tickets_customer_link_for_call
        except ImportError:  # pragma: no cover - the tickets app ships with the project
            return call
        tickets_customer_link_for_call(actor=user, call_id=call.call_id, customer=customer)
        return call


@retry_on_conflict
def call_offer_withdraw(
    *,
    call: Call,
    agent_status: AgentStatus,
    reason: str,
    next_state: str = "",
    next_reason: str = "",
    actor=None,
    now: datetime | None = None,
) -> bool:
    """Take back the offer ringing ``agent_status``'s agent (expired, or the agent went not ready).

    Returns False when the call no longer rings that agent (answered or moved on meanwhile).
    """
    now = now or _now()
    with transaction.atomic():
        locked = lock_call(call.pk)
        if locked is None or locked.state != CallState.OFFERED or locked.agent_id != agent_status.user_id:
            return False
        data: dict[str, Any] = {"reason": reason}
        if next_state:
            data.update(next_state=next_state, next_reason=next_reason, actor_id=getattr(actor, "pk", None))
        event = NewEvent(
            event_id=_new_id("rt"),
            call_id=locked.call_id,
            type=EventType.OFFER_EXPIRED,
            ts=now,
            source=EventSource.ROUTER,
            agent_id=agent_status.user_id,
            queue=queue_code_for(locked.queue_id),
            data=data,
        )
        _record(locked.pk, [event], now=now)
        return True


def call_offer(*, call_pk: int, status_pk: int, now: datetime | None = None) -> bool:
    """Offer a waiting call to a ready agent (the router's one write). Both rows are re-checked
    under their locks; returns False when either moved on meanwhile."""
    return _offer(call_pk, status_pk, now or _now())


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
            event_id=_new_id("rt"),
            call_id=call.call_id,
            type=EventType.RINGING,
            ts=now,
            source=EventSource.ROUTER,
            agent_id=status.user_id,
            queue=queue_code_for(call.queue_id),
        )
        call, _ids = _record(call.pk, [event], now=now)
        return call.state == CallState.OFFERED and call.agent_id == status.user_id


@retry_on_conflict
def call_overflow(*, call_pk: int, now: datetime | None = None) -> bool:
    """Move a call that waited past its queue's overflow time into the overflow queue (agents of
    the first queue keep serving it too)."""
    now = now or _now()
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
        _record(call.pk, [event], now=now)
        return True


def call_callback_offer(*, call_pk: int, now: datetime | None = None) -> bool:
    """Flag a long-waiting call: the switch sees ``callback_offer`` on ``GET /api/calls/{id}/``."""
    now = now or _now()
    updated = Call.objects.filter(pk=call_pk, state=CallState.QUEUED, callback_offered_at__isnull=True).update(
        callback_offered_at=now, updated_at=now
    )
    return bool(updated)


@retry_on_conflict
def call_callback_accept(*, call_id: str, phone: str = "", actor=None) -> Callback:
    """The waiting caller accepted the callback offer: a callback task is opened for the call's
    queue and the call ends (reason ``callback``). Accepting twice returns the same task."""
    now = _now()
    with transaction.atomic():
        existing = Call.objects.filter(call_id=call_id).first()
        if existing is None:
            raise errors.CallNotFound()
        call = lock_call(existing.pk)
        if call.is_test:  # only the switch accepts callbacks, and a test call is not its call
            raise errors.CallNotFound()
        open_callback = Callback.objects.filter(call=call, status=CallbackStatus.OPEN).first()
        if open_callback is not None:
            return open_callback
        if call.state != CallState.QUEUED or call.callback_offered_at is None:
            raise errors.NoCallbackOffer()
        callback = Callback.objects.create(
            call=call,
            phone=(phone or ani_digits(call.ani))[:32],  # a sip:/tel: ANI: the number to dial back
            customer_id=call.customer_id,
            queue_id=call.queue_id or call.entry_queue_id,
            due_at=now,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            note=_("The caller accepted a callback after waiting in the queue."),
        )
        event = NewEvent(
            event_id=f"sys:{call.call_id}:callback",
            call_id=call.call_id,
            type=EventType.ENDED,
            ts=now,
            source=EventSource.SYSTEM,
            data={"reason": "callback"},
        )
        _record(call.pk, [event], now=now)
        realtime.callbacks_changed_on_commit()
        return callback


@retry_on_conflict
def call_auto_wrapup(*, status_pk: int, now: datetime | None = None) -> bool:
    """After-call work past ``AGENTS_ACW_TIMEOUT_S``: closed with disposition ``auto``."""
    now = now or _now()
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
        _record(call.pk, [event], now=now)
        return True
