"""The call record as a pure function of its events.

``fold(events)`` sorts a call's events by time (ties: the stage order of a call's life, then
``event_id``) and walks them through the call's life cycle::

    (new) ─offered→ ivr ─queued→ queued ─ringing→ offered ─answered→ connected ─ended→ ended ─wrapup
                         ↑  └────────────────────────────answered──┘   │ held/retrieved
                         └──── queued / offer_expired ── offered        └ transferred → queued | offered

An event the call's state at its time does not allow is ignored and listed in ``anomalies``
with a code (``answered_before_queued``, ``already_answered``, ``not_offered_to_agent``,
``event_after_end``, ``wrapup_before_end`` ...). Because the walk depends only on the set of
events, not on the order they arrived in, a late or out-of-order event gives the same record
as if it had come in time, and a contradictory one never corrupts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

OFFERED = "offered"
QUEUED = "queued"
RINGING = "ringing"
ANSWERED = "answered"
HELD = "held"
RETRIEVED = "retrieved"
TRANSFERRED = "transferred"
ENDED = "ended"
WRAPUP = "wrapup"
OFFER_EXPIRED = "offer_expired"
CUSTOMER_LINKED = "customer_linked"

# Tie-break for events with the same timestamp: the order of a call's life.
RANK = {
    OFFERED: 0,
    QUEUED: 1,
    OFFER_EXPIRED: 2,  # the router withdraws an offer and rings the next agent in one instant
    RINGING: 3,
    ANSWERED: 4,
    HELD: 5,
    RETRIEVED: 6,
    TRANSFERRED: 7,
    ENDED: 8,
    WRAPUP: 9,
}

_MILLISECOND = timedelta(milliseconds=1)

S_NEW, S_IVR, S_QUEUED, S_OFFERED, S_CONNECTED, S_ENDED = "new", "ivr", "queued", "offered", "connected", "ended"


class EventLike(Protocol):
    event_id: str
    type: str
    ts: datetime
    queue: str
    agent_id: int | None
    data: dict[str, Any]


@dataclass
class Fold:
    state: str = S_NEW
    held: bool = False
    queue: str = ""  # where the router looks for it now (after an overflow: the overflow queue)
    entry_queue: str = ""  # the first queue it entered
    home_queue: str = ""  # the last queue it was placed in, an overflow not counting as a move
    service_queue: str = ""  # its home queue when its first wait ended (answered / abandoned): KPIs
    agent_id: int | None = None
    offer_agent_id: int | None = None
    offer_at: datetime | None = None
    direction: str = ""
    ani: str = ""
    dnis: str = ""
    verified: bool = False
    ivr_path: list[str] = field(default_factory=list)
    customer_id: int | None = None
    account_id: int | None = None
    customer_source: str = ""  # "ivr" (verified there) or "agent" (linked on the desktop)
    is_test: bool = False
    started_at: datetime | None = None
    queued_at: datetime | None = None
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wrapup_at: datetime | None = None
    overflowed_at: datetime | None = None
    holds: list[list[datetime]] = field(default_factory=list)
    legs: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, str]] = field(default_factory=list)
    disposition: str = ""
    note: str = ""
    end_reason: str = ""
    missed_offers: int = 0
    transfers: int = 0
    event_count: int = 0
    # Working values of the walk.
    _held_since: datetime | None = None

    # --- derived durations (ms) ------------------------------------------------------------------

    @property
    def hold_ms(self) -> int:
        return sum(_ms(end - start) for start, end in self.holds)

    @property
    def wait_ms(self) -> int | None:
        if self.queued_at is None:
            return None
        if self.answered_at is not None:
            return _ms(self.answered_at - self.queued_at)
        if self.ended_at is not None:
            return _ms(self.ended_at - self.queued_at)
        return None

    @property
    def talk_ms(self) -> int | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        connected = sum(_ms(leg["ended"] - leg["answered"]) for leg in self.legs if leg.get("ended"))
        return max(connected - self.hold_ms, 0)

    @property
    def acw_ms(self) -> int | None:
        if self.wrapup_at is None or self.ended_at is None:
            return None
        return _ms(self.wrapup_at - self.ended_at)

    @property
    def abandoned(self) -> bool:
        return self.ended_at is not None and self.answered_at is None and self.queued_at is not None

    @property
    def public_state(self) -> str:
        return S_IVR if self.state == S_NEW else self.state


def _ms(delta: timedelta) -> int:
    """Whole milliseconds, truncated, never negative; exact (``total_seconds() * 1000`` in floating
    point made 1.005 s 1004 ms)."""
    return max(delta // _MILLISECOND, 0)


def sort_key(event: EventLike) -> tuple:
    return (event.ts, RANK.get(event.type, 99), event.event_id)


def fold(events: Sequence[EventLike]) -> Fold:
    """The call record implied by ``events`` (any order; each event_id once)."""
    call = Fold()
    for event in sorted(events, key=sort_key):
        call.event_count += 1
        if call.started_at is None:
            call.started_at = event.ts
        _take_details(call, event)
        handler = _HANDLERS.get(event.type)
        if handler is None:
            _ignore(call, event, "unknown_type")
            continue
        handler(call, event)
    return call


def _ignore(call: Fold, event: EventLike, code: str) -> None:
    call.anomalies.append({"event_id": event.event_id, "type": event.type, "code": code})


def _take_details(call: Fold, event: EventLike) -> None:
    """Caller details: the earliest event that carries each one wins."""
    data = event.data or {}
    if not call.ani and data.get("ani"):
        call.ani = str(data["ani"])
    if not call.dnis and data.get("dnis"):
        call.dnis = str(data["dnis"])
    if not call.direction and data.get("direction"):
        call.direction = str(data["direction"])
    if data.get("test") is True:  # only the IVR's own events carry it (a simulator call)
        call.is_test = True
    if "verified" in data and not call.ivr_path and not call.verified:
        call.verified = bool(data.get("verified"))
        call.ivr_path = [str(step) for step in data.get("path") or []]
        call.customer_id = data.get("customer_id") if call.verified else None
        call.account_id = data.get("account_id") if call.verified else None
        if call.customer_source != "agent":
            call.customer_source = "ivr" if call.customer_id else ""


def _after_end(call: Fold, event: EventLike) -> bool:
    if call.state == S_ENDED:
        _ignore(call, event, "event_after_end")
        return True
    return False


def _enter_queue(call: Fold, queue: str, ts: datetime, *, move: bool = True) -> None:
    """The call waits in ``queue``. ``move=False``: an overflow or a withdrawn offer, which leave
    the call's home queue (whose call it is, docs/cti.md "A queue's calls") as it was."""
    call.state = S_QUEUED
    call.queue = queue
    call.offer_agent_id = None
    call.offer_at = None
    call.agent_id = None
    if not call.entry_queue:
        call.entry_queue = queue
    _move_home(call, queue, move=move)
    if call.queued_at is None:
        call.queued_at = ts


