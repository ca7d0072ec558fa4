"""The admin changes the working-day calendar only through the services: validated as on the
calendar page, audited, and the open deadlines it touches recomputed. Work orders stay read-only."""

from __future__ import annotations

from datetime import date

import pytest

from audit.models import AuditEvent
from org.roles import Role
from tickets.models import CalendarDay, CalendarYear, Category
from tickets.services.contacts import ticket_create
from tickets.services.workflow import ticket_dispatch

from .conftest import local

pytestmark = pytest.mark.django_db

ADD = "/admin/tickets/calendarday/add/"


def _mispost(staff):
    """Received Monday 2026-03-02: due at the end of the 5th working day, Monday 03-09."""
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.ATM_MISPOST,
        description="ATM未出钞",
        received_at=local(2026, 3, 2, 10, 0),
    )
    ticket = ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01")
    assert ticket.due_at == local(2026, 3, 9, 23, 59, 59)
    return ticket


def test_a_day_set_in_the_admin_is_audited_and_moves_the_open_deadlines(client_for, staff):
    ticket = _mispost(staff)
    client = client_for(staff[Role.MAINTAINER])
    response = client.post(ADD, {"date": "2026-03-04", "is_working_day": "", "name": "临时休假"}, follow=True)
    assert response.status_code == 200
    day = CalendarDay.objects.get(date=date(2026, 3, 4))
    assert (day.is_working_day, day.name, day.source) == (False, "临时休假", "maintainer")
    event = AuditEvent.objects.get(action="tickets.calendar_day_set", object_id="2026-03-04")
    assert event.actor == staff[Role.MAINTAINER] and event.details == {"working": False, "name": "临时休假"}
    ticket.refresh_from_db()
    assert ticket.due_at == local(2026, 3, 10, 23, 59, 59)
    assert CalendarYear.objects.get(year=2026).source == "maintainer"


def test_an_invalid_day_is_refused_in_the_admin_and_nothing_is_recorded(client_for, staff):
    client = client_for(staff[Role.MAINTAINER])
    response = client.post(ADD, {"date": "1999-03-04", "is_working_day": "", "name": "太早"})
    assert response.status_code == 200  # the form again, with the service's refusal
    assert "不能这样设置该日期。" in response.content.decode()
    assert not CalendarDay.objects.filter(date=date(1999, 3, 4)).exists()
    assert not AuditEvent.objects.filter(action="tickets.calendar_day_set").exists()


def test_a_change_and_a_delete_in_the_admin_go_through_the_service(client_for, staff):
    ticket = _mispost(staff)
    client = client_for(staff[Role.MAINTAINER])
    client.post(ADD, {"date": "2026-03-04", "is_working_day": "", "name": "临时休假"})
    day = CalendarDay.objects.get(date=date(2026, 3, 4))
    client.post(f"/admin/tickets/calendarday/{day.pk}/change/", {"is_working_day": "on", "name": "调休上班"})
    day.refresh_from_db()
    assert day.is_working_day and day.name == "调休上班"
    ticket.refresh_from_db()
    assert ticket.due_at == local(2026, 3, 9, 23, 59, 59)
    client.post(f"/admin/tickets/calendarday/{day.pk}/delete/", {"post": "yes"})
    assert not CalendarDay.objects.filter(date=date(2026, 3, 4)).exists()
    events = AuditEvent.objects.filter(action="tickets.calendar_day_set", object_id="2026-03-04")
    assert [e.details for e in events.order_by("id")] == [
        {"working": False, "name": "临时休假"},
        {"working": True, "name": "调休上班"},
        {"working": True, "name": ""},
    ]


def test_a_year_declared_in_the_admin_is_audited_with_its_note(client_for, staff):
    client = client_for(staff[Role.MAINTAINER])
    client.post("/admin/tickets/calendaryear/add/", {"year": "2031", "complete": "on", "note": "国务院通知"})
    row = CalendarYear.objects.get(year=2031)
    assert (row.complete, row.note, row.source) == (True, "国务院通知", "maintainer")
    event = AuditEvent.objects.get(action="tickets.calendar_year", object_id="2031")
    assert event.details == {"complete": True, "note": "国务院通知"}
    response = client.post("/admin/tickets/calendaryear/add/", {"year": "2101", "complete": "on", "note": ""})
    assert response.status_code == 200 and not CalendarYear.objects.filter(year=2101).exists()


def test_work_orders_are_read_only_in_the_admin(client_for, staff):
    ticket = _mispost(staff)
    client = client_for(staff[Role.MAINTAINER])
    assert client.post(f"/admin/tickets/ticket/{ticket.pk}/change/", {"state": "closed"}).status_code == 403
    assert client.post(f"/admin/tickets/ticket/{ticket.pk}/delete/", {"post": "yes"}).status_code == 403
