"""Agent states (DESIGN.md §6 ``POST /api/agents/me/state/``): ready, not ready with a reason,
offline; after-call work; every change in the append-only state log; team leads change an
agent's state or skills (audited)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentSkill, AgentState, AgentStateLog, AgentStatus
from audit.models import AppendOnlyError, AuditEvent
from calls.models import Call
from calls.services import ivr_handoff
from calls.tests.helpers import status_of
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

ME = "/api/agents/me/state/"


def set_state(client, state, reason=""):
    return client.post(ME, {"state": state, "reason": reason}, format="json")


def test_a_shift_login_ready_not_ready_and_logout_are_logged(make_agent, as_user, committed):
    agent = make_agent("a")
    client = as_user(agent)
    assert committed(set_state, client, "ready").json()["state"] == "ready"
    status = status_of(agent)
    assert status.shift_started_at is not None and status.ready_since is not None
    body = committed(set_state, client, "not_ready", "meal").json()
    assert (body["state"], body["reason"]) == ("not_ready", "meal")
    assert committed(set_state, client, "offline").json()["state"] == "offline"
    assert status_of(agent).shift_started_at is None
    log = list(
        AgentStateLog.objects.filter(agent=agent).order_by("pk").values_list("previous_state", "state", "reason")
    )
    assert log == [("offline", "ready", ""), ("ready", "not_ready", "meal"), ("not_ready", "offline", "")]


def test_not_ready_needs_a_reason_an_agent_may_choose(make_agent, as_user):
    client = as_user(make_agent("a"))
    assert set_state(client, "not_ready").json()["error"]["code"] == "reason_required"
    assert set_state(client, "not_ready", "nap").json()["error"]["code"] == "invalid_reason"
    assert set_state(client, "not_ready", "missed_offer").json()["error"]["code"] == "invalid_reason"
    assert set_state(client, "on_call").status_code == 400
    assert client.post(ME, {"state": "ready", "mood": "good"}, format="json").json()["error"]["code"] == "unknown_field"


@pytest.mark.parametrize("reason", ["meal", "training", "meeting", "break", "coaching", "callbacks", "paperwork"])
def test_reason_codes(make_agent, as_user, reason):
    response = set_state(as_user(make_agent()), "not_ready", reason)
    assert response.status_code == 200 and response.json()["reason"] == reason


def test_an_agent_on_a_call_cannot_change_state_and_after_call_work_must_be_finished(make_agent, as_user, committed):
    agent = make_agent("a", state=AgentState.READY)
    committed(ivr_handoff.call_enqueue_from_ivr, call_id="s-1", ani="1", dnis="2", queue="general")
    client = as_user(agent)
    committed(client.post, "/api/calls/s-1/answer/")
    response = set_state(client, "offline")
    assert response.status_code == 409 and response.json()["error"]["code"] == "on_call"
    committed(client.post, "/api/calls/s-1/hangup/")
    response = set_state(client, "ready")
    assert response.status_code == 409 and response.json()["error"]["code"] == "wrapup_pending"
    assert status_of(agent).state == AgentState.ACW


def test_going_not_ready_while_ringing_sends_the_call_back_to_the_queue(make_agent, as_user, committed):
    agent = make_agent("a", state=AgentState.READY, idle_for=60)
    committed(ivr_handoff.call_enqueue_from_ivr, call_id="s-2", ani="1", dnis="2", queue="general")
    assert status_of(agent).state == AgentState.RINGING
    response = committed(set_state, as_user(agent), "not_ready", "meeting")
    assert response.status_code == 200 and response.json()["reason"] == "meeting"
    call = Call.objects.get(call_id="s-2")
    assert call.state == "queued" and call.agent is None
    assert status_of(agent).call is None


def test_a_team_lead_changes_an_agents_state_and_it_is_audited(make_agent, as_user, committed):
    agent = make_agent("a", state=AgentState.READY)
    lead = make_staff(Role.TEAM_LEAD, username="lead")
    response = committed(as_user(lead).post, "/api/agents/a/state/", {"state": "not_ready"}, format="json")
    assert response.status_code == 200 and response.json()["reason"] == "supervisor"
    event = AuditEvent.objects.get(action="agents.state_set")
    assert event.actor == lead and event.object_id == "a"
    log = AgentStateLog.objects.filter(agent=agent).latest("pk")
    assert log.actor == lead


def test_a_team_lead_closes_pending_after_call_work(make_agent, as_user, committed):
    agent = make_agent("a", state=AgentState.READY)
    committed(ivr_handoff.call_enqueue_from_ivr, call_id="s-3", ani="1", dnis="2", queue="general")
    client = as_user(agent)
    committed(client.post, "/api/calls/s-3/answer/")
    committed(client.post, "/api/calls/s-3/hangup/")
    lead = as_user(make_staff(Role.TEAM_LEAD))
    response = committed(lead.post, "/api/agents/a/state/", {"state": "offline"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "offline"
    assert Call.objects.get(call_id="s-3").disposition == "auto"


def test_a_team_lead_edits_skills_and_it_is_audited(make_agent, as_user):
    make_agent("a", skills={"general": 2})
    lead = make_staff(Role.TEAM_LEAD, username="lead")
    response = as_user(lead).put(
        "/api/agents/a/skills/",
        {"skills": [{"queue": "card", "level": 4}, {"queue": "general", "level": 3}]},
        format="json",
    )
    assert response.status_code == 200
    assert sorted((s.queue.code, s.level) for s in AgentSkill.objects.filter(agent__username="a")) == [
        ("card", 4),
        ("general", 3),
    ]
    event = AuditEvent.objects.get(action="agents.skills_set")
    assert event.details == {"before": {"general": 2}, "after": {"card": 4, "general": 3}}
    bad = as_user(lead).put("/api/agents/a/skills/", {"skills": [{"queue": "nope", "level": 4}]}, format="json")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_queue"
    level = as_user(lead).put("/api/agents/a/skills/", {"skills": [{"queue": "card", "level": 9}]}, format="json")
    assert level.status_code == 400


@pytest.mark.parametrize("role", [Role.AGENT, Role.DIRECTOR, Role.ANALYST, Role.SWITCH])
def test_only_team_leads_change_other_agents(make_agent, as_user, role):
    make_agent("a")
    client = as_user(make_staff(role))
    assert client.post("/api/agents/a/state/", {"state": "ready"}, format="json").status_code == 403
    assert client.put("/api/agents/a/skills/", {"skills": []}, format="json").status_code == 403


def test_unknown_agents_are_refused(as_user):
    lead = as_user(make_staff(Role.TEAM_LEAD))
    response = lead.post("/api/agents/nobody/state/", {"state": "ready"}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_agent"
    analyst = make_staff(Role.ANALYST, username="not-an-agent")
    assert lead.post(f"/api/agents/{analyst.username}/state/", {"state": "ready"}, format="json").status_code == 422


@pytest.mark.parametrize("role", [Role.ANALYST, Role.MAINTAINER, Role.SWITCH, Role.UNIT_STAFF])
def test_only_call_takers_have_a_state(as_user, role):
    assert set_state(as_user(make_staff(role)), "ready").status_code == 403


def test_the_state_log_is_append_only(make_agent, as_user, committed):
    agent = make_agent("a")
    committed(set_state, as_user(agent), "ready")
    row = AgentStateLog.objects.get(agent=agent)
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        AgentStateLog.objects.filter(agent=agent).delete()


def test_me_resyncs_the_desk(make_agent, as_user, committed):
    agent = make_agent("a", state=AgentState.READY)
    committed(
        ivr_handoff.call_enqueue_from_ivr,
        call_id="s-4",
        ani="13800000001",
        dnis="2",
        queue="general",
        verified=False,
        path=["main"],
    )
    desk = as_user(agent).get("/api/agents/me/").json()
    assert desk["status"]["state"] == "ringing"
    assert desk["current"]["call_id"] == "s-4" and desk["current"]["ivr"]["path"] == ["main"]
    assert desk["current"]["ivr"]["verified"] is False


def test_an_agent_without_a_status_row_starts_offline(as_user):
    agent = make_staff(Role.AGENT, username="fresh")
    desk = as_user(agent).get("/api/agents/me/").json()
    assert desk["status"]["state"] == "offline" and AgentStatus.objects.filter(user=agent).exists()


def test_callbacks_are_scheduled_listed_and_completed(make_agent, as_user):
    agent = make_agent("a", skills={"card": 3})
    other = make_agent("b", skills={"general": 3})
    client = as_user(agent)
    created = client.post(
        "/api/agents/callbacks/",
        {
            "phone": "13800000002",
            "queue": "card",
            "due_at": (timezone.now() + timedelta(hours=2)).isoformat(),
            "note": "rates",
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["assigned_to"] == "a"
    assert [c["phone"] for c in client.get("/api/agents/callbacks/").json()["results"]] == ["13800000002"]
    assert as_user(other).get("/api/agents/callbacks/").json()["count"] == 0
    pk = created.json()["id"]
    assert (
        as_user(other).post(f"/api/agents/callbacks/{pk}/complete/", {"outcome": "done"}, format="json").status_code
        == 404
    )
    failed = client.post(f"/api/agents/callbacks/{pk}/complete/", {"outcome": "failed"}, format="json").json()
    assert failed["status"] == "open" and failed["attempts"] == 1
    done = client.post(f"/api/agents/callbacks/{pk}/complete/", {"outcome": "done", "note": "told"}, format="json")
    assert done.json()["status"] == "done"
    closed = client.post(f"/api/agents/callbacks/{pk}/complete/", {"outcome": "done"}, format="json")
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "callback_closed"
