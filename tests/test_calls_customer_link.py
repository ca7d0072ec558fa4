"""An unknown caller identified by the agent ("this is the caller"): the customer is linked to the
agent's own call (an event on the call; the screen-pop says "linked by the agent", not verified)
and to the contacts recorded for it, audited; the wrap-up's contact keeps the caller's number and
the customer, and the wrap-up answer names the record made (工单号 / 登记号)."""

from __future__ import annotations

import pytest

from agents.models import AgentState
from audit.models import AuditEvent
from calls.models import Call, CallEvent
from calls.services import ivr_handoff
from tests.factories_banking import AccountFactory

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

ANI = "13700000077"  # nobody's mobile: the caller is unknown


def _answered(committed, as_user, make_agent, call_id: str, *, username: str = "a"):
    agent = make_agent(username, state=AgentState.READY)
    committed(
        ivr_handoff.call_enqueue_from_ivr,
        call_id=call_id,
        ani=ANI,
        dnis="96123",
        queue="general",
        verified=False,
        customer_id=None,
        account_id=None,
        path=["main", "agent"],
    )
    client = as_user(agent)
    assert committed(client.post, f"/api/calls/{call_id}/answer/").json()["state"] == "connected"
    return agent, client


@pytest.fixture
def customer(db):
    return AccountFactory(opening_fen=100_000).customer


def test_the_agent_links_the_caller_to_the_call(make_agent, committed, as_user, customer):
    agent, client = _answered(committed, as_user, make_agent, "lk-1")
    pop = client.get("/api/calls/lk-1/screen-pop/").json()
    assert pop["customer"] is None or pop["customer"]["id"] is None
    response = committed(client.post, "/api/calls/lk-1/customer/", {"customer": customer.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"]["id"] == customer.pk and body["customer"]["match"] == "agent"
    assert body["ivr"]["verified"] is False
    call = Call.objects.get(call_id="lk-1")
    assert call.customer_id == customer.pk and call.customer_source == "agent" and not call.verified
    assert CallEvent.objects.filter(call=call, type="customer_linked").count() == 1
    audit = AuditEvent.objects.get(action="calls.customer_link")
    assert audit.actor == agent and audit.details["customer"] == customer.pk and audit.object_id == "lk-1"
    # The link survives the rest of the call's events (the call is rebuilt from all of them).
    committed(client.post, "/api/calls/lk-1/hangup/")
    assert Call.objects.get(call_id="lk-1").customer_id == customer.pk


def test_the_wrapup_contact_keeps_the_caller_number_and_the_linked_customer(make_agent, committed, as_user, customer):
    from tickets.models import Ticket

    _agent, client = _answered(committed, as_user, make_agent, "lk-2")
    committed(client.post, "/api/calls/lk-2/hangup/")
    # Identified during after-call work: still allowed.
    committed(client.post, "/api/calls/lk-2/customer/", {"customer": customer.pk}, format="json")
    response = committed(
        client.post,
        "/api/calls/lk-2/wrapup/",
        {
            "disposition": "complaint",
            "ticket": {"kind": "complaint", "category": "atm_mispost", "description": "ATM未出钞200元"},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get(call_id="lk-2")
    assert ticket.caller_number == ANI and ticket.customer_id == customer.pk
    record = response.json()["ticket"]
    assert record == {"id": ticket.pk, "number": ticket.number, "kind": "complaint", "url": f"/tickets/{ticket.pk}/"}


def test_wrapup_without_a_record_names_none(make_agent, committed, as_user):
    _agent, client = _answered(committed, as_user, make_agent, "lk-3")
    committed(client.post, "/api/calls/lk-3/hangup/")
    response = committed(client.post, "/api/calls/lk-3/wrapup/", {"disposition": "resolved"}, format="json")
    assert response.json()["ticket"] is None


def test_contacts_already_recorded_for_the_call_are_linked_too(make_agent, committed, as_user, customer, staff):
    from tickets.models import TicketEvent
    from tickets.services.contacts import ticket_create

    agent, client = _answered(committed, as_user, make_agent, "lk-4")
    ticket = ticket_create(
        actor=agent, kind="complaint", category="atm_mispost", description="ATM未出钞", call_id="lk-4"
    )
    assert ticket.customer_id is None and ticket.caller_number == ANI
    committed(client.post, "/api/calls/lk-4/customer/", {"customer": customer.pk}, format="json")
    ticket.refresh_from_db()
    assert ticket.customer_id == customer.pk
    event = TicketEvent.objects.get(ticket=ticket, action="customer_link")
    assert event.actor_username == agent.username and event.after["customer"] == str(customer)
    assert AuditEvent.objects.filter(action="tickets.customer_link", object_id=str(ticket.pk)).exists()


def test_only_the_agents_own_call_in_hand(make_agent, committed, as_user, customer):
    _owner, _client = _answered(committed, as_user, make_agent, "lk-5")
    stranger = as_user(make_agent("b", state=AgentState.READY))
    response = stranger.post("/api/calls/lk-5/customer/", {"customer": customer.pk}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_your_call"
    assert Call.objects.get(call_id="lk-5").customer_id is None


def test_a_wrapped_up_call_can_no_longer_be_linked(make_agent, committed, as_user, customer):
    _agent, client = _answered(committed, as_user, make_agent, "lk-6")
    committed(client.post, "/api/calls/lk-6/hangup/")
    committed(client.post, "/api/calls/lk-6/wrapup/", {"disposition": "resolved"}, format="json")
    response = client.post("/api/calls/lk-6/customer/", {"customer": customer.pk}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "call_not_active"


def test_an_unknown_customer_is_refused(make_agent, committed, as_user):
    _agent, client = _answered(committed, as_user, make_agent, "lk-7")
    response = client.post("/api/calls/lk-7/customer/", {"customer": 999_999}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_customer"
    bad = client.post("/api/calls/lk-7/customer/", {"customer": "٣"}, format="json")
    assert bad.status_code == 400


def test_the_switch_cannot_send_a_customer_link(switch):
    from django.utils import timezone

    from calls.tests.helpers import event

    body = event("lk-8", "customer_linked", timezone.now(), customer_id=1)
    response = switch.post("/api/cti/events/", body, format="json")
    assert response.status_code == 400, response.content
    assert not CallEvent.objects.filter(type="customer_linked").exists()
