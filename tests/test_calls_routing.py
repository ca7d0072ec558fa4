"""Routing (DESIGN.md §6): the longest-idle ready agent with the skill; verified callers first;
an unanswered offer moves on after 15 s and the agent is set not ready; overflow; callback
offers; agents' call controls on their own calls only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentState, AgentStateLog, Callback
from calls import dispatch
from calls.models import Call
from calls.services import ivr_handoff
from calls.tests.helpers import event, status_of

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


def queue_call(committed, call_id: str, queue: str = "general", *, verified: bool = False, customer_id=None):
    return committed(
        ivr_handoff.call_enqueue_from_ivr,
        call_id=call_id,
        ani="13800000001",
        dnis="96123",
        queue=queue,
        verified=verified,
        customer_id=customer_id,
        account_id=None,
        path=["main", "agent"],
    )


def call(call_id: str) -> Call:
    return Call.objects.select_related("agent", "queue", "entry_queue").get(call_id=call_id)


def test_the_longest_idle_ready_agent_with_the_skill_gets_the_call(make_agent, committed):
    make_agent("recent", state=AgentState.READY, idle_for=10)
    longest = make_agent("longest", state=AgentState.READY, idle_for=300)
    make_agent("no-skill", state=AgentState.READY, idle_for=900, skills={"card": 5})
    make_agent("not-ready", state=AgentState.NOT_READY, idle_for=1000)
    queue_call(committed, "r-1")
    assert call("r-1").state == "offered" and call("r-1").agent == longest
    status = status_of(longest)
    assert status.state == AgentState.RINGING and status.call.call_id == "r-1"


def test_an_agent_below_the_queues_minimum_level_gets_no_call(make_agent, committed, queues):
    queues["card"].min_skill_level = 3
    queues["card"].save()
    make_agent("junior", state=AgentState.READY, idle_for=500, skills={"card": 2})
    senior = make_agent("senior", state=AgentState.READY, idle_for=5, skills={"card": 4})
    queue_call(committed, "lvl-1", "card")
    assert call("lvl-1").agent == senior


def test_a_waiting_call_rings_the_agent_who_becomes_ready(make_agent, committed):
    agent = make_agent("late", state=AgentState.NOT_READY)
    queue_call(committed, "w-1")
    assert call("w-1").state == "queued"
    committed(services_agent_ready, agent)
    assert call("w-1").agent == agent and status_of(agent).state == AgentState.RINGING


def services_agent_ready(agent):
    from agents.services import agent_state_set

    return agent_state_set(agent=agent, state="ready")


def test_verified_callers_are_served_first(make_agent, committed):
    agent = make_agent("only", state=AgentState.NOT_READY)
    queue_call(committed, "plain-early")
    queue_call(committed, "verified-late", verified=True, customer_id=None)
    committed(services_agent_ready, agent)
    assert call("verified-late").agent == agent and call("plain-early").state == "queued"


def test_without_priority_the_longest_waiting_call_is_served_first(make_agent, committed, settings):
    settings.CALLS_VERIFIED_PRIORITY = 0
    agent = make_agent("only", state=AgentState.NOT_READY)
    queue_call(committed, "plain-early")
    queue_call(committed, "verified-late", verified=True)
    committed(services_agent_ready, agent)
    assert call("plain-early").agent == agent


def test_an_unanswered_offer_moves_on_after_the_timeout_and_the_agent_is_not_ready(make_agent, committed):
    first = make_agent("first", state=AgentState.READY, idle_for=100)
    second = make_agent("second", state=AgentState.READY, idle_for=50)
    queue_call(committed, "t-1")
    assert call("t-1").agent == first
    offered = call("t-1").offer_expires_at
    assert offered is not None
    committed(dispatch.sweep, now=offered - timedelta(seconds=1))
    assert call("t-1").agent == first  # not yet
    committed(dispatch.sweep, now=offered + timedelta(seconds=1))
    assert call("t-1").agent == second and call("t-1").missed_offers == 1
    status = status_of(first)
    assert (status.state, status.reason, status.call) == (AgentState.NOT_READY, "missed_offer", None)
    assert AgentStateLog.objects.filter(agent=first, state="not_ready", reason="missed_offer").exists()


def test_the_offer_timeout_is_a_setting(make_agent, committed, settings):
    settings.CALLS_OFFER_TIMEOUT_S = 40
    make_agent("a", state=AgentState.READY)
    queue_call(committed, "t-2")
    c = call("t-2")
    assert c.offer_expires_at - c.offered_at == timedelta(seconds=40)


def test_a_caller_hanging_up_while_it_rings_puts_the_agent_back_first_in_line(make_agent, committed, switch):
    agent = make_agent("a", state=AgentState.READY, idle_for=600)
    make_agent("b", state=AgentState.READY, idle_for=10)
    queue_call(committed, "h-1")
    before = status_of(agent).ready_since
    committed(switch.post, "/api/cti/events/", event("h-1", "ended", timezone.now()), format="json")
    status = status_of(agent)
    assert status.state == AgentState.READY and status.call is None and status.ready_since == before
    assert call("h-1").abandoned
    queue_call(committed, "h-2")
    assert call("h-2").agent == agent


def test_overflow_to_the_general_queue_after_waiting(make_agent, committed):
    general = make_agent("gen", state=AgentState.NOT_READY, skills={"general": 3})
    queue_call(committed, "o-1", "card")
    committed(services_agent_ready, general)
    assert call("o-1").state == "queued"  # no card agent yet; not overflowed yet
    committed(dispatch.sweep, now=timezone.now() + timedelta(seconds=46))
    c = call("o-1")
    assert c.agent == general and c.queue.code == "general" and c.entry_queue.code == "card"
    assert c.overflowed_at is not None


def test_a_long_wait_gets_a_callback_offer_that_the_caller_can_accept(make_agent, committed, switch):
    queue_call(committed, "cb-1")
    assert switch.get("/api/calls/cb-1/").json()["callback_offer"] is False
    refused = switch.post("/api/calls/cb-1/callback/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_callback_offer"
    committed(dispatch.sweep, now=timezone.now() + timedelta(seconds=91))
    assert switch.get("/api/calls/cb-1/").json()["callback_offer"] is True
    accepted = committed(switch.post, "/api/calls/cb-1/callback/", {}, format="json")
    assert accepted.status_code == 201
    assert accepted.json()["phone"] == "13800000001" and accepted.json()["queue"] == "general"
    c = call("cb-1")
    assert c.state == "ended" and c.end_reason == "callback"
    again = switch.post("/api/calls/cb-1/callback/", {}, format="json")
    assert again.status_code == 201 and again.json()["id"] == accepted.json()["id"]
    assert Callback.objects.count() == 1


def test_the_agent_handles_the_call_end_to_end(make_agent, committed, as_user):
    agent = make_agent("a", state=AgentState.READY)
    queue_call(committed, "e-1")
    client = as_user(agent)
    assert committed(client.post, "/api/calls/e-1/answer/").json()["state"] == "connected"
    assert status_of(agent).state == AgentState.ON_CALL
    assert committed(client.post, "/api/calls/e-1/hold/").json()["held"] is True
    assert committed(client.post, "/api/calls/e-1/retrieve/").json()["held"] is False
    ended = committed(client.post, "/api/calls/e-1/hangup/").json()
    assert ended["state"] == "ended" and ended["end_reason"] == "agent_hangup"
    assert status_of(agent).state == AgentState.ACW
    wrapped = committed(client.post, "/api/calls/e-1/wrapup/", {"disposition": "resolved", "note": "ok"}, format="json")
    assert wrapped.status_code == 200 and wrapped.json()["disposition"] == "resolved"
    assert status_of(agent).state == AgentState.READY
    again = client.post("/api/calls/e-1/wrapup/", {"disposition": "resolved"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_wrapped_up"


def test_an_agent_cannot_touch_a_call_that_is_not_theirs(make_agent, committed, as_user):
    owner = make_agent("owner", state=AgentState.READY, idle_for=100)
    other = make_agent("other", state=AgentState.READY, idle_for=1)
    queue_call(committed, "n-1")
    assert call("n-1").agent == owner
    stranger = as_user(other)
    answer = stranger.post("/api/calls/n-1/answer/")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_offered_to_you"
    committed(as_user(owner).post, "/api/calls/n-1/answer/")
    for action in ("hold", "retrieve", "hangup"):
        response = stranger.post(f"/api/calls/n-1/{action}/")
        assert response.status_code == 409 and response.json()["error"]["code"] == "not_your_call"
    wrap = stranger.post("/api/calls/n-1/wrapup/", {"disposition": "resolved"}, format="json")
    assert wrap.status_code == 409 and wrap.json()["error"]["code"] == "not_your_call"
    missing = stranger.post("/api/calls/nope/answer/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "call_not_found"
    assert call("n-1").agent == owner and call("n-1").state == "connected"


def test_wrapup_before_hanging_up_is_refused(make_agent, committed, as_user):
    agent = make_agent("a", state=AgentState.READY)
    queue_call(committed, "wb-1")
    client = as_user(agent)
    committed(client.post, "/api/calls/wb-1/answer/")
    response = client.post("/api/calls/wb-1/wrapup/", {"disposition": "resolved"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "call_not_ended"
    bad = client.post("/api/calls/wb-1/wrapup/", {"disposition": "fine"}, format="json")
    assert bad.status_code == 400


def test_transfer_to_a_queue_routes_to_that_queues_agent(make_agent, committed, as_user):
    first = make_agent("first", state=AgentState.READY, skills={"general": 3})
    card = make_agent("card", state=AgentState.READY, skills={"card": 3})
    queue_call(committed, "x-1")
    client = as_user(first)
    committed(client.post, "/api/calls/x-1/answer/")
    response = committed(client.post, "/api/calls/x-1/transfer/", {"queue": "card"}, format="json")
    assert response.status_code == 200
    c = call("x-1")
    assert c.state == "offered" and c.agent == card and c.transfers == 1
    assert status_of(first).state == AgentState.ACW


def test_transfer_to_a_ready_agent_rings_them(make_agent, committed, as_user):
    first = make_agent("first", state=AgentState.READY, idle_for=100)
    target = make_agent("target", state=AgentState.NOT_READY)
    queue_call(committed, "x-2")
    client = as_user(first)
    committed(client.post, "/api/calls/x-2/answer/")
    busy = client.post("/api/calls/x-2/transfer/", {"agent": "target"}, format="json")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "agent_unavailable"
    committed(services_agent_ready, target)
    committed(client.post, "/api/calls/x-2/transfer/", {"agent": "target"}, format="json")
    assert call("x-2").agent == target and status_of(target).state == AgentState.RINGING
    bad = client.post("/api/calls/x-2/transfer/", {"queue": "card", "agent": "target"}, format="json")
    assert bad.status_code in (400, 409)


def test_forgotten_after_call_work_is_closed_automatically(make_agent, committed, as_user, settings):
    settings.AGENTS_ACW_TIMEOUT_S = 60
    agent = make_agent("a", state=AgentState.READY)
    queue_call(committed, "acw-1")
    client = as_user(agent)
    committed(client.post, "/api/calls/acw-1/answer/")
    committed(client.post, "/api/calls/acw-1/hangup/")
    committed(dispatch.sweep, now=timezone.now() + timedelta(seconds=61))
    assert call("acw-1").disposition == "auto" and status_of(agent).state == AgentState.READY


def test_wrapup_can_record_a_complaint(make_agent, committed, as_user):
    from tickets.models import Ticket

    agent = make_agent("a", state=AgentState.READY)
    queue_call(committed, "tk-1")
    client = as_user(agent)
    committed(client.post, "/api/calls/tk-1/answer/")
    committed(client.post, "/api/calls/tk-1/hangup/")
    response = committed(
        client.post,
        "/api/calls/tk-1/wrapup/",
        {
            "disposition": "complaint",
            "note": "ATM",
            "ticket": {"kind": "complaint", "category": "atm_mispost", "description": "ATM did not dispense 500 yuan"},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get(call_id="tk-1")
    assert ticket.kind == "complaint" and ticket.category == "atm_mispost"


def test_a_bad_ticket_refuses_the_whole_wrapup(make_agent, committed, as_user):
    agent = make_agent("a", state=AgentState.READY)
    queue_call(committed, "tk-2")
    client = as_user(agent)
    committed(client.post, "/api/calls/tk-2/answer/")
    committed(client.post, "/api/calls/tk-2/hangup/")
    response = client.post(
        "/api/calls/tk-2/wrapup/",
        {"disposition": "complaint", "ticket": {"kind": "complaint", "category": "nope", "description": "x"}},
        format="json",
    )
    assert 400 <= response.status_code < 500
    assert call("tk-2").wrapup_at is None and status_of(agent).state == AgentState.ACW


def test_the_ivr_transfer_is_idempotent_and_falls_back_to_the_default_queue(committed, caplog):
    queue_call(committed, "ivr-1", "no-such-queue")
    queue_call(committed, "ivr-1", "no-such-queue")
    c = call("ivr-1")
    assert c.queue.code == "general" and c.event_count == 2 and c.ivr_path == ["main", "agent"]
    assert "unknown queue" in caplog.text
