"""Money owed to a customer is never silently dropped (issue 12, point 1).

A work order whose category carries money (ATM mis-posting, refund posting, POS prize) and whose
unit confirmed an amount cannot be closed — by ``close`` or by a satisfied callback — until the
adjustment is posted to one of the customer's accounts, or waived with a reason by the analyst or
the director. Above ``TICKETS_ADJUSTMENT_APPROVAL_FEN`` the director approves first. A unit cannot
confirm an absurd amount. The contact keeps the caller's number; an unknown caller is linked to
the customer later. One policy (``tickets.policy``) answers the service, the API and the page."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from banking.models import Account, LedgerTransaction
from notifications.models import SmsOutbox
from org.roles import Role
from tickets import errors, policy
from tickets.models import AdjustmentStatus, Category, State, Ticket, TicketAdjustment, TicketEvent
from tickets.services.adjustments import ticket_adjustment_decide, ticket_adjustment_post, ticket_adjustment_waive
from tickets.services.contacts import ticket_create, ticket_customer_link
from tickets.services.workflow import (
    ticket_callback,
    ticket_close,
    ticket_dispatch,
    ticket_merge,
    ticket_reply,
    ticket_review,
    ticket_withdraw,
)

pytestmark = pytest.mark.django_db

MONEY = [Category.ATM_MISPOST, Category.REFUND_POSTING, Category.POS_PRIZE]


@pytest.fixture
def card(customer):
    return customer.accounts.get()


def _owed(staff, *, category=Category.ATM_MISPOST, fen=20_000, customer=None, call_id="", state=State.REPLIED):
    """A work order whose unit confirmed ``fen`` (nothing posted), walked to ``state``."""
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=category,
        description="ATM未出钞",
        customer=customer,
        call_id=call_id,
    )
    ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01")
    ticket = ticket_reply(
        ticket=ticket, actor=staff["unit_staff_b01"], result="核实长款", resolved=True, adjustment_fen=fen
    )
    if state == State.CALLBACK_PENDING:
        ticket = ticket_review(ticket=ticket, actor=staff[Role.ANALYST], accepted=True)
    if state == State.AWAITING_ADJUSTMENT:
        ticket = ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=True)
    return ticket


def _fresh(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# --- closing is refused while money is owed ------------------------------------------------------


@pytest.mark.parametrize("category", MONEY)
@pytest.mark.parametrize("state", [State.REPLIED, State.CALLBACK_PENDING])
def test_close_is_refused_while_the_confirmed_amount_is_owed(staff, customer, category, state):
    ticket = _owed(staff, category=category, customer=customer, state=state)
    for role in (Role.ANALYST, Role.AGENT, Role.DIRECTOR):
        with pytest.raises(errors.AdjustmentOutstanding):
            ticket_close(ticket=ticket, actor=staff[role])
    assert _fresh(ticket).state == state


def test_close_api_answers_409_adjustment_outstanding(api_for, staff, customer):
    ticket = _owed(staff, customer=customer)
    response = api_for(staff[Role.ANALYST]).post(f"/api/tickets/{ticket.pk}/close/", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "adjustment_outstanding"
    assert _fresh(ticket).state == State.REPLIED


@pytest.mark.parametrize("category", MONEY)
def test_a_satisfied_callback_leaves_the_order_awaiting_its_adjustment(staff, customer, category):
    ticket = _owed(staff, category=category, customer=customer)
    ticket = ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=True, note="满意")
    assert ticket.state == State.AWAITING_ADJUSTMENT and ticket.satisfied is True and ticket.closed_at is None
    assert policy.adjustment_status(ticket) == policy.OWED
    # Not closed, so the customer is not told it is (the close SMS comes with the posting).
    assert not SmsOutbox.objects.filter(text__contains="已办结").exists()
    with pytest.raises(errors.InvalidTransition):
        ticket_close(ticket=ticket, actor=staff[Role.ANALYST])
    with pytest.raises(errors.InvalidTransition):
        ticket_withdraw(ticket=ticket, actor=staff[Role.ANALYST], reason="x")


def test_withdraw_and_merge_cannot_drop_the_money(staff, customer, make_ticket):
    ticket = _owed(staff, customer=customer)
    with pytest.raises(errors.AdjustmentOutstanding):
        ticket_withdraw(ticket=ticket, actor=staff[Role.ANALYST], reason="重复")
    other = make_ticket(State.NEW, customer=customer)
    with pytest.raises(errors.AdjustmentOutstanding):
        ticket_merge(ticket=ticket, actor=staff[Role.ANALYST], into=other)
    assert _fresh(ticket).state == State.REPLIED


def test_other_categories_close_as_before(staff, make_ticket):
    ticket = make_ticket(State.REPLIED, category=Category.FEES)
    assert ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=True).state == State.CLOSED


def test_a_reply_without_an_amount_owes_nothing(staff, make_ticket, card):
    ticket = make_ticket(State.REPLIED, category=Category.ATM_MISPOST, account=card)
    assert policy.adjustment_status(ticket) == policy.NO_MONEY
    assert ticket_close(ticket=ticket, actor=staff[Role.ANALYST]).state == State.CLOSED


# --- posting settles it ------------------------------------------------------------------------


def test_posting_closes_an_order_that_awaited_it_and_tells_the_customer(staff, customer, card):
    ticket = _owed(staff, customer=customer, state=State.AWAITING_ADJUSTMENT)
    result = ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    assert result.created and result.adjustment.status == AdjustmentStatus.POSTED
    ticket = _fresh(ticket)
    assert ticket.state == State.CLOSED and ticket.closed_by == staff[Role.ANALYST]
    card.refresh_from_db()
    assert card.balance_fen == 120_000
    assert SmsOutbox.objects.filter(phone=customer.mobile, text__contains=f"工单号{ticket.number}").exists()
    actions = list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True))
    assert actions[-3:] == ["callback", "adjustment", "close"]


def test_posting_before_the_callback_does_not_close(staff, customer, card):
    ticket = _owed(staff, customer=customer, state=State.CALLBACK_PENDING)
    ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    assert _fresh(ticket).state == State.CALLBACK_PENDING
    # Posted: the satisfied callback now closes it.
    ticket = ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=True)
    assert ticket.state == State.CLOSED


def test_the_account_is_chosen_among_the_customers_accounts(staff, customer, card):
    from tests.factories_banking import AccountFactory

    passbook = AccountFactory(customer=customer, kind="passbook", opening_fen=0)
    ticket = _owed(staff, customer=customer)
    ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=passbook)
    passbook.refresh_from_db()
    card.refresh_from_db()
    assert (passbook.balance_fen, card.balance_fen) == (20_000, 100_000)
    assert TicketAdjustment.objects.get(ticket=ticket).account == passbook


def test_api_refuses_an_account_of_another_customer_with_a_code(api_for, staff, customer):
    from tests.factories_banking import AccountFactory

    stranger = AccountFactory()
    ticket = _owed(staff, customer=customer)
    response = api_for(staff[Role.ANALYST]).post(
        f"/api/tickets/{ticket.pk}/adjustment/", {"account": stranger.pk}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_account"
    internal = Account.objects.filter(is_internal=True).first()
    if internal is not None:
        response = api_for(staff[Role.ANALYST]).post(
            f"/api/tickets/{ticket.pk}/adjustment/", {"account": internal.pk}, format="json"
        )
        assert response.status_code == 400
    assert not TicketAdjustment.objects.exists()


def test_an_unknown_callers_order_asks_for_the_customer_then_posts(api_for, staff, customer, card):
    """The reported case: unidentified caller, ¥200 confirmed, posting failed, closed anyway."""
    ticket = _owed(staff)
    client = api_for(staff[Role.ANALYST])
    response = client.post(f"/api/tickets/{ticket.pk}/adjustment/", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "customer_required"
    ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=True)
    assert _fresh(ticket).state == State.AWAITING_ADJUSTMENT  # still shows the money is owed
    linked = client.post(f"/api/tickets/{ticket.pk}/customer/", {"customer": customer.pk}, format="json")
    assert linked.status_code == 200 and linked.json()["customer"] == customer.pk
    response = client.post(f"/api/tickets/{ticket.pk}/adjustment/", {"account": card.pk}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "posted"
    detail = client.get(f"/api/tickets/{ticket.pk}/").json()
    assert detail["state"] == "closed" and detail["adjustment_status"] == "posted"


def test_a_posting_failure_keeps_the_order_open_and_owing(client_for, staff, customer, card):
    ticket = _owed(staff, customer=customer, state=State.AWAITING_ADJUSTMENT)
    Account.objects.filter(pk=card.pk).update(status=Account.Status.VERBALLY_LOST)
    response = client_for(staff[Role.ANALYST]).post(
        f"/tickets/{ticket.pk}/do/adjust/", {"account": card.pk}, follow=True
    )
    page = response.content.decode()
    assert "未做任何更改" in page and "挂失" in page  # the ledger's reason, in the page's language
    ticket = _fresh(ticket)
    assert ticket.state == State.AWAITING_ADJUSTMENT and policy.money_owed(ticket)
    assert not TicketAdjustment.objects.exists() and not LedgerTransaction.objects.filter(kind="adjustment").exists()


# --- director's approval above the limit ---------------------------------------------------------


def test_above_the_limit_the_director_approves_before_it_is_posted(staff, customer, card, settings):
    settings.TICKETS_ADJUSTMENT_APPROVAL_FEN = 10_000
    ticket = _owed(staff, customer=customer, fen=10_001, state=State.AWAITING_ADJUSTMENT)
    assert TicketEvent.objects.get(ticket=ticket, action="reply").after["adjustment_needs_approval"] is True
    result = ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    assert result.created and result.adjustment.status == AdjustmentStatus.PENDING_APPROVAL
    assert not LedgerTransaction.objects.filter(kind="adjustment").exists()
    again = ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    assert not again.created and again.adjustment.pk == result.adjustment.pk
    with pytest.raises(errors.AdjustmentPendingApproval):
        ticket_adjustment_waive(ticket=ticket, actor=staff[Role.ANALYST], reason="x")
    from core.errors import Forbidden

    with pytest.raises(Forbidden):
        ticket_adjustment_decide(ticket=ticket, actor=staff[Role.ANALYST], approve=True)
    ticket_adjustment_decide(ticket=ticket, actor=staff[Role.DIRECTOR], approve=True, note="同意")
    ticket = _fresh(ticket)
    assert ticket.state == State.CLOSED and ticket.adjustment.status == AdjustmentStatus.POSTED
    assert ticket.adjustment.posted_by == staff[Role.DIRECTOR] and ticket.adjustment.requested_by == staff[Role.ANALYST]
    card.refresh_from_db()
    assert card.balance_fen == 110_001
    assert {"tickets.adjustment_request", "tickets.adjustment_approve", "tickets.adjustment_post"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_a_rejection_needs_a_note_and_the_money_stays_owed(api_for, staff, customer, card, settings):
    settings.TICKETS_ADJUSTMENT_APPROVAL_FEN = 10_000
    ticket = _owed(staff, customer=customer, fen=50_000)
    ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    director = api_for(staff[Role.DIRECTOR])
    bare = director.post(f"/api/tickets/{ticket.pk}/adjustment/decide/", {"approve": False}, format="json")
    assert bare.status_code == 400
    response = director.post(
        f"/api/tickets/{ticket.pk}/adjustment/decide/", {"approve": False, "note": "金额待核"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["adjustment"]["status"] == "rejected" and body["adjustment_status"] == "owed"
    with pytest.raises(errors.AdjustmentOutstanding):
        ticket_close(ticket=ticket, actor=staff[Role.ANALYST])
    # The analyst may ask again (or waive).
    again = ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    assert again.created and again.adjustment.status == AdjustmentStatus.PENDING_APPROVAL


def test_only_the_director_decides(api_for, staff, customer, card, settings):
    settings.TICKETS_ADJUSTMENT_APPROVAL_FEN = 10_000
    ticket = _owed(staff, customer=customer, fen=50_000)
    ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    for role in (Role.ANALYST, Role.AGENT):
        response = api_for(staff[role]).post(
            f"/api/tickets/{ticket.pk}/adjustment/decide/", {"approve": True}, format="json"
        )
        assert response.status_code == 403
    nothing = _owed(staff, customer=customer, fen=100)
    response = api_for(staff[Role.DIRECTOR]).post(
        f"/api/tickets/{nothing.pk}/adjustment/decide/", {"approve": True}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "adjustment_not_pending"


# --- waiver ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ANALYST, Role.DIRECTOR])
def test_the_analyst_or_director_may_waive_with_a_reason(api_for, staff, customer, role):
    ticket = _owed(staff, customer=customer, state=State.AWAITING_ADJUSTMENT)
    client = api_for(staff[role])
    bare = client.post(f"/api/tickets/{ticket.pk}/adjustment/waive/", {}, format="json")
    assert bare.status_code == 400
    response = client.post(f"/api/tickets/{ticket.pk}/adjustment/waive/", {"reason": "网点已现金退还"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "closed" and body["adjustment_status"] == "waived"
    assert body["adjustment_waived"]["reason"] == "网点已现金退还" and body["adjustment_waived"]["by"] == role
    event = TicketEvent.objects.get(ticket=ticket, action="adjustment_waive")
    assert event.note == "网点已现金退还" and event.actor_username == role
    assert AuditEvent.objects.filter(action="tickets.adjustment_waive", object_id=str(ticket.pk)).exists()
    assert not LedgerTransaction.objects.filter(kind="adjustment").exists()


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, "unit_staff_b01"])
def test_others_cannot_waive(api_for, staff, customer, role):
    ticket = _owed(staff, customer=customer)
    response = api_for(staff[role]).post(f"/api/tickets/{ticket.pk}/adjustment/waive/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert policy.money_owed(_fresh(ticket))


def test_a_posted_adjustment_cannot_be_waived_and_a_waived_one_cannot_be_posted(staff, customer, card):
    posted = _owed(staff, customer=customer)
    ticket_adjustment_post(ticket=posted, actor=staff[Role.ANALYST], account=card)
    with pytest.raises(errors.AdjustmentSettled):
        ticket_adjustment_waive(ticket=posted, actor=staff[Role.ANALYST], reason="x")
    waived = _owed(staff, customer=customer)
    ticket_adjustment_waive(ticket=waived, actor=staff[Role.ANALYST], reason="误报")
    with pytest.raises(errors.AdjustmentSettled):
        ticket_adjustment_post(ticket=waived, actor=staff[Role.ANALYST], account=card)
    assert ticket_close(ticket=waived, actor=staff[Role.ANALYST]).state == State.CLOSED


# --- what a unit may confirm ---------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["0", "0.00", "-5", "1.234", "1e3", "١٢", "１２", " 12", "abc"])
def test_a_unit_cannot_confirm_a_bad_amount(api_for, staff, make_ticket, amount):
    ticket = make_ticket(State.DISPATCHED, category=Category.ATM_MISPOST)
    response = api_for(staff["unit_staff_b01"]).post(
        f"/api/tickets/{ticket.pk}/reply/",
        {"result": "核实", "resolved": True, "adjustment_amount": amount},
        format="json",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_amount", amount
    assert _fresh(ticket).state == State.DISPATCHED


def test_a_unit_cannot_confirm_above_the_ceiling(api_for, staff, make_ticket, settings):
    settings.TICKETS_ADJUSTMENT_MAX_FEN = 1_000_000
    ticket = make_ticket(State.DISPATCHED, category=Category.REFUND_POSTING)
    client = api_for(staff["unit_staff_b01"])
    body = {"result": "核实", "resolved": True, "adjustment_amount": "10000.01"}
    response = client.post(f"/api/tickets/{ticket.pk}/reply/", body, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "adjustment_too_large"
    assert _fresh(ticket).adjustment_confirmed_fen is None
    body["adjustment_amount"] = "10000.00"
    assert client.post(f"/api/tickets/{ticket.pk}/reply/", body, format="json").status_code == 200
    assert _fresh(ticket).adjustment_confirmed_fen == 1_000_000


def test_an_amount_above_the_approval_limit_is_flagged(api_for, staff, settings):
    settings.TICKETS_ADJUSTMENT_APPROVAL_FEN = 10_000
    ticket = _owed(staff, fen=10_001)
    detail = api_for(staff[Role.ANALYST]).get(f"/api/tickets/{ticket.pk}/").json()
    assert detail["adjustment_needs_approval"] is True and detail["adjustment_confirmed"] == "100.01"
    small = _owed(staff, fen=10_000)
    assert api_for(staff[Role.ANALYST]).get(f"/api/tickets/{small.pk}/").json()["adjustment_needs_approval"] is False


# --- the page shows only what the policy allows ----------------------------------------------------


def _page(client_for, user, ticket) -> str:
    return client_for(user).get(f"/tickets/{ticket.pk}/").content.decode()


def test_the_post_button_shows_only_to_the_analyst_on_an_open_order(client_for, staff, customer, card):
    ticket = _owed(staff, customer=customer)
    assert 'id="adjust-form"' in _page(client_for, staff[Role.ANALYST], ticket)
    for role in (Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR, "unit_staff_b01"):
        assert 'id="adjust-form"' not in _page(client_for, staff[role], ticket), role
    ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=True)
    closed = _fresh(ticket)
    assert closed.state == State.CLOSED
    page = _page(client_for, staff[Role.ANALYST], closed)
    assert 'id="adjust-form"' not in page and 'id="waive-form"' not in page
    assert not policy.can_post_adjustment(staff[Role.ANALYST], closed)


def test_a_closed_order_never_offers_the_adjustment(staff, make_ticket):
    ticket = Ticket.objects.get(pk=make_ticket(State.CLOSED, category=Category.ATM_MISPOST).pk)
    Ticket.objects.filter(pk=ticket.pk).update(adjustment_confirmed_fen=20_000)  # a legacy row
    ticket = _fresh(ticket)
    assert not policy.can_post_adjustment(staff[Role.ANALYST], ticket)
    with pytest.raises(errors.InvalidTransition):
        ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST])


def test_the_page_says_the_money_is_owed_and_offers_close_only_when_settled(client_for, staff, customer, card):
    ticket = _owed(staff, customer=customer, state=State.CALLBACK_PENDING)
    page = _page(client_for, staff[Role.ANALYST], ticket)
    assert 'id="money-owed"' in page
    assert f"/tickets/{ticket.pk}/do/close/" not in page
    assert f"/tickets/{ticket.pk}/do/waive/" in page
    ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    page = _page(client_for, staff[Role.ANALYST], _fresh(ticket))
    assert 'id="money-owed"' not in page and f"/tickets/{ticket.pk}/do/close/" in page


def test_without_a_customer_the_page_asks_to_link_one(client_for, staff):
    ticket = _owed(staff)
    page = _page(client_for, staff[Role.ANALYST], ticket)
    assert 'id="adjust-form"' not in page and 'name="q"' in page


# --- the caller's number, and linking the customer on the page ---------------------------------------


def test_the_contact_keeps_the_callers_number_for_sms_when_no_customer(staff):
    ticket = _owed(staff)
    Ticket.objects.filter(pk=ticket.pk).update(caller_number="tel:+8613700000077")
    ticket = _fresh(ticket)
    assert ticket.contact_phone == "13700000077"
    ticket_adjustment_waive(ticket=ticket, actor=staff[Role.ANALYST], reason="网点已退现")
    ticket_callback(ticket=_fresh(ticket), actor=staff[Role.AGENT], satisfied=True)
    assert SmsOutbox.objects.filter(phone="13700000077", text__contains="已办结").exists()


def test_the_api_keeps_a_caller_number_for_a_contact_without_a_call(api_for, staff):
    response = api_for(staff[Role.AGENT]).post(
        "/api/tickets/",
        {"kind": "complaint", "category": "fees", "description": "来电投诉", "caller_number": "13700000077"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["caller_number"] == "13700000077"
    listed = api_for(staff[Role.ANALYST]).get("/api/tickets/").json()["results"][0]
    assert listed["caller_number"] == "137****0077"


def test_the_page_links_the_customer_by_a_number_in_the_body(client_for, staff, customer, card):
    ticket = _owed(staff)
    client = client_for(staff[Role.ANALYST])
    response = client.post(f"/tickets/{ticket.pk}/do/link_customer/", {"q": card.number}, follow=True)
    assert response.status_code == 200
    ticket = _fresh(ticket)
    assert ticket.customer_id == customer.pk
    event = TicketEvent.objects.get(ticket=ticket, action="customer_link")
    assert event.after["customer"] == str(customer)
    search = AuditEvent.objects.get(action="banking.customer_search")
    assert card.number not in str(search.details)
    assert customer.name in response.content.decode()


def test_the_customer_cannot_change_once_the_money_is_posted(api_for, staff, customer, card):
    from tests.factories_banking import AccountFactory

    ticket = _owed(staff, customer=customer)
    ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)
    other = AccountFactory().customer
    response = api_for(staff[Role.ANALYST]).post(
        f"/api/tickets/{ticket.pk}/customer/", {"customer": other.pk}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "customer_fixed"
    assert _fresh(ticket).customer_id == customer.pk


def test_changing_the_customer_drops_the_other_customers_account(staff, customer, card):
    from tests.factories_banking import AccountFactory

    ticket = ticket_create(
        actor=staff[Role.AGENT], kind="complaint", category="atm_mispost", description="x", account=card
    )
    other = AccountFactory().customer
    ticket = ticket_customer_link(ticket=ticket, actor=staff[Role.AGENT], customer=other)
    assert ticket.customer_id == other.pk and ticket.account_id is None
    with pytest.raises(errors.InvalidTransition):
        closed = ticket_close(ticket=ticket, actor=staff[Role.AGENT])
        ticket_customer_link(ticket=closed, actor=staff[Role.AGENT], customer=customer)
    from core.errors import Forbidden

    with pytest.raises(Forbidden):
        ticket_customer_link(ticket=ticket, actor=staff["unit_staff_b01"], customer=customer)


def test_the_data_migration_fills_the_callers_number_from_the_call(staff):
    import importlib

    from django.apps import apps

    from calls.models import Call

    Call.objects.create(call_id="old-1", ani="13700000066")
    ticket = ticket_create(
        actor=staff[Role.AGENT], kind="consultation", category="other", description="x", call_id="old-1"
    )
    Ticket.objects.filter(pk=ticket.pk).update(caller_number="")
    orphan = ticket_create(
        actor=staff[Role.AGENT], kind="consultation", category="other", description="x", call_id="gone"
    )
    migration = importlib.import_module("tickets.migrations.0006_ticket_caller_number_from_calls")
    migration.fill_from_calls(apps, None)
    assert _fresh(ticket).caller_number == "13700000066"
    assert _fresh(orphan).caller_number == ""


@pytest.mark.parametrize(
    ("ani", "phone"),
    [
        ("13800000001", "13800000001"),
        ("+86 138-0000-0001", "13800000001"),
        ("tel:+8613800000001", "13800000001"),
        ("sip:13800000001@pbx.example;user=phone", "13800000001"),
        ("008613800000001", "13800000001"),
        ("02227654321", "02227654321"),
        ("", ""),
    ],
)
def test_a_contacts_phone_is_the_callers_number_in_digits(ani, phone):
    from tickets.models import Ticket

    assert Ticket(caller_number=ani).contact_phone == phone


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_posting_and_waiving_at_once_settle_the_money_once(staff, branches):
    """Two analysts at once: one posts, one waives. The ticket row lock serialises them; exactly
    one wins, the other is refused — never posted *and* waived, never a second close."""
    import threading

    from django.db import connection

    from tests.factories_banking import AccountFactory

    card = AccountFactory(opening_fen=100_000)
    ticket = _owed(staff, customer=card.customer, state=State.AWAITING_ADJUSTMENT)
    barrier = threading.Barrier(2)
    outcomes, failures = [], []

    def run(action):
        try:
            barrier.wait()
            action()
            outcomes.append("ok")
        except (errors.AdjustmentSettled, errors.InvalidTransition):  # settled, hence closed
            outcomes.append("settled")
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    post = lambda: ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=card)  # noqa: E731
    waive = lambda: ticket_adjustment_waive(ticket=ticket, actor=staff[Role.DIRECTOR], reason="网点已退现")  # noqa: E731
    threads = [threading.Thread(target=run, args=(action,)) for action in (post, waive)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and sorted(outcomes) == ["ok", "settled"]
    ticket = _fresh(ticket)
    posted = TicketAdjustment.objects.filter(ticket=ticket, status=AdjustmentStatus.POSTED).exists()
    assert posted != (ticket.adjustment_waived_at is not None)
    assert ticket.state == State.CLOSED
    assert TicketEvent.objects.filter(ticket=ticket, action="close").count() == 1
    card.refresh_from_db()
    assert card.balance_fen == (120_000 if posted else 100_000)


def test_the_money_owed_list_agrees_with_the_policy(client_for, staff, customer, card, make_ticket, settings):
    settings.TICKETS_ADJUSTMENT_APPROVAL_FEN = 10_000
    from tickets import selectors

    tickets = [
        _owed(staff, customer=customer),  # owed
        _owed(staff, customer=customer, state=State.AWAITING_ADJUSTMENT),  # owed
        _owed(staff, customer=customer, fen=50_000),  # pending approval below
        _owed(staff, customer=customer, fen=300),  # posted below
        _owed(staff, customer=customer, fen=400),  # waived below
        make_ticket(State.REPLIED, category=Category.ATM_MISPOST),  # nothing confirmed
        make_ticket(State.REPLIED, category=Category.FEES),
    ]
    ticket_adjustment_post(ticket=tickets[2], actor=staff[Role.ANALYST], account=card)
    ticket_adjustment_post(ticket=tickets[3], actor=staff[Role.ANALYST], account=card)
    ticket_adjustment_waive(ticket=tickets[4], actor=staff[Role.ANALYST], reason="误报")
    legacy = make_ticket(State.CLOSED, category=Category.REFUND_POSTING)
    Ticket.objects.filter(pk=legacy.pk).update(adjustment_confirmed_fen=20_000)  # closed before the rule
    listed = set(selectors.money_owed(user=staff[Role.ANALYST]).values_list("pk", flat=True))
    expected = {t.pk for t in Ticket.objects.all() if policy.money_owed(t)}
    assert listed == expected == {tickets[0].pk, tickets[1].pk, tickets[2].pk, legacy.pk}
    page = client_for(staff[Role.DIRECTOR]).get("/tickets/").content.decode()
    assert 'id="money-owed-list"' in page and tickets[2].number in page
    assert 'id="money-owed-list"' not in client_for(staff[Role.AGENT]).get("/tickets/").content.decode()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_page_shows_every_step_of_the_money_in_both_languages(
    client_for, staff, customer, card, settings, language
):
    settings.TICKETS_ADJUSTMENT_APPROVAL_FEN = 10_000
    pending = _owed(staff, customer=customer, fen=50_000)
    ticket_adjustment_post(ticket=pending, actor=staff[Role.ANALYST], account=card)
    rejected = _owed(staff, customer=customer, fen=60_000)
    ticket_adjustment_post(ticket=rejected, actor=staff[Role.ANALYST], account=card)
    ticket_adjustment_decide(ticket=rejected, actor=staff[Role.DIRECTOR], approve=False, note="金额待核")
    waived = _owed(staff, customer=customer, state=State.AWAITING_ADJUSTMENT)
    ticket_adjustment_waive(ticket=waived, actor=staff[Role.DIRECTOR], reason="网点已现金退还")
    client = client_for(staff[Role.DIRECTOR])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    zh = language == "zh-hans"
    page = client.get(f"/tickets/{pending.pk}/").content.decode()
    assert 'id="decide-adjustment-form"' in page and ("待中心主任审批" if zh else "Waiting for the director") in page
    page = client.get(f"/tickets/{rejected.pk}/").content.decode()
    assert "金额待核" in page and 'id="decide-adjustment-form"' not in page and 'id="waive-form"' in page
    page = client.get(f"/tickets/{waived.pk}/").content.decode()
    assert "网点已现金退还" in page and ("已免于调账" if zh else "Waived") in page
    assert ("已办结" if zh else "Closed") in page


def test_the_list_and_inbox_show_an_unknown_callers_number_masked(client_for, staff):
    ticket = _owed(staff)
    Ticket.objects.filter(pk=ticket.pk).update(caller_number="sip:13700000077@pbx")
    for user, url in ((staff[Role.ANALYST], "/tickets/"), (staff["unit_staff_b01"], "/tickets/inbox/")):
        page = client_for(user).get(url).content.decode()
        assert "137****0077" in page and "13700000077" not in page, url
        assert "未识别的来电" in page
    detail = client_for(staff[Role.ANALYST]).get(f"/tickets/{ticket.pk}/").content.decode()
    assert "sip:13700000077@pbx" in detail


def test_the_page_refuses_an_amount_on_an_unresolved_reply_in_the_users_language(client_for, staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED, category=Category.ATM_MISPOST)
    client = client_for(staff["unit_staff_b01"])
    body = {"result": "未能核实", "resolved": "false", "adjustment_amount": "200"}
    page = client.post(f"/tickets/{ticket.pk}/do/reply/", body, follow=True).content.decode()
    assert "只有回复为已解决且金额为正数时，才能确认调账金额。" in page
    assert _fresh(ticket).state == State.DISPATCHED and _fresh(ticket).adjustment_confirmed_fen is None
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.post(f"/tickets/{ticket.pk}/do/reply/", body, follow=True).content.decode()
    assert "An adjustment is confirmed only with a resolved reply and a positive amount." in page
