"""Adjustments (调账) from ATM mis-posting and refund work orders: once the unit confirms the
amount, the analyst posts it to the customer's account through the banking services, exactly once
per work order, also under a double click."""

import threading

import pytest
from django.db import connection

from banking.models import LedgerTransaction
from org.roles import Role
from tickets import errors
from tickets.models import Category, State, TicketAdjustment
from tickets.services.adjustments import ticket_adjustment_post
from tickets.services.contacts import ticket_create
from tickets.services.workflow import ticket_dispatch, ticket_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(customer):
    return customer.accounts.get()


def _confirmed(staff, card, *, category=Category.ATM_MISPOST, fen=20_000):
    ticket = ticket_create(
        actor=staff[Role.AGENT], kind="complaint", category=category, description="ATM未出钞", account=card
    )
    ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01")
    return ticket_reply(
        ticket=ticket, actor=staff["unit_staff_b01"], result="核实长款200元", resolved=True, adjustment_fen=fen
    )


def test_analyst_posts_the_confirmed_amount_once(staff, card):
    ticket = _confirmed(staff, card)
    first = ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST])
    assert first.created and first.adjustment.amount_fen == 20_000
    card.refresh_from_db()
    assert card.balance_fen == 100_000 + 20_000
    txn = LedgerTransaction.objects.get(idempotency_key=f"ticket-adjustment:{ticket.pk}")
    assert txn.kind == "adjustment" and sum(p.amount_fen for p in txn.postings.all()) == 0
    again = ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST])
    assert not again.created and again.adjustment.pk == first.adjustment.pk
    card.refresh_from_db()
    assert card.balance_fen == 120_000 and LedgerTransaction.objects.filter(kind="adjustment").count() == 1


def test_api_double_post_returns_the_same_adjustment(api_for, staff, card):
    ticket = _confirmed(staff, card, category=Category.REFUND_POSTING, fen=5_050)
    client = api_for(staff[Role.ANALYST])
    first = client.post(f"/api/tickets/{ticket.pk}/adjustment/", {}, format="json")
    second = client.post(f"/api/tickets/{ticket.pk}/adjustment/", {}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json() and first.json()["amount"] == "50.50"
    assert TicketAdjustment.objects.count() == 1


def test_refusals(api_for, staff, card, make_ticket):
    client = api_for(staff[Role.ANALYST])
    other = make_ticket(State.REPLIED, category=Category.FEES)
    response = client.post(f"/api/tickets/{other.pk}/adjustment/", {}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "adjustment_not_applicable"
    unconfirmed = make_ticket(State.REPLIED, category=Category.ATM_MISPOST, account=card)
    response = client.post(f"/api/tickets/{unconfirmed.pk}/adjustment/", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "adjustment_not_confirmed"
    ticket = _confirmed(staff, card)
    branch = api_for(staff["unit_staff_b01"])
    response = branch.post(f"/api/tickets/{ticket.pk}/adjustment/", {}, format="json")
    assert response.status_code == 403
    assert not TicketAdjustment.objects.exists()


def test_account_of_another_customer_is_refused(staff, card):
    from tests.factories_banking import AccountFactory

    ticket = _confirmed(staff, card)
    stranger = AccountFactory()
    with pytest.raises(errors.UnknownAccount):
        ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST], account=stranger)
    assert not TicketAdjustment.objects.exists()


def test_unit_cannot_confirm_an_adjustment_on_other_categories(staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED, category=Category.FEES)
    with pytest.raises(errors.AdjustmentNotApplicable):
        ticket_reply(ticket=ticket, actor=staff["unit_staff_b01"], result="x", resolved=True, adjustment_fen=1)


def test_page_posts_once_under_a_double_click(client_for, staff, card):
    ticket = _confirmed(staff, card)
    client = client_for(staff[Role.ANALYST])
    client.post(f"/tickets/{ticket.pk}/do/adjust/", {"account": card.pk})
    response = client.post(f"/tickets/{ticket.pk}/do/adjust/", {"account": card.pk}, follow=True)
    assert "未重复入账" in response.content.decode()
    assert LedgerTransaction.objects.filter(kind="adjustment").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_double_click_from_two_threads_posts_once(staff, branches):
    from tests.factories_banking import AccountFactory

    card = AccountFactory(opening_fen=100_000)
    ticket = _confirmed(staff, card)
    barrier = threading.Barrier(2)
    results, failures = [], []

    def click():
        try:
            barrier.wait()
            results.append(ticket_adjustment_post(ticket=ticket, actor=staff[Role.ANALYST]))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(result.created for result in results) == [False, True]
    assert len({result.adjustment.pk for result in results}) == 1
    card.refresh_from_db()
    assert card.balance_fen == 120_000
    assert LedgerTransaction.objects.filter(kind="adjustment").count() == 1
    assert TicketAdjustment.objects.count() == 1
