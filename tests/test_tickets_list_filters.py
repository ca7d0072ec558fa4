"""The work-order list's filters by day of first dispatch, of closure and by customer (the reports'
drill-downs: the rows behind a "dispatched" or "closed" figure are the rows the figure counts), on
the page, its CSV export and ``GET /api/tickets/``; and the two selectors the call list reads
(``tickets.selectors.tickets_for_calls``, ``banking.selectors.customer_labels``)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banking.selectors import customer_labels
from org.roles import Role
from tests.factories_banking import CustomerFactory
from tickets.models import CalendarYear, Category
from tickets.selectors import TicketFilter, ticket_list, ticket_statistics, tickets_for_calls
from tickets.services.calendar import calendar_sync_from_package
from tickets.services.contacts import ticket_create
from tickets.services.workflow import ticket_close, ticket_dispatch, ticket_reply

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 3)


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def calendar_seeded(db):
    if not CalendarYear.objects.filter(year=2026, complete=True).exists():
        calendar_sync_from_package()


@pytest.fixture
def orders(staff):
    """Work orders around ``DAY``'s local midnights, worked out by hand:

    a: received 10 days before, first dispatched DAY 00:00:00 (B01) — dispatched on DAY;
    b: received DAY, dispatched DAY 23:59:59 (B01), closed DAY+1 00:00:00 — dispatched DAY, closed DAY+1;
    c: received before, dispatched before (B02), closed DAY 23:59:59 — closed on DAY;
    d: dispatched DAY-1 23:59:59 (B02) — neither, on DAY;
    e: a contact settled on the phone on DAY (no unit) — no closed work order;
    f: received DAY, never dispatched, for customer ``customer``.
    """
    customer = CustomerFactory(name="李雷", mobile="13700001111")
    agent, analyst = staff[Role.AGENT], staff[Role.ANALYST]

    def make(received: datetime, **kwargs):
        return ticket_create(
            actor=agent,
            kind=kwargs.pop("kind", "complaint"),
            category=kwargs.pop("category", Category.FEES),
            description="x",
            received_at=received,
            now=received,
            **kwargs,
        )

    def close(ticket, unit: str, at: datetime):
        member = staff["unit_staff_b01"] if unit == "B01" else staff["unit_staff_b02"]
        ticket_reply(ticket=ticket, actor=member, result="已处理", resolved=True, now=at - timedelta(hours=1))
        ticket_close(ticket=ticket, actor=agent, now=at)

    before = DAY - timedelta(days=10)
    a = make(local(before, 9))
    ticket_dispatch(ticket=a, actor=analyst, unit_code="B01", now=local(DAY, 0))
    b = make(local(DAY, 9), category=Category.SERVICE_ATTITUDE)
    ticket_dispatch(ticket=b, actor=analyst, unit_code="B01", now=local(DAY, 23, 59, 59))
    close(b, "B01", local(DAY + timedelta(days=1), 0))
    c = make(local(before, 9))
    ticket_dispatch(ticket=c, actor=analyst, unit_code="B02", now=local(before, 10))
    close(c, "B02", local(DAY, 23, 59, 59))
    d = make(local(before, 9))
    ticket_dispatch(ticket=d, actor=analyst, unit_code="B02", now=local(DAY - timedelta(days=1), 23, 59, 59))
    e = make(local(DAY, 10), kind="consultation")
    ticket_close(ticket=e, actor=agent, now=local(DAY, 10, 5))
    f = make(local(DAY, 11), customer=customer)
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "customer": customer}


def pks(user, **filters) -> set[int]:
    return set(ticket_list(user=user, filters=TicketFilter(**filters)).values_list("pk", flat=True))


def test_dispatched_counts_by_the_local_day_of_first_dispatch(staff, orders):
    director = staff[Role.DIRECTOR]
    assert pks(director, dispatched_from=DAY, dispatched_to=DAY) == {orders["a"].pk, orders["b"].pk}
    assert pks(director, dispatched_from=DAY - timedelta(days=1), dispatched_to=DAY - timedelta(days=1)) == {
        orders["d"].pk
    }
    assert pks(director, dispatched_from=DAY) >= {orders["a"].pk, orders["b"].pk}
    assert orders["d"].pk not in pks(director, dispatched_from=DAY)
    assert pks(director, dispatched_to=DAY - timedelta(days=2)) == {orders["c"].pk}


def test_closed_counts_work_orders_by_the_local_day_of_closure(staff, orders):
    director = staff[Role.DIRECTOR]
    # c closed 23:59:59 on DAY; b at midnight, the next day; e was a contact settled on the phone.
    assert pks(director, closed_from=DAY, closed_to=DAY) == {orders["c"].pk}
    assert pks(director, closed_from=DAY + timedelta(days=1), closed_to=DAY + timedelta(days=1)) == {orders["b"].pk}
    assert orders["e"].pk not in pks(director, closed_from=DAY - timedelta(days=30))


def test_the_filters_count_what_the_statistics_count(staff, orders):
    director = staff[Role.DIRECTOR]
    for start, end in ((DAY, DAY), (DAY - timedelta(days=1), DAY + timedelta(days=1)), (DAY, DAY + timedelta(days=1))):
        figures = ticket_statistics(start, end)
        rows = [("", "", figures["total"])]
        rows += [(row["unit"], "", row) for row in figures["by_unit"]]
        rows += [("", row["category"], row) for row in figures["by_category"]]
        rows += [(row["unit"], row["category"], row) for row in figures["by_unit_category"]]
        for unit, category, row in rows:
            scope = {"unit": unit, "category": category}
            assert len(pks(director, dispatched_from=start, dispatched_to=end, **scope)) == row["dispatched"]
            assert len(pks(director, closed_from=start, closed_to=end, **scope)) == row["closed"]


def test_unit_staff_see_their_own_units_only(staff, orders):
    assert pks(staff["unit_staff_b01"], dispatched_from=DAY, dispatched_to=DAY) == {orders["a"].pk, orders["b"].pk}
    assert pks(staff["unit_staff_b02"], dispatched_from=DAY, dispatched_to=DAY) == set()
    assert pks(staff["unit_staff_b02"], closed_from=DAY, closed_to=DAY) == {orders["c"].pk}


def listed(client, **params) -> list[str]:
    response = client.get("/tickets/", params)
    assert response.status_code == 200
    html = response.content.decode()
    return re.findall(r'href="/tickets/(\d+)/"', html.split('class="table tickets"', 1)[1].split("</table>", 1)[0])


def test_the_page_filters_and_keeps_the_values(client_for, staff, orders):
    client = client_for(staff[Role.ANALYST])
    rows = listed(client, unit="B01", dispatched_from=DAY.isoformat(), dispatched_to=DAY.isoformat())
    assert set(rows) == {str(orders["a"].pk), str(orders["b"].pk)}
    assert set(listed(client, closed_from=DAY.isoformat(), closed_to=DAY.isoformat())) == {str(orders["c"].pk)}
    assert set(listed(client, customer=str(orders["customer"].pk))) == {str(orders["f"].pk)}
    html = client.get(
        "/tickets/", {"closed_from": DAY.isoformat(), "closed_to": DAY.isoformat(), "customer": "5"}
    ).content.decode()
    assert f'name="closed_from" value="{DAY.isoformat()}"' in html
    assert f'name="closed_to" value="{DAY.isoformat()}"' in html and 'name="customer" value="5"' in html
    assert "派发日期从" in html and "办结日期从" in html


def test_the_page_in_english(client_for, staff, orders):
    client = client_for(staff[Role.ANALYST])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/tickets/").content.decode()
    assert "Dispatched from" in html and "Closed from" in html


def test_a_bad_date_is_said_on_the_page(client_for, staff, orders):
    html = client_for(staff[Role.ANALYST]).get("/tickets/", {"dispatched_from": "2026-13-01"}).content.decode()
    assert 'id="filter-errors"' in html


def test_the_page_makes_as_many_queries_with_the_new_filters(client_for, staff, orders):
    client = client_for(staff[Role.ANALYST])
    client.get("/tickets/")

    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/tickets/", params).status_code == 200
        return len(captured)

    plain = queries()
    assert queries(dispatched_from=DAY.isoformat(), dispatched_to=DAY.isoformat()) == plain
    assert queries(closed_from=DAY.isoformat(), closed_to=DAY.isoformat(), unit="B02") == plain


def test_the_export_has_the_same_filters(client_for, staff, orders):
    response = client_for(staff[Role.ANALYST]).get(
        "/tickets/export.csv", {"dispatched_from": DAY.isoformat(), "dispatched_to": DAY.isoformat()}
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = [line for line in body.splitlines() if line.strip()]
    assert len(lines) == 1 + 2  # the header and a, b
    assert {orders["a"].number, orders["b"].number} <= {line.split(",")[0] for line in lines[1:]}


def test_the_api_takes_the_same_filters(api_for, staff, orders):
    api = api_for(staff[Role.ANALYST])
    response = api.get("/api/tickets/", {"dispatched_from": DAY.isoformat(), "dispatched_to": DAY.isoformat()})
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {orders["a"].pk, orders["b"].pk}
    response = api.get("/api/tickets/", {"closed_from": DAY.isoformat(), "closed_to": DAY.isoformat()})
    assert {row["id"] for row in response.json()["results"]} == {orders["c"].pk}
    assert api.get("/api/tickets/", {"closed_to": "2026-02-30"}).status_code == 400
    # Without them, the list is as before.
    assert api.get("/api/tickets/").json()["count"] == 6


# --- the call list's look-ups ---------------------------------------------------------------


def test_tickets_for_calls_in_one_query_scoped(staff, django_assert_num_queries):
    agent, analyst = staff[Role.AGENT], staff[Role.ANALYST]
    contact = ticket_create(actor=agent, kind="consultation", category=Category.FEES, description="x", call_id="c-1")
    order = ticket_create(actor=agent, kind="complaint", category=Category.FEES, description="y", call_id="c-1")
    ticket_dispatch(ticket=order, actor=analyst, unit_code="B02")
    other = ticket_create(actor=agent, kind="complaint", category=Category.FEES, description="z", call_id="c-2")
    with django_assert_num_queries(1):
        found = tickets_for_calls(user=staff[Role.TEAM_LEAD], call_ids=["c-1", "c-2", "c-3", ""])
    assert [entry["number"] for entry in found["c-1"]] == [contact.number, order.number]
    assert found["c-1"][0]["number"] == f"{contact.pk:06d}" and found["c-1"][0]["url"] == f"/tickets/{contact.pk}/"
    assert found["c-1"][1]["state"] == "dispatched" and found["c-1"][1]["unit"].startswith("B02")
    assert [entry["pk"] for entry in found["c-2"]] == [other.pk] and "c-3" not in found
    # A unit's staff see their own unit's work orders only.
    assert tickets_for_calls(user=staff["unit_staff_b01"], call_ids=["c-1", "c-2"]) == {}
    assert [e["pk"] for e in tickets_for_calls(user=staff["unit_staff_b02"], call_ids=["c-1"])["c-1"]] == [order.pk]
    with django_assert_num_queries(0):
        assert tickets_for_calls(user=analyst, call_ids=[]) == {}


def test_customer_labels_in_one_query_scoped_and_masked(staff, branches, django_assert_num_queries):
    one = CustomerFactory(name="韩梅梅", mobile="13812345678", home_unit=branches[0])
    two = CustomerFactory(name="李雷", mobile="13987654321", home_unit=branches[1])
    with django_assert_num_queries(1):
        labels = customer_labels(user=staff[Role.AGENT], customer_ids=[one.pk, two.pk, None, 999_999, one.pk])
    assert labels == {
        one.pk: {"name": "韩梅梅", "mobile": "138****5678"},
        two.pk: {"name": "李雷", "mobile": "139****4321"},
    }
    assert set(customer_labels(user=staff["unit_staff_b01"], customer_ids=[one.pk, two.pk])) == {one.pk}
    with django_assert_num_queries(0):
        assert customer_labels(user=staff[Role.AGENT], customer_ids=[None]) == {}
