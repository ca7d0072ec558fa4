"""The demo work orders: the founding document's 182 handled complaints, deterministic and
idempotent, every open state present today."""

import pytest
from django.core.management import call_command

from tickets.demo import seed_tickets
from tickets.models import OPEN_STATES, State, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_seed_tickets_is_realistic_and_idempotent():
    call_command("seed_demo", "--history-days", "0", "--quiet")
    created = seed_tickets(90)
    handled = Ticket.objects.filter(call_id__regex=r"^DEMO-T0")
    assert created == Ticket.objects.count() == 182 + 12
    assert handled.count() == 182 and set(handled.values_list("state", flat=True)) == {State.CLOSED}
    satisfied = handled.filter(satisfied=True).count()
    assert satisfied == 182  # the founding document: satisfaction near 100% (a few after rework)
    on_time = handled.filter(replied_on_time=True).count()
    assert 0.85 * 182 <= on_time < 182
    assert {
        State.DISPATCHED,
        State.IN_PROGRESS,
        State.REPLIED,
        State.CALLBACK_PENDING,
        State.RETURNED,
        State.NEW,
    } <= set(Ticket.objects.values_list("state", flat=True))
    assert Ticket.objects.filter(state__in=OPEN_STATES).overdue().exists()
    assert Ticket.objects.filter(adjustment_confirmed_fen__isnull=False, state=State.REPLIED).exists()
    # Every demo work order has the number it was called from: mostly the customer's own mobile.
    tickets = list(Ticket.objects.select_related("customer"))
    assert all(t.caller_number.isdigit() and len(t.caller_number) == 11 for t in tickets)
    from_own_mobile = sum(1 for t in tickets if t.customer_id and t.caller_number == t.customer.mobile)
    assert 0.5 * len(tickets) < from_own_mobile < len(tickets)
    events = TicketEvent.objects.count()
    assert seed_tickets(90) == 0
    assert TicketEvent.objects.count() == events


def test_no_history_no_tickets(db):
    assert seed_tickets(0) == 0
