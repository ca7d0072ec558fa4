"""The ``Call`` columns a fold of its events determines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from .. import cdr
from .lookups import queue_id_for


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
