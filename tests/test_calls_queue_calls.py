"""A queue's calls (issue 12 point 3, docs/cti.md "A queue's calls"): the wallboard's tiles, its
agent rows and the KPIs count a call under the same queue — a move before the answer (the switch
re-queueing an IVR transfer, a transfer while waiting) takes the call along, an overflow does
not, and a transfer after the answer shows the call waiting in its new queue while the figures
of its first wait stay where it was answered."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentState
from calls import cdr, dispatch
from calls.selectors import wallboard_snapshot
from calls.services import control, ivr_handoff
from reports.selectors import call_figures_raw as call_kpis

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


def tiles() -> dict[str, dict]:
    return {q["code"]: q for q in wallboard_snapshot()["queues"]}


def counts(code: str) -> tuple[int, int, int]:
    tile = tiles()[code]
    return tile["waiting"], tile["offered_today"], tile["answered_today"]


def kpi(code: str) -> tuple[int, int]:
    today = timezone.localdate()
    figures = call_kpis(date_from=today, date_to=today, queue=code)
    return figures["offered"], figures["answered"]


def cti(committed, switch, *events):
    response = committed(switch.post, "/api/cti/events/", list(events), format="json")
    assert response.status_code == 200 and response.json()["rejected"] == 0, response.content
    return response


def ev(call_id: str, type_: str, at, **extra) -> dict:
    return {
        "event_id": f"{call_id}-{type_}-{at.timestamp()}",
        "call_id": call_id,
        "type": type_,
        "ts": at.isoformat(),
        **extra,
    }


def test_a_call_the_switch_requeues_before_the_answer_is_the_new_queues(make_agent, committed, switch):
    """The simulator's case: the IVR hands the caller to ``general``, the switch then queues it in
    ``card``, where a card agent answers it — card's tile counts it, general's does not."""
    card_agent = make_agent("card-a", state=AgentState.NOT_READY, skills={"card": 3})
    committed(ivr_handoff.call_enqueue_from_ivr, call_id="qc-1", ani="13900000001", dnis="96123", queue="general")
    now = timezone.now()
    cti(committed, switch, ev("qc-1", "queued", now, queue="card"))
    assert counts("card")[0] == 1 and counts("general")[0] == 0
    from agents.services import agent_state_set

    committed(agent_state_set, agent=card_agent, state="ready")
    committed(control.call_answer, call_id="qc-1", user=card_agent)
    row = next(a for a in wallboard_snapshot()["agents"] if a["username"] == "card-a")
    assert row["queue"] == "card"
    assert counts("card") == (0, 1, 1) and counts("general") == (0, 0, 0)
    assert kpi("card") == (1, 1) and kpi("general") == (0, 0)


def test_an_overflowed_call_stays_its_first_queues_call(make_agent, committed, switch):
    general_agent = make_agent("gen-o", state=AgentState.NOT_READY, skills={"general": 3})
    cti(committed, switch, ev("qc-2", "queued", timezone.now() - timedelta(seconds=50), queue="card"))
    from calls.models import Call

    committed(dispatch.sweep)  # card (overflow after 45 s) overflows to general
    call = Call.objects.select_related("queue").get(call_id="qc-2")
    assert call.overflowed_at is not None and call.queue.code == "general" and call.state == "queued"
    assert counts("card")[0] == 1 and counts("general")[0] == 0  # still waiting as card's call
    assert tiles()["card"]["longest_wait_s"] >= 0
    from agents.services import agent_state_set

    committed(agent_state_set, agent=general_agent, state="ready")
    committed(control.call_answer, call_id="qc-2", user=general_agent)
    row = next(a for a in wallboard_snapshot()["agents"] if a["username"] == "gen-o")
    assert row["queue"] == "card"
    assert counts("card") == (0, 1, 1) and counts("general") == (0, 0, 0)
    assert kpi("card") == (1, 1) and kpi("general") == (0, 0)


def test_a_transfer_while_waiting_moves_the_call(committed, switch, queues):
    now = timezone.now()
    cti(committed, switch, ev("qc-3", "queued", now, queue="general"))
    cti(committed, switch, ev("qc-3", "transferred", now + timedelta(seconds=3), queue="complaint"))
    assert counts("complaint") == (1, 1, 0) and counts("general") == (0, 0, 0)
    cti(committed, switch, ev("qc-3", "ended", now + timedelta(seconds=9)))
    assert counts("complaint") == (0, 1, 0)
    assert tiles()["complaint"]["abandoned_today"] == 1 and kpi("complaint") == (1, 0)


def test_a_transfer_after_the_answer_waits_in_the_new_queue_but_is_counted_where_it_was_answered(make_agent, committed):
    general_agent = make_agent("gen-t", state=AgentState.READY, skills={"general": 3})
    committed(ivr_handoff.call_enqueue_from_ivr, call_id="qc-4", ani="13900000004", dnis="96123", queue="general")
    committed(control.call_answer, call_id="qc-4", user=general_agent)
    committed(control.call_transfer, call_id="qc-4", user=general_agent, queue="complaint")
    assert counts("complaint")[0] == 1 and counts("general")[0] == 0  # waiting where it waits now
    assert counts("general")[1:] == (1, 1) and counts("complaint")[1:] == (0, 0)  # one call, counted once
    assert kpi("general") == (1, 1) and kpi("complaint") == (0, 0)


def test_the_queues_of_a_call_do_not_depend_on_the_arrival_order():
    t0 = timezone.now()
    events = [
        cdr_event("a", "queued", t0, queue="general"),
        cdr_event("b", "queued", t0 + timedelta(seconds=1), queue="card"),
        cdr_event("c", "queued", t0 + timedelta(seconds=40), queue="general", data={"reason": "overflow"}),
        cdr_event("d", "ringing", t0 + timedelta(seconds=41), agent_id=7),
        cdr_event("e", "answered", t0 + timedelta(seconds=43), agent_id=7),
        cdr_event("f", "transferred", t0 + timedelta(seconds=90), queue="complaint"),
    ]
    expected = cdr.fold(events)
    assert (expected.entry_queue, expected.home_queue, expected.service_queue) == ("general", "complaint", "card")
    rng = random.Random(12)
    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        folded = cdr.fold(shuffled)
        assert (folded.home_queue, folded.service_queue, folded.queue) == ("complaint", "card", "complaint")


class cdr_event:  # noqa: N801 - a tiny stand-in for CallEvent
    def __init__(self, event_id, type_, ts, *, queue="", agent_id=None, data=None):
        self.event_id, self.type, self.ts = event_id, type_, ts
        self.queue, self.agent_id, self.data = queue, agent_id, data or {}
