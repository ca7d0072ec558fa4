"""What users read on the work-order pages: holiday names in the UI's language, one due time
format, one count of callbacks to make whoever looks."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from org.roles import Role
from tickets.models import Category, State

pytestmark = pytest.mark.django_db


def test_calendar_shows_the_packages_holiday_names_in_chinese_and_in_english(client_for, staff):
    client = client_for(staff[Role.MAINTAINER])
    html = client.get("/tickets/calendar/?year=2026").content.decode()
    assert "国庆节" in html and "春节" in html
    assert "National Day" not in html and "Spring Festival" not in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/tickets/calendar/?year=2026").content.decode()
    assert "National Day" in html and "国庆节" not in html


def test_list_and_detail_show_the_same_due_time(client_for, staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED, category=Category.ATM_MISPOST)
    client = client_for(staff[Role.ANALYST])
    due = ticket.due_at.astimezone(ticket.due_at.tzinfo).strftime("%H:%M:%S")
    list_html = client.get("/tickets/").content.decode()
    detail_html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert due == "23:59:59"  # mis-posting: end of the 5th working day
    shown = set(re.findall(r"\d{4}-\d{2}-\d{2} 23:59(?::59)?", list_html))
    assert shown and all(value.endswith(":59:59") for value in shown)
    assert ticket.due_at.strftime("%Y-%m-%d") + " 23:59:59" in detail_html


def test_director_and_analyst_see_the_same_count_of_callbacks_to_make(client_for, staff, make_ticket):
    for _ in range(3):
        make_ticket(State.CALLBACK_PENDING)
    counts = {}
    for role in (Role.ANALYST, Role.DIRECTOR):
        html = client_for(staff[role]).get("/tickets/").content.decode()
        found = re.search(r'<span class="n">(\d+)</span><span class="label">待回访', html)
        assert found, role
        counts[role] = int(found.group(1))
    assert counts == {Role.ANALYST: 3, Role.DIRECTOR: 3}


def test_a_refusal_on_the_page_reads_the_translated_message_of_errors_py(client_for, staff, make_ticket):
    """The service's English detail ("The work order is already with this unit.") is for API clients;
    the page shows the error's own message from ``tickets/errors.py``, in Chinese."""
    ticket = make_ticket(State.DISPATCHED)
    client = client_for(staff[Role.ANALYST])
    response = client.post(f"/tickets/{ticket.pk}/do/dispatch/", {"unit": "B01"}, follow=True)
    html = response.content.decode()
    assert "未做任何更改：工单当前状态下不允许此操作。" in html
    assert "already with this unit" not in html


def test_a_merge_into_an_unknown_work_order_says_it_is_not_found(client_for, staff, make_ticket):
    ticket = make_ticket(State.NEW)
    response = client_for(staff[Role.ANALYST]).post(
        f"/tickets/{ticket.pk}/do/merge/", {"into": ticket.pk + 1000}, follow=True
    )
    assert "未做任何更改：工单不存在。" in response.content.decode()


def test_every_work_order_error_has_a_translated_message_for_the_pages():
    from django.utils import translation

    from core.errors import DomainError
    from tickets import errors

    kinds = [k for k in vars(errors).values() if isinstance(k, type) and issubclass(k, DomainError)]
    kinds = [k for k in kinds if k.__module__ == errors.__name__]
    assert len(kinds) > 30
    with translation.override("zh-hans"):
        for kind in kinds:
            shown = errors.page_message(kind("An English detail for API clients."))
            if getattr(kind, "shows_detail", False):
                assert shown == "An English detail for API clients.", kind
            else:
                assert shown == str(kind.default_message) and re.search(r"[\u4e00-\u9fff]", shown), kind