def _move_home(call: Fold, queue: str, *, move: bool = True) -> None:
    if move or not call.home_queue:
        call.home_queue = queue
    if call.answered_at is None:
        call.service_queue = call.home_queue  # frozen once the first wait is over


def _ring(call: Fold, agent_id: int, ts: datetime) -> None:
    call.state = S_OFFERED
    call.offer_agent_id = agent_id
    call.offer_at = ts
    call.agent_id = agent_id
    if call.offered_at is None:
        call.offered_at = ts


def _close_hold(call: Fold, ts: datetime) -> None:
    if call.held and call._held_since is not None:
        call.holds.append([call._held_since, ts])
    call.held = False
    call._held_since = None


def _close_leg(call: Fold, ts: datetime) -> None:
    _close_hold(call, ts)
    if call.legs and call.legs[-1].get("ended") is None:
        call.legs[-1]["ended"] = ts


def on_offered(call: Fold, event: EventLike) -> None:
    # A second report of the start (IVR and switch both send one) changes nothing: the call
    # started at its earliest event whatever that is.
    if call.state == S_NEW:
        call.state = S_IVR


def on_queued(call: Fold, event: EventLike) -> None:
    if _after_end(call, event):
        return
    if not event.queue:
        _ignore(call, event, "queue_missing")
        return
    if call.state == S_CONNECTED:
        _ignore(call, event, "answered_before_queued")
        return
    if call.state == S_QUEUED and call.queue == event.queue:
        return  # the same fact from another source (IVR and switch both report the queue)
    overflow = (event.data or {}).get("reason") == "overflow"
    if call.state in (S_QUEUED, S_OFFERED) and overflow:
        call.overflowed_at = call.overflowed_at or event.ts
    _enter_queue(call, event.queue, event.ts, move=not overflow)


def on_ringing(call: Fold, event: EventLike) -> None:
    if _after_end(call, event):
        return
    if event.agent_id is None:
        _ignore(call, event, "agent_missing")
        return
    if call.state == S_CONNECTED:
        _ignore(call, event, "ringing_while_connected")
        return
    if call.state == S_OFFERED and call.offer_agent_id == event.agent_id:
        return  # the switch confirms the router's offer
    _ring(call, event.agent_id, event.ts)


