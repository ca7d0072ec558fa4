"""The IVR hands a caller to an agent queue (``ivr.signals.call_transferred_to_agent``): the call
is queued with the IVR's context and rings the right agent with a screen-pop of the verified
customer — masked numbers, balances, recent transactions; no full card number, no password."""

from __future__ import annotations

import pytest

from agents.models import AgentState
from calls.models import Call
from calls.services.ivr_handoff import call_enqueue_from_ivr
from calls.tests.helpers import status_of
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures", "ivr.tests.fixtures"]
pytestmark = pytest.mark.django_db

PIN = "918273"


def transfer_through_ivr(committed, caller, card_number: str):
    call = caller(ani="13912345678")
    call.start()
    call.login(card_number, PIN)
    actions = committed(call.press, "0")
    assert actions[-1]["type"] == "transfer" and actions[-1]["queue"] == "general"
    return call


def test_a_verified_caller_pops_up_with_accounts_and_transactions(make_agent, committed, caller, customer, as_user):
    agent = make_agent("pop", state=AgentState.READY, extension="8010")
    call = transfer_through_ivr(committed, caller, customer.card.number)
    record = Call.objects.get(call_id=call.call_id)
    assert record.state == "offered" and record.agent == agent
    assert record.verified and record.customer_id == customer.customer.pk
    assert record.ivr_path[0] == "main" and record.queue.code == "general"
    assert status_of(agent).state == AgentState.RINGING

    pop = as_user(agent).get(f"/api/calls/{call.call_id}/screen-pop/").json()
    assert pop["ivr"]["verified"] is True and pop["customer"]["match"] == "ivr"
    assert pop["customer"]["name"] == customer.customer.name
    numbers = [account["number_masked"] for account in pop["customer"]["accounts"]]
    assert f"{customer.card.number[:6]}******{customer.card.number[-4:]}" in numbers
    assert {account["balance"] for account in pop["customer"]["accounts"]} >= {"50000.00", "1000.00"}
    assert pop["customer"]["recent_transactions"][0]["amount"] == "50000.00"
    text = str(pop)
    assert customer.card.number not in text and PIN not in text

    switch_view = as_user(make_staff(Role.SWITCH)).get(f"/api/calls/{call.call_id}/").json()
    assert switch_view == {
        "state": "offered",
        "queue": "general",
        "agent": "pop",
        "extension": "8010",
        "callback_offer": False,
    }


def test_an_unverified_caller_is_matched_by_number_and_flagged(make_agent, committed, caller, customer, as_user):
    from banking.models import Customer

    Customer.objects.filter(pk=customer.customer.pk).update(mobile="13912345678")
    agent = make_agent("pop", state=AgentState.READY)
    call = caller(ani="13912345678")
    call.start()
    committed(call.press, "0")
    pop = as_user(agent).get(f"/api/calls/{call.call_id}/screen-pop/").json()
    assert pop["ivr"]["verified"] is False
    assert pop["customer"]["match"] == "ani" and pop["customer"]["id"] == customer.customer.pk


def test_another_agent_cannot_read_the_screen_pop(make_agent, committed, caller, customer, as_user):
    make_agent("pop", state=AgentState.READY)
    other = make_agent("other", state=AgentState.NOT_READY)
    call = transfer_through_ivr(committed, caller, customer.card.number)
    response = as_user(other).get(f"/api/calls/{call.call_id}/screen-pop/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "call_not_found"


def test_the_hook_takes_the_signals_arguments(committed, queues):
    committed(
        call_enqueue_from_ivr,
        call_id="hook-1",
        ani="13800000001",
        dnis="96123",
        queue="card",
        verified=False,
        customer_id=None,
        account_id=None,
        path=["main", "agent"],
    )
    call = Call.objects.get(call_id="hook-1")
    assert (call.state, call.queue.code, call.ani, call.dnis, call.ivr_path) == (
        "queued",
        "card",
        "13800000001",
        "96123",
        ["main", "agent"],
    )
