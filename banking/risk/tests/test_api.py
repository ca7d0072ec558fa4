"""``/api/risk/``: the list's exact shape (DESIGN.md §6), who may read (risk officer, director),
who may raise (the agent on their call), and the workflow with its append-only history."""

from __future__ import annotations

import pytest

from agents.models import AgentState
from audit.models import AuditEvent
from banking import call_port
from banking.risk.models import Alert, AlertLog
from calls.services import ivr_handoff
from org.roles import Role
from tests.factories import make_staff

from .conftest import transfer

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

URL = "/api/risk/alerts/"
ITEM_KEYS = {"id", "rule", "customer", "created_at", "status", "details"}


@pytest.fixture
def large_alert(monitor, pb):
    transfer(pb, "30000.00", call_id="call-big")
    monitor()
    return Alert.objects.get()


def test_the_list_is_paginated_and_each_item_has_exactly_the_contract_keys(api_for, risk_officer, large_alert, pb):
    body = api_for(risk_officer).get(URL).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    [item] = body["results"]
    assert set(item) == ITEM_KEYS
    assert item["id"] == large_alert.pk and item["rule"] == "large_transfer" and item["status"] == "open"
    assert item["customer"] == pb.customer.pk
    assert item["details"]["amount"] == "30000.00"
    assert item["created_at"].endswith("+08:00")


def test_the_list_filters_by_status_and_rule(api_for, director, large_alert, risk_officer):
    client = api_for(director)
    assert client.get(URL, {"status": "active"}).json()["count"] == 1
    assert client.get(URL, {"rule": "lockouts"}).json()["count"] == 0
    assert client.get(URL, {"status": "closed"}).json()["count"] == 0
    bad = client.get(URL, {"status": "nonsense"})
    assert bad.status_code == 400 and bad.json()["error"]["code"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.ANALYST, Role.MAINTAINER, Role.UNIT_STAFF])