def on_offer_expired(call: Fold, event: EventLike) -> None:
    if call.state != S_OFFERED or call.offer_agent_id != event.agent_id:
        return  # stale: the offer was answered or moved on before it expired
    call.missed_offers += 1
    if call.queue:
        _enter_queue(call, call.queue, event.ts, move=False)
    else:
        call.state = S_IVR
        call.offer_agent_id = call.agent_id = None
        call.offer_at = None


def on_answered(call: Fold, event: EventLike) -> None:
    if call.state == S_ENDED:
        _ignore(call, event, "answered_after_end")
        return
    agent_id = event.agent_id or (call.offer_agent_id if call.state == S_OFFERED else None)
    if agent_id is None:
        _ignore(call, event, "agent_missing")
        return
    if call.state == S_CONNECTED:
        if call.agent_id != agent_id:
            _ignore(call, event, "already_answered")
        return
    if call.state == S_OFFERED and call.offer_agent_id != agent_id:
        _ignore(call, event, "not_offered_to_agent")
        return
    call.state = S_CONNECTED
    call.agent_id = agent_id
    call.offer_agent_id = None
    call.offer_at = None
    if call.answered_at is None:
        call.answered_at = event.ts
    call.legs.append({"agent": agent_id, "answered": event.ts, "ended": None})


def on_held(call: Fold, event: EventLike) -> None:
    if _after_end(call, event):
        return
    if call.state != S_CONNECTED:
        _ignore(call, event, "not_connected")
        return
    if not call.held:
        call.held = True
        call._held_since = event.ts


def on_retrieved(call: Fold, event: EventLike) -> None:
    if _after_end(call, event):
        return
    if call.state != S_CONNECTED:
        _ignore(call, event, "not_connected")
        return
    _close_hold(call, event.ts)


def on_transferred(call: Fold, event: EventLike) -> None:
    if _after_end(call, event):
        return
    data = event.data or {}
    target_agent = event.agent_id
    target_queue = event.queue
    if target_agent is None and not target_queue:
        _ignore(call, event, "transfer_target_missing")
        return
    if call.state == S_CONNECTED:
        if target_agent is not None and target_agent == call.agent_id:
            _ignore(call, event, "transfer_to_self")
            return
        _close_leg(call, event.ts)
        call.transfers += 1
    overflow = data.get("reason") == "overflow"
    if target_agent is not None:
        if target_queue:
            call.queue = target_queue
            call.entry_queue = call.entry_queue or target_queue
            _move_home(call, target_queue, move=not overflow)
        _ring(call, target_agent, event.ts)
    else:
        _enter_queue(call, target_queue, event.ts, move=not overflow)
    if overflow:
        call.overflowed_at = call.overflowed_at or event.ts


def on_ended(call: Fold, event: EventLike) -> None:
    if call.state == S_ENDED:
        return  # the other side's hang-up report of the same end
    _close_leg(call, event.ts)
    call.state = S_ENDED
    call.ended_at = event.ts
    call.offer_agent_id = None
    call.offer_at = None
    call.end_reason = str((event.data or {}).get("reason") or "")[:20]
    call.agent_id = call.legs[-1]["agent"] if call.legs else None


def on_wrapup(call: Fold, event: EventLike) -> None:
    if call.state != S_ENDED:
        _ignore(call, event, "wrapup_before_end")
        return
    if call.answered_at is None:
        _ignore(call, event, "wrapup_without_answer")
        return
    data = event.data or {}
    if call.wrapup_at is None:
        call.wrapup_at = event.ts
    if not call.disposition and data.get("disposition"):
        call.disposition = str(data["disposition"])
        call.note = str(data.get("note") or "")


def on_customer_linked(call: Fold, event: EventLike) -> None:
    """The agent identified the caller ("this is the caller"); the latest link wins. Taken also
    after the end (in after-call work): it changes who the call was, not its course."""
    customer_id = (event.data or {}).get("customer_id")
    if not isinstance(customer_id, int):
        _ignore(call, event, "customer_missing")
        return
    if customer_id != call.customer_id:
        call.account_id = None  # the IVR's account was another customer's
    call.customer_id = customer_id
    call.customer_source = "agent"


_HANDLERS = {
    OFFERED: on_offered,
    QUEUED: on_queued,
    RINGING: on_ringing,
    OFFER_EXPIRED: on_offer_expired,
    ANSWERED: on_answered,
    HELD: on_held,
    RETRIEVED: on_retrieved,
    TRANSFERRED: on_transferred,
    ENDED: on_ended,
    WRAPUP: on_wrapup,
    CUSTOMER_LINKED: on_customer_linked,
}
