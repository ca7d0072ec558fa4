"""短信通 开通/取消 by the agent during a verified call (issue 15 point 4):
``POST /api/banking/accounts/{id}/sms-notice/`` ``{"enabled", "call_id"}`` — agents and team leads,
on their own call in hand, with the caller verified in the IVR or linked by the agent, to the
customer's mobile on record; an account event and an audit row; asking for the state the account
is already in is fine and changes nothing."""

from __future__ import annotations

import pytest

from agents.models import AgentState
from audit.models import AuditEvent
from banking.models import AccountEvent, SmsNoticeSubscription
from calls.models import Call
from calls.selectors import screen_pop
from calls.services import ivr_handoff
from org.roles import Role
from tests.factories import make_staff
from tests.factories_banking import AccountFactory, PassbookFactory

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

UNKNOWN_ANI = "13700000099"


@pytest.fixture
def card(db):
    return AccountFactory(opening_fen=100_000)


def url(account) -> str:
    return f"/api/banking/accounts/{account.pk}/sms-notice/"


def _in_hand(committed, make_agent, as_user, *, call_id, card=None, verified=True, role=Role.AGENT, username="sn-a"):
    agent = make_agent(username, state=AgentState.READY, role=role)
    committed(
        ivr_handoff.call_enqueue_from_ivr,
        call_id=call_id,
        ani=card.customer.mobile if card is not None else UNKNOWN_ANI,
        dnis="96123",
        queue="general",
        verified=verified,
        customer_id=card.customer_id if card is not None and verified else None,
        account_id=card.pk if card is not None and verified else None,
        path=["main", "account", "agent"],
    )
    client = as_user(agent)
    assert committed(client.post, f"/api/calls/{call_id}/answer/").json()["state"] == "connected"
    return agent, client


def _events(account) -> int:
    return AccountEvent.objects.filter(account=account, kind=AccountEvent.Kind.SMS_NOTICE_CHANGED).count()


def test_the_agent_subscribes_a_verified_caller_to_the_mobile_on_record(committed, make_agent, as_user, card):
    agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-1", card=card)
    response = client.post(url(card), {"enabled": True, "call_id": "sn-1"}, format="json")
    assert response.status_code == 200, response.content
    mobile = card.customer.mobile
    assert response.json() == {
        "account": card.pk,
        "enabled": True,
        "phone_masked": f"{mobile[:3]}****{mobile[-4:]}",
        "changed": True,
    }
    subscription = SmsNoticeSubscription.objects.get(account=card)
    assert subscription.active and subscription.phone == mobile
    assert _events(card) == 1
    audit = AuditEvent.objects.get(action="banking.sms_notice_change")
    assert audit.actor == agent and audit.object_id == str(card.pk)
    assert audit.details["call_id"] == "sn-1" and audit.details["enabled"] is True and audit.details["changed"] is True
    # The screen-pop shows it.
    pop = screen_pop(Call.objects.get(call_id="sn-1"), for_user=agent)
    assert next(a for a in pop["customer"]["accounts"] if a["id"] == card.pk)["sms_notice"] is True


def test_subscribing_twice_is_fine_and_changes_nothing_the_second_time(committed, make_agent, as_user, card):
    _agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-2", card=card)
    assert client.post(url(card), {"enabled": True, "call_id": "sn-2"}, format="json").json()["changed"] is True
    again = client.post(url(card), {"enabled": True, "call_id": "sn-2"}, format="json")
    assert again.status_code == 200 and again.json()["enabled"] is True and again.json()["changed"] is False
    assert _events(card) == 1 and SmsNoticeSubscription.objects.filter(account=card).count() == 1
    assert AuditEvent.objects.filter(action="banking.sms_notice_change").count() == 2  # both requests audited


def test_the_agent_unsubscribes_and_unsubscribing_again_is_fine(committed, make_agent, as_user, card):
    SmsNoticeSubscription.objects.create(account=card, phone=card.customer.mobile, active=True)
    _agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-3", card=card)
    off = client.post(url(card), {"enabled": False, "call_id": "sn-3"}, format="json")
    assert off.status_code == 200 and off.json()["enabled"] is False and off.json()["changed"] is True
    assert SmsNoticeSubscription.objects.get(account=card).active is False and _events(card) == 1
    again = client.post(url(card), {"enabled": False, "call_id": "sn-3"}, format="json")
    assert again.status_code == 200 and again.json()["changed"] is False and _events(card) == 1
    # Never subscribed at all: off is off.
    other = AccountFactory(customer=card.customer)
    never = client.post(url(other), {"enabled": False, "call_id": "sn-3"}, format="json")
    assert never.status_code == 200 and never.json() == {
        "account": other.pk,
        "enabled": False,
        "phone_masked": "",
        "changed": False,
    }


def test_a_customer_linked_by_the_agent_may_be_subscribed(committed, make_agent, as_user, card):
    _agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-4", verified=False)
    committed(client.post, "/api/calls/sn-4/customer/", {"customer": card.customer_id}, format="json")
    response = client.post(url(card), {"enabled": True, "call_id": "sn-4"}, format="json")
    assert response.status_code == 200, response.content
    assert SmsNoticeSubscription.objects.get(account=card).active