def test_only_the_risk_officer_and_the_director_read_alerts(api_for, role, large_alert):
    client = api_for(make_staff(role))
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{large_alert.pk}/").status_code == 403
    response = client.post(f"{URL}{large_alert.pk}/close/", {"outcome": "false_positive"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"]
    assert Alert.objects.get().status == Alert.Status.OPEN


def test_anonymous_gets_nothing(api_client, large_alert):
    assert api_client.get(URL).status_code in (401, 403)


def test_the_workflow_assign_comment_escalate_close_is_recorded(api_for, risk_officer, director, large_alert):
    client = api_for(risk_officer)
    base = f"{URL}{large_alert.pk}/"
    assert client.post(f"{base}assign/", {"assignee": risk_officer.pk}, format="json").json()["status"] == "assigned"
    comment = client.post(f"{base}comment/", {"note": "customer called back"}, format="json")
    assert comment.status_code == 201 and comment.json()["note"] == "customer called back"
    assert client.post(f"{base}escalate/", {"note": "pattern repeats"}, format="json").json()["status"] == "escalated"
    assert client.post(f"{base}assign/", {"assignee": director.pk}, format="json").json()["status"] == "escalated"
    closed = client.post(f"{base}close/", {"outcome": "reported_to_department", "note": "sent"}, format="json")
    assert closed.status_code == 200 and set(closed.json()) == ITEM_KEYS and closed.json()["status"] == "closed"
    again = client.post(f"{base}close/", {"outcome": "false_positive"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "alert_closed"

    detail = client.get(base).json()
    assert detail["outcome"] == "reported_to_department" and detail["assignee"] == director.pk
    assert [h["action"] for h in detail["history"]] == [
        "raised",
        "assigned",
        "commented",
        "escalated",
        "assigned",
        "closed",
    ]
    assert detail["evidence"][0]["call_id"] == "call-big"
    actions = list(AuditEvent.objects.filter(object_type="risk_alert").order_by("id").values_list("action", flat=True))
    assert actions == [
        "risk.alert_raised",
        "risk.alert_assigned",
        "risk.alert_commented",
        "risk.alert_escalated",
        "risk.alert_assigned",
        "risk.alert_closed",
    ]
    assert AlertLog.objects.filter(alert=large_alert).count() == 6


def test_an_alert_is_assigned_only_to_a_risk_officer_or_the_director(api_for, risk_officer, large_alert):
    agent = make_staff(Role.AGENT)
    response = api_for(risk_officer).post(f"{URL}{large_alert.pk}/assign/", {"assignee": agent.pk}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "bad_assignee"


def test_closing_needs_a_known_outcome(api_for, risk_officer, large_alert):
    response = api_for(risk_officer).post(f"{URL}{large_alert.pk}/close/", {"outcome": "maybe"}, format="json")
    assert response.status_code == 400
    assert Alert.objects.get().status == Alert.Status.OPEN


# --- an agent raises an alert from their call ----------------------------------------------------


def facts(monkeypatch, **values):
    defaults = {
        "call_id": "c-1",
        "agent_id": None,
        "in_hand": True,
        "customer_id": None,
        "identified_by": "",
        "is_test": False,
    }
    found = call_port.CallFacts(**{**defaults, **values})
    monkeypatch.setattr(call_port, "_call_facts", [lambda call_id: found if call_id == found.call_id else None])


def test_an_agent_raises_an_alert_on_their_call_once_per_call(api_for, agent, monkeypatch, pb, risk_officer):
    facts(monkeypatch, agent_id=agent.pk, customer_id=pb.customer.pk, identified_by="ivr")
    client = api_for(agent)
    response = client.post(URL, {"call_id": "c-1", "note": "caller reads numbers from a paper"}, format="json")
    assert response.status_code == 201
    item = response.json()
    assert set(item) == ITEM_KEYS and item["rule"] == "agent_report" and item["customer"] == pb.customer.pk
    again = client.post(URL, {"call_id": "c-1", "note": "and a third party prompts"}, format="json")
    assert again.json()["id"] == item["id"]
    alert = Alert.objects.get()
    assert alert.raised_by == agent and alert.hits == 2 and alert.evidence.count() == 2
    assert client.get(URL).status_code == 403  # agents raise, never read
    assert api_for(risk_officer).get(URL).json()["results"][0]["id"] == alert.pk


def test_an_agent_cannot_raise_on_someone_elses_call_or_an_unknown_one(api_for, agent, monkeypatch):
    facts(monkeypatch, agent_id=agent.pk + 1000)
    client = api_for(agent)
    other = client.post(URL, {"call_id": "c-1", "note": "x"}, format="json")
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_your_call"
    unknown = client.post(URL, {"call_id": "nope", "note": "x"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "call_not_found"
    assert Alert.objects.count() == 0


def test_the_risk_officer_does_not_raise_agent_reports(api_for, risk_officer, monkeypatch):
    facts(monkeypatch, agent_id=risk_officer.pk)
    assert api_for(risk_officer).post(URL, {"call_id": "c-1", "note": "x"}, format="json").status_code == 403


def test_an_agent_reports_from_a_real_call_in_hand(committed, make_agent, as_user, pb):
    """End to end through the calls side's port: the call the agent answered, its verified caller."""
    agent = make_agent("risk-a1", state=AgentState.READY)
    committed(
        ivr_handoff.call_enqueue_from_ivr,
        call_id="risk-call-1",
        ani=pb.customer.mobile,
        dnis="96123",
        queue="general",
        verified=True,
        customer_id=pb.customer.pk,
        account_id=pb.card.pk,
        path=["main", "account", "agent"],
    )
    client = as_user(agent)
    assert committed(client.post, "/api/calls/risk-call-1/answer/").json()["state"] == "connected"
    response = client.post(URL, {"call_id": "risk-call-1", "note": "suspicious coaching"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["customer"] == pb.customer.pk
