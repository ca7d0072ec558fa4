"""The call record is a pure function of its events: any arrival order, the same record; an event
the call's life does not allow is ignored with a code, never folded into the record."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from calls.cdr import fold

T0 = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
A, B = 101, 102


@dataclass
class Ev:
    event_id: str
    type: str
    ts: datetime
    queue: str = ""
    agent_id: int | None = None
    data: dict = field(default_factory=dict)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def life() -> list[Ev]:
    """Offered, queued 5 s, rang 3 s, talked 60 s with a 10 s hold, 20 s after-call work."""
    return [
        Ev("1", "offered", at(0), data={"ani": "13800000001", "dnis": "96123"}),
        Ev("2", "queued", at(10), queue="general"),
        Ev("3", "ringing", at(15), agent_id=A),
        Ev("4", "answered", at(18), agent_id=A),
        Ev("5", "held", at(30)),
        Ev("6", "retrieved", at(40)),
        Ev("7", "ended", at(78)),
        Ev("8", "wrapup", at(98), data={"disposition": "resolved", "note": "balance explained"}),
    ]


def test_a_complete_call_has_every_stage_and_duration():
    call = fold(life())
    assert call.public_state == "ended" and call.anomalies == []
    assert (call.started_at, call.queued_at, call.offered_at) == (at(0), at(10), at(15))
    assert (call.answered_at, call.ended_at, call.wrapup_at) == (at(18), at(78), at(98))
    assert call.wait_ms == 8_000  # answered − queued
    assert call.hold_ms == 10_000
    assert call.talk_ms == 50_000  # ended − answered − hold
    assert call.acw_ms == 20_000  # wrapup − ended
    assert call.agent_id == A and call.queue == call.entry_queue == "general"
    assert call.ani == "13800000001" and call.disposition == "resolved"
    assert not call.abandoned


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_record(rnd: random.Random):
    events = life() + [Ev("9", "answered", at(19), agent_id=B), Ev("10", "queued", at(50), queue="card")]
    expected = fold(events)
    shuffled = events[:]
    rnd.shuffle(shuffled)
    assert fold(shuffled) == expected


def test_answered_before_queued_ignores_the_late_queue_event():
    call = fold(
        [
            Ev("1", "offered", at(0)),
            Ev("2", "answered", at(5), agent_id=A),
            Ev("3", "queued", at(8), queue="general"),
            Ev("4", "ended", at(20)),
        ]
    )
    assert [a["code"] for a in call.anomalies] == ["answered_before_queued"]
    assert call.queued_at is None and call.wait_ms is None and call.talk_ms == 15_000


def test_a_second_agent_answering_is_ignored():
    call = fold(
        [
            Ev("1", "queued", at(0), queue="general"),
            Ev("2", "answered", at(4), agent_id=A),
            Ev("3", "answered", at(6), agent_id=B),
            Ev("4", "ended", at(30)),
        ]
    )
    assert call.agent_id == A and [a["code"] for a in call.anomalies] == ["already_answered"]
    assert len(call.legs) == 1


def test_answer_by_an_agent_the_call_was_not_ringing_is_ignored():
    call = fold(
        [
            Ev("1", "queued", at(0), queue="general"),
            Ev("2", "ringing", at(2), agent_id=A),
            Ev("3", "answered", at(4), agent_id=B),
        ]
    )
    assert call.public_state == "offered" and call.agent_id == A
    assert [a["code"] for a in call.anomalies] == ["not_offered_to_agent"]


def test_an_answer_without_agent_takes_the_ringing_one():
    call = fold(
        [Ev("1", "queued", at(0), queue="g"), Ev("2", "ringing", at(2), agent_id=A), Ev("3", "answered", at(4))]
    )
    assert call.public_state == "connected" and call.agent_id == A


def test_events_after_the_end_and_wrapup_before_the_end_are_ignored():
    call = fold(
        [
            Ev("1", "queued", at(0), queue="general"),
            Ev("2", "answered", at(4), agent_id=A),
            Ev("3", "wrapup", at(5)),
            Ev("4", "ended", at(30)),
            Ev("5", "held", at(31)),
            Ev("6", "ended", at(40)),
        ]
    )
    assert call.ended_at == at(30) and call.wrapup_at is None
    assert [a["code"] for a in call.anomalies] == ["wrapup_before_end", "event_after_end"]


def test_a_call_ended_while_waiting_is_abandoned_with_its_wait():
    call = fold([Ev("1", "offered", at(0)), Ev("2", "queued", at(3), queue="card"), Ev("3", "ended", at(15))])
    assert call.abandoned and call.wait_ms == 12_000 and call.answered_at is None


def test_a_call_ended_in_the_ivr_is_not_abandoned():
    call = fold([Ev("1", "offered", at(0)), Ev("2", "ended", at(40))])
    assert call.public_state == "ended" and not call.abandoned and call.queued_at is None


def test_the_first_event_opens_the_call_whatever_its_type():
    call = fold([Ev("2", "queued", at(3), queue="card")])
    assert call.public_state == "queued" and call.started_at == at(3)
    call = fold([Ev("2", "queued", at(3), queue="card"), Ev("1", "offered", at(0))])
    assert call.started_at == at(0) and call.anomalies == []


def test_an_expired_offer_goes_back_to_the_queue_and_a_stale_expiry_is_ignored():
    call = fold(
        [
            Ev("1", "queued", at(0), queue="general"),
            Ev("2", "ringing", at(1), agent_id=A),
            Ev("3", "offer_expired", at(16), agent_id=A),
            Ev("4", "ringing", at(16), agent_id=B),
            Ev("5", "answered", at(18), agent_id=B),
            Ev("6", "offer_expired", at(31), agent_id=B),
        ]
    )
    assert call.public_state == "connected" and call.agent_id == B and call.missed_offers == 1
    assert call.queued_at == at(0) and call.wait_ms == 18_000


def test_transfer_to_a_queue_closes_the_first_leg_and_waits_again():
    call = fold(
        [
            Ev("1", "queued", at(0), queue="general"),
            Ev("2", "answered", at(5), agent_id=A),
            Ev("3", "held", at(10)),
            Ev("4", "transferred", at(20), queue="card"),
            Ev("5", "queued", at(20), queue="card"),
            Ev("6", "answered", at(30), agent_id=B),
            Ev("7", "ended", at(50)),
        ]
    )
    assert call.transfers == 1 and call.entry_queue == "general" and call.queue == "card"
    assert [leg["agent"] for leg in call.legs] == [A, B]
    assert call.hold_ms == 10_000  # the hold ends with the first leg
    assert call.talk_ms == (15_000 + 20_000) - 10_000
    assert call.agent_id == B and call.wait_ms == 5_000


def test_transfer_to_an_agent_rings_that_agent():
    call = fold(
        [
            Ev("1", "queued", at(0), queue="general"),
            Ev("2", "answered", at(5), agent_id=A),
            Ev("3", "transferred", at(20), agent_id=B),
        ]
    )
    assert call.public_state == "offered" and call.agent_id == B and call.legs[0]["ended"] == at(20)


def test_ivr_context_comes_from_the_first_event_carrying_it():
    call = fold(
        [
            Ev(
                "1",
                "queued",
                at(3),
                queue="card",
                data={"verified": True, "path": ["main", "account"], "customer_id": 7, "account_id": 9},
            ),
            Ev("2", "queued", at(4), queue="card", data={"verified": False, "path": []}),
        ]
    )
    assert call.verified and call.ivr_path == ["main", "account"] and call.customer_id == 7


def test_an_unverified_callers_customer_is_not_kept():
    call = fold([Ev("1", "queued", at(3), queue="card", data={"verified": False, "path": ["main"], "customer_id": 7})])
    assert call.customer_id is None and call.ivr_path == ["main"]


def test_durations_are_whole_milliseconds_exactly():
    """1.005 s is 1005 ms (``total_seconds() * 1000`` in floating point made it 1004)."""
    from datetime import timedelta

    from calls.cdr import _ms

    assert _ms(timedelta(seconds=1, microseconds=5000)) == 1005
    assert _ms(timedelta(microseconds=999)) == 0 and _ms(timedelta(seconds=-3)) == 0
