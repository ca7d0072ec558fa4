"""The work-order pages: the unit's inbox, the analyst's list, the work order with its forms, the
CSV export and the holiday calendar."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from org.roles import Role
from tickets.models import CalendarDay, Category, State, Ticket
from tickets.services.contacts import ticket_create
from tickets.services.workflow import ticket_dispatch

from .conftest import local

pytestmark = pytest.mark.django_db


def _overdue_ticket(staff, unit="B01"):
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.ATM_MISPOST,
        description="ATM吞卡",
        received_at=local(2025, 3, 3, 9, 0),
    )
    return ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code=unit)


def test_inbox_lists_own_open_work_orders_by_due_time_with_overdue_highlighted(client_for, staff, make_ticket):
    later = make_ticket(State.DISPATCHED)
    overdue = _overdue_ticket(staff)
    make_ticket(State.DISPATCHED, unit="B02")
    make_ticket(State.CLOSED)
    html = client_for(staff["unit_staff_b01"]).get("/tickets/inbox/").content.decode()
    assert "工单收件箱" in html
    assert html.index(f">{overdue.number}<") < html.index(f">{later.number}<")
    assert 'class="overdue"' in html and "已超期" in html
    assert timezone.localtime(overdue.due_at).strftime("%Y-%m-%d %H:%M") in html
    assert timezone.localtime(later.due_at).strftime("%Y-%m-%d %H:%M") in html
    assert Ticket.objects.filter(unit__code="B02").get().number not in html


def test_inbox_overdue_tab(client_for, staff, make_ticket):
    make_ticket(State.DISPATCHED)
    overdue = _overdue_ticket(staff)
    response = client_for(staff["unit_staff_b01"]).get("/tickets/inbox/?show=overdue")
    html = response.content.decode()
    assert overdue.number in html and html.count('class="overdue"') == 1


def test_inbox_is_for_unit_staff_only(client_for, staff):
    assert client_for(staff[Role.ANALYST]).get("/tickets/inbox/").status_code == 403


def test_inbox_query_count_does_not_grow_with_rows(
    client_for, staff, make_ticket, customer, django_assert_max_num_queries
):
    for _ in range(15):
        make_ticket(State.DISPATCHED, customer=customer)
    client = client_for(staff["unit_staff_b01"])
    client.get("/tickets/inbox/")
    # session, user, profile, counts, page count, page rows, escalations (+ savepoints none)
    with django_assert_max_num_queries(9):
        response = client.get("/tickets/inbox/")
    assert response.content.decode().count("state-dispatched") == 15


def test_list_query_count_does_not_grow_with_rows(
    client_for, staff, make_ticket, customer, django_assert_max_num_queries
):
    for _ in range(15):
        make_ticket(State.REPLIED, customer=customer)
    client = client_for(staff[Role.ANALYST])
    client.get("/tickets/")
    with django_assert_max_num_queries(14):
        response = client.get("/tickets/")
    assert response.status_code == 200


def test_list_filters_and_chase(client_for, staff, make_ticket):
    overdue = _overdue_ticket(staff)
    make_ticket(State.NEW)
    client = client_for(staff[Role.ANALYST])
    html = client.get("/tickets/?overdue=on").content.decode()
    assert "1 个工单" in html and "已超期" in html
    assert timezone.localtime(overdue.due_at).strftime("%Y-%m-%d %H:%M") in html
    response = client.post(
        reverse("tickets:action", args=[overdue.pk, "chase"]), {"note": "请尽快办理", "next": "/tickets/?overdue=on"}
    )
    assert response.status_code == 302 and response["Location"] == "/tickets/?overdue=on"
    assert Ticket.objects.get(pk=overdue.pk).chased_at is not None


def test_analyst_records_and_dispatches_from_the_pages(client_for, staff):
    client = client_for(staff[Role.ANALYST])
    response = client.post(
        "/tickets/new/", {"kind": "complaint", "category": "fees", "description": "年费多扣", "received_at": ""}
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tickets/{ticket.pk}/"
    client.post(reverse("tickets:action", args=[ticket.pk, "dispatch"]), {"unit": "B02"})
    ticket.refresh_from_db()
    assert ticket.state == State.DISPATCHED and ticket.unit.code == "B02"
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "已派发" in html and "年费多扣" in html


def test_unit_replies_from_its_page(client_for, staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED)
    client = client_for(staff["unit_staff_b01"])
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'action="/tickets/{ticket.pk}/do/reply/"' in html
    client.post(reverse("tickets:action", args=[ticket.pk, "reply"]), {"result": "已处理完毕", "resolved": "true"})
    ticket.refresh_from_db()
    assert ticket.state == State.REPLIED and ticket.reply_result == "已处理完毕"
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "单位已回复" in html  # the history


def test_refused_page_action_changes_nothing_and_says_why(client_for, staff, make_ticket):
    ticket = make_ticket(State.CLOSED)
    client = client_for(staff[Role.ANALYST])
    response = client.post(reverse("tickets:action", args=[ticket.pk, "dispatch"]), {"unit": "B01"}, follow=True)
    assert Ticket.objects.get(pk=ticket.pk).state == State.CLOSED
    assert "未做任何更改" in response.content.decode()


def test_page_action_outside_the_role_is_403(client_for, staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED)
    response = client_for(staff[Role.ANALYST]).post(
        reverse("tickets:action", args=[ticket.pk, "reply"]), {"result": "x", "resolved": "true"}
    )
    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).state == State.DISPATCHED


def test_export_is_scoped(client_for, staff, make_ticket):
    own = make_ticket(State.DISPATCHED, unit="B01")
    other = make_ticket(State.DISPATCHED, unit="B02")
    body = b"".join(client_for(staff["unit_staff_b01"]).get("/tickets/export.csv").streaming_content).decode()
    numbers = [line.split(",")[0].lstrip("\ufeff") for line in body.splitlines()[1:]]
    assert numbers == [own.number] and other.number not in numbers


def test_maintainer_edits_the_calendar_and_deadlines_move(client_for, staff):
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.ATM_MISPOST,
        description="x",
        received_at=local(2026, 11, 27, 9, 0),
    )
    ticket = ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01")
    assert ticket.due_at == local(2026, 12, 4, 23, 59, 59)
    client = client_for(staff[Role.MAINTAINER])
    html = client.get("/tickets/calendar/?year=2027").content.decode()
    assert "2027" in html and "不完整" in html or "周一至周五" in html
    response = client.post(
        "/tickets/calendar/?year=2026", {"op": "day", "date": "2026-12-02", "is_working_day": "false", "name": "临时"}
    )
    assert response.status_code == 302
    assert not CalendarDay.objects.get(date=date(2026, 12, 2)).is_working_day
    assert Ticket.objects.get(pk=ticket.pk).due_at == local(2026, 12, 7, 23, 59, 59)
    client.post("/tickets/calendar/?year=2026", {"op": "clear", "date": "2026-12-02"})
    assert not CalendarDay.objects.filter(date=date(2026, 12, 2)).exists()
    assert Ticket.objects.get(pk=ticket.pk).due_at == local(2026, 12, 4, 23, 59, 59)


def test_calendar_is_read_only_for_the_analyst(client_for, staff):
    client = client_for(staff[Role.ANALYST])
    assert client.get("/tickets/calendar/").status_code == 200
    response = client.post("/tickets/calendar/", {"op": "year", "year": "2027", "complete": "true"})
    assert response.status_code == 403


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_render_in_both_languages(client_for, staff, make_ticket, customer, language, settings):
    ticket = make_ticket(State.REPLIED, customer=customer)
    for user, paths in (
        (staff["unit_staff_b01"], ["/tickets/inbox/", f"/tickets/{ticket.pk}/"]),
        (staff[Role.ANALYST], ["/tickets/", f"/tickets/{ticket.pk}/", "/tickets/calendar/"]),
        (staff[Role.MAINTAINER], ["/tickets/calendar/"]),
    ):
        client = client_for(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            assert f'lang="{language}"' in response.content.decode()
