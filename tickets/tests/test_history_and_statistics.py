"""The append-only history and the statistics feed of the reports."""

from datetime import date

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from audit.models import AppendOnlyError
from org.roles import Role
from tickets.models import Category, State, TicketEvent
from tickets.selectors import ticket_statistics
from tickets.services.contacts import ticket_create
from tickets.services.workflow import ticket_callback, ticket_close, ticket_dispatch, ticket_reply

from .conftest import local

pytestmark = pytest.mark.django_db


def test_events_cannot_be_changed_or_deleted(make_ticket):
    ticket = make_ticket(State.DISPATCHED)
    event = TicketEvent.objects.filter(ticket=ticket).first()
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        TicketEvent.objects.filter(ticket=ticket).update(note="changed")


@pytest.mark.postgres
def test_database_refuses_changing_history(make_ticket):
    ticket = make_ticket(State.DISPATCHED)
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticketevent SET note = 'x' WHERE ticket_id = %s", [ticket.pk])
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM tickets_ticketevent WHERE ticket_id = %s", [ticket.pk])


def _handled(staff, *, unit, category, received, replied, satisfied, closed):
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=category,
        description="x",
        received_at=received,
        now=received,
    )
    ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code=unit, now=received)
    member = staff["unit_staff_b01"] if unit == "B01" else staff["unit_staff_b02"]
    ticket_reply(ticket=ticket, actor=member, result="ok", resolved=True, now=replied)
    if satisfied is None:
        return ticket_close(ticket=ticket, actor=staff[Role.ANALYST], now=closed)
    return ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=satisfied, now=closed)


def test_statistics_per_unit_and_category(staff):
    # B01: two mis-postings, one on time (due 10-13) and satisfied, one late and closed without callback.
    _handled(
        staff,
        unit="B01",
        category=Category.ATM_MISPOST,
        received=local(2026, 9, 30, 10),
        replied=local(2026, 10, 9, 10),
        satisfied=True,
        closed=local(2026, 10, 10, 10),
    )
    _handled(
        staff,
        unit="B01",
        category=Category.ATM_MISPOST,
        received=local(2026, 9, 30, 10),
        replied=local(2026, 10, 14, 10),
        satisfied=None,
        closed=local(2026, 10, 14, 22),
    )
    # B02: one fees complaint still with the unit.
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.FEES,
        description="x",
        received_at=local(2026, 10, 8, 9),
        now=local(2026, 10, 8, 9),
    )
    ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B02", now=local(2026, 10, 8, 10))
    stats = ticket_statistics(date(2026, 9, 1), date(2026, 10, 31))
    assert stats["total"]["dispatched"] == 3 and stats["total"]["closed"] == 2
    b01 = next(row for row in stats["by_unit"] if row["unit"] == "B01")
    assert b01["dispatched"] == 2 and b01["closed"] == 2
    assert b01["on_time"] == 1 and b01["on_time_rate"] == 0.5
    assert b01["satisfied"] == 1 and b01["satisfaction_rate"] == 1.0
    # 10-10 10:00 − 09-30 10:00 = 240 h; 10-14 22:00 − 09-30 10:00 = 348 h → median 294 h
    assert b01["median_resolution_hours"] == 294.0
    b02 = next(row for row in stats["by_unit"] if row["unit"] == "B02")
    assert b02["dispatched"] == 1 and b02["closed"] == 0
    assert b02["on_time_rate"] is None and b02["satisfaction_rate"] is None and b02["median_resolution_hours"] is None
    b03 = next(row for row in stats["by_unit"] if row["unit"] == "B03")
    assert b03["dispatched"] == 0 and b03["on_time_rate"] is None
    mispost = next(row for row in stats["by_category"] if row["category"] == "atm_mispost")
    assert mispost["closed"] == 2
    pairs = {(row["unit"], row["category"]): row for row in stats["by_unit_category"]}
    assert pairs[("B02", "fees")]["dispatched"] == 1


def test_statistics_of_an_empty_period_are_null_rates(db, branches):
    stats = ticket_statistics(date(2020, 1, 1), date(2020, 1, 31))
    assert stats["total"]["dispatched"] == 0 and stats["total"]["on_time_rate"] is None
    assert stats["total"]["median_resolution_hours"] is None


def test_statistics_queries_are_fixed(staff, make_ticket, django_assert_max_num_queries):
    for _ in range(10):
        make_ticket(State.REPLIED)
    with django_assert_max_num_queries(3):
        ticket_statistics(date(2020, 1, 1), date(2030, 1, 1))