def test_an_unverified_caller_is_refused(committed, make_agent, as_user, card):
    # The caller rings from the customer's mobile but did not log in: an "ani" match, not identified.
    _agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-5", card=card, verified=False)
    response = client.post(url(card), {"enabled": True, "call_id": "sn-5"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "caller_not_verified"
    assert not SmsNoticeSubscription.objects.filter(account=card).exists() and _events(card) == 0


def test_only_on_the_agents_own_call(committed, make_agent, as_user, card):
    _in_hand(committed, make_agent, as_user, call_id="sn-6", card=card)
    stranger = as_user(make_agent("sn-b", state=AgentState.NOT_READY))
    response = stranger.post(url(card), {"enabled": True, "call_id": "sn-6"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_your_call"
    missing = stranger.post(url(card), {"enabled": True, "call_id": "no-such-call"}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "call_not_found"
    assert not SmsNoticeSubscription.objects.filter(account=card).exists()


def test_not_once_the_call_is_wrapped_up(committed, make_agent, as_user, card):
    _agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-7", card=card)
    committed(client.post, "/api/calls/sn-7/hangup/")
    # After-call work: still the call in hand.
    assert client.post(url(card), {"enabled": True, "call_id": "sn-7"}, format="json").status_code == 200
    committed(client.post, "/api/calls/sn-7/wrapup/", {"disposition": "resolved"}, format="json")
    response = client.post(url(card), {"enabled": False, "call_id": "sn-7"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "call_not_active"
    assert SmsNoticeSubscription.objects.get(account=card).active


def test_only_the_callers_own_debit_main_card(committed, make_agent, as_user, card):
    _agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-8", card=card)
    someone_else = AccountFactory()
    response = client.post(url(someone_else), {"enabled": True, "call_id": "sn-8"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_callers_account"
    passbook = PassbookFactory(customer=card.customer)
    response = client.post(url(passbook), {"enabled": True, "call_id": "sn-8"}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "not_eligible"
    assert not SmsNoticeSubscription.objects.exists()


def test_a_test_call_never_changes_the_subscription(committed, make_agent, as_user, card):
    _agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-9", card=card)
    Call.objects.filter(call_id="sn-9").update(is_test=True)
    response = client.post(url(card), {"enabled": True, "call_id": "sn-9"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "test_call"
    assert not SmsNoticeSubscription.objects.exists()


def test_a_team_lead_on_their_own_call_may_and_other_roles_may_not(committed, make_agent, as_user, card):
    _lead, client = _in_hand(committed, make_agent, as_user, call_id="sn-10", card=card, role=Role.TEAM_LEAD)
    assert client.post(url(card), {"enabled": True, "call_id": "sn-10"}, format="json").status_code == 200
    for role in (Role.DIRECTOR, Role.ANALYST, Role.RISK_OFFICER, Role.MAINTAINER):
        response = as_user(make_staff(role)).post(url(card), {"enabled": False, "call_id": "sn-10"}, format="json")
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "permission_denied"
    assert SmsNoticeSubscription.objects.get(account=card).active


def test_a_bad_request_is_a_400_with_a_code(committed, make_agent, as_user, card):
    _agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-11", card=card)
    for body in ({"enabled": True}, {"call_id": "sn-11"}, {"enabled": "maybe", "call_id": "sn-11"}):
        response = client.post(url(card), body, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"], body
    unknown = client.post(url(card), {"enabled": True, "call_id": "sn-11", "phone": "13900000000"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_field"


def test_the_agents_change_names_who_on_which_call_and_the_phone_masked(committed, make_agent, as_user, card):
    agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-12", card=card)
    assert client.post(url(card), {"enabled": True, "call_id": "sn-12"}, format="json").status_code == 200
    assert client.post(url(card), {"enabled": False, "call_id": "sn-12"}, format="json").status_code == 200
    on, off = AccountEvent.objects.filter(account=card, kind=AccountEvent.Kind.SMS_NOTICE_CHANGED).order_by("pk")
    mobile = card.customer.mobile
    for event in (on, off):
        assert (event.actor, event.channel, event.call_id) == (agent, "agent", "sn-12")
        assert mobile not in str(event.before) + str(event.after)
    assert on.after == {"active": True, "phone": f"{mobile[:3]}****{mobile[-4:]}"}
    assert off.before["active"] is True and off.after["active"] is False


def test_at_the_outlet_the_units_staff_change_it_without_a_call(as_user, card):
    clerk = make_staff(Role.UNIT_STAFF, unit=card.unit)
    client = as_user(clerk)
    response = client.post(url(card), {"enabled": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["enabled"] is True and response.json()["changed"] is True
    assert SmsNoticeSubscription.objects.get(account=card).phone == card.customer.mobile  # the phone on record
    event = AccountEvent.objects.get(account=card, kind=AccountEvent.Kind.SMS_NOTICE_CHANGED)
    assert (event.actor, event.channel, event.call_id) == (clerk, "outlet", "")
    audit = AuditEvent.objects.get(action="banking.sms_notice_change")
    assert audit.actor == clerk and audit.details["channel"] == "outlet"
    assert client.post(url(card), {"enabled": False}, format="json").json()["enabled"] is False


def test_another_units_staff_cannot_reach_the_account_and_an_agent_needs_the_call(committed, make_agent, as_user, card):
    outsider = as_user(make_staff(Role.UNIT_STAFF))  # a unit of their own
    response = outsider.post(url(card), {"enabled": True}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    _agent, client = _in_hand(committed, make_agent, as_user, call_id="sn-13", card=card)
    response = client.post(url(card), {"enabled": True}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_input"
    assert "call_id" in response.json()["error"]["fields"], response.json()
    assert not SmsNoticeSubscription.objects.exists()
