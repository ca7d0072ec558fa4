"""Reminders before the due time and escalations after it: to the unit's staff, then the head of
the unit and the director; never twice for the same breach; paused work orders left alone."""

from datetime import timedelta

import pytest

from org.roles import Role
from tickets import tasks
from tickets.models import Category, EscalationKind, State, TicketEscalation, TicketEvent
from tickets.services.contacts import ticket_create
from tickets.services.escalation import tickets_escalate
from tickets.services.extensions import ticket_extension_request
from tickets.services.pauses import ticket_pause
from tickets.services.workflow import ticket_dispatch

from .conftest import local

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_ticket(staff, branches):
    branches[0].head = staff["unit_staff_b01"]
    branches[0].save()
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.ATM_MISPOST,
        description="x",
        received_at=local(2026, 9, 30, 10, 0),
        now=local(2026, 9, 30, 10, 5),
    )
    return ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01", now=local(2026, 9, 30, 11))


def test_reminder_a_day_before_then_escalation_once(due_ticket):
    assert due_ticket.due_at == local(2026, 10, 13, 23, 59, 59)
    assert tickets_escalate(now=local(2026, 10, 12, 12, 0))["reminder"] == 0
    counts = tickets_escalate(now=local(2026, 10, 13, 9, 0))
    assert counts == {"reminder": 1, "overdue_head": 0, "overdue_director": 0}
    reminder = TicketEscalation.objects.get(kind=EscalationKind.REMINDER)
    assert reminder.recipients == ["branch01"]
    counts = tickets_escalate(now=local(2026, 10, 14, 0, 30))
    assert counts == {"reminder": 0, "overdue_head": 1, "overdue_director": 1}
    assert TicketEscalation.objects.get(kind=EscalationKind.OVERDUE_HEAD).recipients == ["branch01"]
    assert TicketEscalation.objects.get(kind=EscalationKind.OVERDUE_DIRECTOR).recipients == ["director"]
    # The sweep runs every 15 minutes: the same breach is never escalated again.
    for hours in range(1, 6):
        assert sum(tickets_escalate(now=local(2026, 10, 14, 0, 30) + timedelta(hours=hours)).values()) == 0
    assert TicketEscalation.objects.count() == 3
    assert TicketEvent.objects.filter(ticket=due_ticket, action__startswith="escalation_").count() == 3


def test_a_new_deadline_is_a_new_breach(due_ticket, staff):
    tickets_escalate(now=local(2026, 10, 14, 1, 0))
    extension = ticket_extension_request(
        ticket=due_ticket, actor=staff[Role.ANALYST], days=3, reason="复杂", now=local(2026, 10, 14, 2, 0)
    )
    assert extension.status == "approved"
    counts = tickets_escalate(now=local(2026, 10, 22, 1, 0))
    assert counts["overdue_head"] == 1 and counts["overdue_director"] == 1
    assert TicketEscalation.objects.filter(ticket=due_ticket, kind=EscalationKind.OVERDUE_DIRECTOR).count() == 2


def test_paused_and_replied_work_orders_are_not_escalated(due_ticket, staff, make_ticket):
    ticket_pause(ticket=due_ticket, actor=staff["unit_staff_b01"], reason="鉴定", now=local(2026, 10, 12))
    assert sum(tickets_escalate(now=local(2026, 10, 20)).values()) == 0
    replied = make_ticket(State.REPLIED)
    assert sum(tickets_escalate(now=replied.due_at + timedelta(days=3)).values()) == 0


def test_unit_without_a_head_still_reaches_the_director(due_ticket, branches):
    branches[0].head = None
    branches[0].save()
    tickets_escalate(now=local(2026, 10, 15))
    assert TicketEscalation.objects.get(kind=EscalationKind.OVERDUE_HEAD).recipients == []
    assert TicketEscalation.objects.get(kind=EscalationKind.OVERDUE_DIRECTOR).recipients == ["director"]


def test_the_task_escalates_overdue_work_orders_once(due_ticket):
    from django.utils import timezone

    assert due_ticket.due_at < timezone.now()  # the task sweeps at the real time: the order is overdue
    assert tasks.escalate.apply().get() == {"reminder": 0, "overdue_head": 1, "overdue_director": 1}
    assert set(TicketEscalation.objects.filter(ticket=due_ticket).values_list("kind", flat=True)) == {
        EscalationKind.OVERDUE_HEAD,
        EscalationKind.OVERDUE_DIRECTOR,
    }
    assert tasks.escalate.apply().get() == {"reminder": 0, "overdue_head": 0, "overdue_director": 0}
    assert TicketEscalation.objects.filter(ticket=due_ticket).count() == 2


def test_beat_schedules_the_sweep_once_every_15_minutes():
    from tests.beat import periodic_tasks_at_beat_start

    (escalation,) = [task for task in periodic_tasks_at_beat_start() if task.task == "tickets.escalate"]
    assert escalation.enabled
    assert escalation.interval.schedule.run_every == timedelta(minutes=15)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_escalate_once(staff, branches):
    import threading

    from django.db import connection

    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.FEES,
        description="x",
        received_at=local(2026, 1, 5, 9),
    )
    ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01")
    barrier = threading.Barrier(4)
    errors = []

    def sweep():
        try:
            barrier.wait()
            tickets_escalate()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert TicketEscalation.objects.filter(ticket=ticket, kind=EscalationKind.OVERDUE_DIRECTOR).count() == 1
    assert TicketEscalation.objects.filter(ticket=ticket, kind=EscalationKind.OVERDUE_HEAD).count() == 1
