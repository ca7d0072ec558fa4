"""CTI ingest: the switch's events (``POST /api/cti/events/``), one or a batch, recorded by the
event writer (``events``); one event on PostgreSQL takes the fast path (``calls.fastpath``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import errors
from ..models import CallEvent, EventSource, EventType
from .events import EventResult, NewEvent, ensure_calls, record_tolerant, routing_deferred

# --- CTI ingestion --------------------------------------------------------------------------------


def cti_events_ingest(*, events: list[dict[str, Any]]) -> list[EventResult]:
    """Record CTI events; those of an outbound dial carry its ``command_id`` and are correlated
    with the dial attempt first and move it on afterwards (``calls.outbound.dialer``: docs/cti.md
    "The switch contract"); an unknown ``command_id`` is refused (``unknown_command``)."""
    if not any(item.get("command_id") for item in events):
        return _ingest(events)
    from ..outbound import dialer

    refused = dialer.cti_prepare(events)
    kept = [item for index, item in enumerate(events) if index not in refused]
    outcome = iter(_ingest(kept) if kept else [])
    results = [
        EventResult(item["event_id"], "rejected", *refused[index]) if index in refused else next(outcome)
        for index, item in enumerate(events)
    ]
    dialer.cti_apply([item for item, result in zip(events, results, strict=True) if result.status != "rejected"])
    return results


def _ingest(events: list[dict[str, Any]]) -> list[EventResult]:
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
        pks = ensure_calls(set(by_call), tests=tests)
        for call_id in tests:  # the simulator's test calls: no switch carries them
            for event in by_call.pop(call_id):
                results[positions[event.event_id]] = EventResult(
                    event.event_id, "rejected", "call_not_found", str(errors.CallNotFound.default_message)
                )
        outcome = {}
        if by_call:
            with routing_deferred():
                outcome = record_tolerant({pks[call_id]: call_events for call_id, call_events in by_call.items()})
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
    from ..fastpath import record_one

    event = _cti_event(item)
    _enrich_from_ivr({event.call_id: [event]})
    with routing_deferred():
        return record_one(event, now=timezone.now())


def _enrich_from_ivr(by_call: dict[str, list[NewEvent]]) -> None:
    """A ``queued`` event of a call that went through our IVR carries its context (verified
    caller, path), so the screen-pop has it even when the switch reports the queue first."""
    wanted = [call_id for call_id, events in by_call.items() if any(e.type == EventType.QUEUED for e in events)]
    if not wanted:
        return
    from ivr.selectors import ivr_handoff_contexts

    for call_id, context in ivr_handoff_contexts(wanted).items():
        for event in by_call[call_id]:
            if event.type == EventType.QUEUED:
                event.data = {**event.data, **context}
