"""The report tables (reports/views/tables.py): who may open them, the filters, the figures and
their drill-down links, a fixed number of queries per page, and the monthly report's page.

Figures are read from the rollups, so the tests write rollup rows (``CallInterval``…) whose
expected figures are worked out by hand; the rollups' own correctness is tested with the KPIs.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from org.roles import Role
from reports import rollups
from reports.forms import MAX_DAYS, ReportFilterForm, preset_range
from reports.models import AgentStateInterval, CallInterval, IvrInterval, IvrNodeInterval
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
DAY = date(2026, 11, 3)  # a Tuesday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def interval(start, queue, agent=None, **sums):
    row = CallInterval.objects.create(start=start, queue_id=queue.pk, agent_id=agent.pk if agent else 0, **sums)
    rollups.refresh_days([timezone.localdate(start)])  # the day rows are the intervals added up
    return row


@pytest.fixture
def center(queues):
    return build_center(queues)


def build_center(queues):
    """Two agents; calls on 2026-11-03 in two intervals and two queues, worked out by hand:

    general 09:00, agent01: 10 offered, 8 answered (6 within 20 s), wait 80 s, talk 800 s,
    hold 40 s, after-call work 160 s (8 handled); general 09:00, no agent: 2 abandoned (1 short).
    card 09:30, agent02: 4 offered, 4 answered (4 within 20 s), wait 20 s, talk 400 s (4 handled).
    """
    a1 = make_staff(Role.AGENT, username="agent01")
    a1.first_name, a1.last_name = "伟", "张"
    a1.save()
    a2 = make_staff(Role.AGENT, username="agent02")
    general, card = queues["general"], queues["card"]
    nine, half_past = at(DAY, 9), at(DAY, 9, 30)
    interval(
        nine, general, a1, offered=8, answered=8, answered_in_t=6, wait_ms=80_000, handled=8,
        talk_ms=800_000, hold_ms=40_000, acw_ms=160_000, held=2, transferred=1, max_wait_ms=30_000,
    )  # fmt: skip
    interval(nine, general, None, offered=2, abandoned=2, short_abandoned=1, abandoned_wait_ms=12_000)
    interval(
        half_past, card, a2, offered=4, answered=4, answered_in_t=4, wait_ms=20_000, handled=4, talk_ms=400_000,
        max_wait_ms=9_000,
    )  # fmt: skip
    for agent, state, reason, ms in (
        (a1, "ready", "", 600_000),
        (a1, "on_call", "", 1_000_000),
        (a1, "acw", "", 160_000),
        (a1, "not_ready", "meal", 1_800_000),
        (a2, "ready", "", 1_200_000),
        (a2, "on_call", "", 400_000),
    ):
        AgentStateInterval.objects.create(start=nine, agent_id=agent.pk, state=state, reason=reason, ms=ms)
    IvrInterval.objects.create(start=nine, calls=20, self_served=12, to_agent=7, in_progress=1, auth_failures=2)
    IvrNodeInterval.objects.create(start=nine, node="main", visits=20, exits=3)
    IvrNodeInterval.objects.create(start=nine, node="balance", visits=9, exits=9)
    return {"agent01": a1, "agent02": a2, "general": general, "card": card}


def get(client, url, **params):
    return client.get(url, {"date_from": DAY.isoformat(), "date_to": DAY.isoformat(), **params})


def table_rows(html: str) -> list[list[str]]:
    """The cells' text of every body row of the page's tables (tags stripped)."""
    import re

    rows = []
    for body in re.findall(r"<tbody>(.*?)</tbody>", html, re.S):
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            rows.append(
                [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            )
    return rows


def links(html: str, prefix: str = "/calls/?") -> list[dict[str, list[str]]]:
    import html as html_lib
    import re

    return [
        parse_qs(urlsplit(html_lib.unescape(href)).query)
        for href in re.findall(r'href="([^"]+)"', html)
        if html_lib.unescape(href).startswith(prefix)
    ]


# --- who ------------------------------------------------------------------------------------

TEAM_PAGES = ["/reports/agents/", "/reports/queues/", "/reports/intervals/"]
ANALYST_PAGES = ["/reports/ivr/", "/reports/tickets/", "/reports/monthly/", "/reports/monthly.xlsx"]


@pytest.mark.parametrize("url", TEAM_PAGES + ANALYST_PAGES + ["/reports/"])
@pytest.mark.parametrize("role", [Role.ANALYST, Role.DIRECTOR])
def test_the_analyst_and_the_director_open_every_report(client_for, queues, role, url):
    assert client_for(make_staff(role)).get(url).status_code == 200


@pytest.mark.parametrize("url", TEAM_PAGES + ["/reports/"])
def test_a_team_lead_opens_the_agent_queue_and_interval_tables(client_for, queues, url):
    assert client_for(make_staff(Role.TEAM_LEAD)).get(url).status_code == 200


@pytest.mark.parametrize("url", ANALYST_PAGES)
def test_a_team_lead_may_not_open_the_analysts_reports(client_for, queues, url):
    assert client_for(make_staff(Role.TEAM_LEAD)).get(url).status_code == 403


@pytest.mark.parametrize("url", TEAM_PAGES + ANALYST_PAGES + ["/reports/", "/reports/queues/?format=csv"])
@pytest.mark.parametrize("role", [Role.AGENT, Role.UNIT_STAFF, Role.MAINTAINER, Role.RISK_OFFICER])
def test_other_roles_are_refused(client_for, queues, role, url):
    assert client_for(make_staff(role)).get(url).status_code == 403


def test_anonymous_users_go_to_the_login_page(client, queues):
    response = client.get("/reports/queues/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_team_leads_index_lists_only_their_reports(client_for, queues):
    html = client_for(make_staff(Role.TEAM_LEAD)).get("/reports/").content.decode()
    assert "/reports/agents/" in html and "/reports/queues/" in html and "/reports/intervals/" in html
    assert "/reports/ivr/" not in html and "/reports/monthly/" not in html


# --- figures and links ----------------------------------------------------------------------


def test_the_queue_table_shows_each_queues_figures_and_the_total(client_for, center):
    html = get(client_for(make_staff(Role.ANALYST)), "/reports/queues/").content.decode()
    rows = {row[0]: row for row in table_rows(html)}
    general = rows[center["general"].display_name]
    # offered, answered, in 20 s, abandoned, short, SL, abandon rate, ASA, AHT …
    assert general[1:10] == ["10", "8", "6", "2", "1", "66.7%", "11.1%", "0:10", "2:05"]
    card = rows[center["card"].display_name]
    assert card[1:10] == ["4", "4", "4", "0", "0", "100.0%", "0.0%", "0:05", "1:40"]
    assert "—" in card  # no abandons: their average wait has no value
    total = table_rows(html.replace("<tfoot>", "<tbody>").replace("</tfoot>", "</tbody>"))[-1]
    # 10 within 20 s ÷ (14 − 1) = 76.9%; ASA 100 s ÷ 12; AHT 1,400 s ÷ 12 = 1:57
    assert total[1:10] == ["14", "12", "10", "2", "1", "76.9%", "7.7%", "0:08", "1:57"]


def test_every_count_of_calls_links_to_the_calls_it_counts(client_for, center):
    html = get(client_for(make_staff(Role.ANALYST)), "/reports/queues/").content.decode()
    found = links(html)
    day = [DAY.isoformat()]
    assert {"date_from": day, "date_to": day, "queue": ["general"]} in found  # offered: every queued call
    assert {"date_from": day, "date_to": day, "queue": ["general"], "outcome": ["abandoned"]} in found
    assert {"date_from": day, "date_to": day, "queue": ["general"], "outcome": ["short_abandoned"]} in found
    assert {"date_from": day, "date_to": day, "queue": ["card"], "outcome": ["answered_in_t"]} in found
    assert {"date_from": day, "date_to": day, "outcome": ["answered"]} in found  # the total row
    # A zero is not a link.
    assert {"date_from": day, "date_to": day, "queue": ["card"], "outcome": ["abandoned"]} not in found


def test_the_interval_table_has_a_row_per_half_hour_linked_to_that_interval(client_for, center):
    html = get(client_for(make_staff(Role.TEAM_LEAD)), "/reports/intervals/").content.decode()
    rows = table_rows(html)
    assert [row[0] for row in rows] == ["11-03 09:00", "11-03 09:30"]
    assert rows[0][1:4] == ["10", "8", "6"]
    assert {
        "date_from": [DAY.isoformat()],
        "date_to": [DAY.isoformat()],
        "interval": ["2026-11-03T09:30"],
        "outcome": ["answered"],
    } in links(html)


def test_the_interval_table_per_day_and_per_queue(client_for, center):
    client = client_for(make_staff(Role.TEAM_LEAD))
    html = get(client, "/reports/intervals/", by="day", queue="card").content.decode()
    rows = table_rows(html)
    assert rows == [[DAY.isoformat(), "4", "4", "4", "0", "0", "100.0%", "0.0%", "0:05", "1:40", "0:09"]]
    assert {"date_from": [DAY.isoformat()], "date_to": [DAY.isoformat()], "queue": ["card"]} in links(html)


def test_the_agent_table_shows_calls_state_time_reasons_and_occupancy(client_for, center):
    html = get(client_for(make_staff(Role.TEAM_LEAD)), "/reports/agents/").content.decode()
    rows = {row[1]: row for row in table_rows(html)}
    a1 = rows["agent01"]
    assert a1[0] == "张伟"
    # answered, AHT, talk, hold, ACW, handle time, held, transferred
    assert a1[2:10] == ["8", "2:05", "1:40", "0:05", "0:20", "16:40", "2", "1"]
    # logged in, ready, busy, not ready, not ready: meal, occupancy = 1,160 ÷ (1,160 + 600)
    assert a1[10:] == ["59:20", "10:00", "19:20", "30:00", "30:00", "65.9%"]
    assert rows["agent02"][-1] == "25.0%"
    assert "用餐" in html or "Meal" in html  # the reason's column
    assert {
        "date_from": [DAY.isoformat()],
        "date_to": [DAY.isoformat()],
        "agent": ["agent01"],
        "outcome": ["answered"],
    } in links(html)


def test_the_agent_table_of_one_agent(client_for, center):
    html = get(client_for(make_staff(Role.TEAM_LEAD)), "/reports/agents/", agent="agent02").content.decode()
    assert [row[1] for row in table_rows(html)] == ["agent02"]


def test_the_ivr_page_shows_node_usage_and_containment(client_for, center):
    html = get(client_for(make_staff(Role.ANALYST)), "/reports/ivr/").content.decode()
    rows = table_rows(html)
    assert rows[0][1:] == ["main", "20", "3"] and rows[1][1:] == ["balance", "9", "9"]
    assert rows[2] == ["20", "12", "7", "1", "60.0%", "2", "0"]


def test_the_work_order_report_per_unit_and_category(client_for, staff):
    from tickets.models import Category
    from tickets.services.contacts import ticket_create
    from tickets.services.workflow import ticket_dispatch

    for unit in ("B01", "B01", "B02"):
        ticket = ticket_create(
            actor=staff[Role.AGENT], kind="complaint", category=Category.FEES, description="x", received_at=at(DAY, 9)
        )
        ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code=unit, now=at(DAY, 10))
    client = client_for(staff[Role.ANALYST])
    html = get(client, "/reports/tickets/").content.decode()
    rows = {row[0].split(" ")[0]: row for row in table_rows(html)}
    assert rows["B01"][1:3] == ["2", "0"] and rows["B02"][1:3] == ["1", "0"]
    assert {"unit": ["B01"]} in links(html, "/tickets/?")
    html = get(client, "/reports/tickets/", unit="B02").content.decode()
    rows = table_rows(html)
    assert rows[0][0].startswith("B02") and len([row for row in rows if row[0].startswith("B0")]) == 1
    assert any(row[1] == "1" for row in rows[1:])  # the category table of B02 only


def _ticket_figure_cells(html: str) -> list[tuple[str, str, str, str]]:
    """``(row label, figure, url, text)`` of the dispatched (2nd) and closed (3rd) cells of every
    row, total included, of the page's work-order tables."""
    import html as html_lib
    import re

    cells = []
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        tds = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if len(tds) < 3:
            continue
        label = re.sub(r"<[^>]+>", "", tds[0]).strip()
        for figure, cell in (("dispatched", tds[1]), ("closed", tds[2])):
            link = re.search(r'<a href="([^"]+)">([^<]*)</a>', cell)
            text = re.sub(r"<[^>]+>", "", cell).strip()
            cells.append((label, figure, html_lib.unescape(link.group(1)) if link else "", text))
    return cells


def _tickets_behind(url: str, user) -> int:
    """How many work orders the list shows for a link (parsed as the list parses it)."""
    from django.http import QueryDict

    from org.models import Unit
    from tickets.forms import ListFilterForm
    from tickets.selectors import ticket_list
    from tickets.views.lists import filters_from

    parts = urlsplit(url)
    assert parts.path == "/tickets/"
    form = ListFilterForm(QueryDict(parts.query), units=Unit.objects.filter(is_active=True))
    assert form.is_valid(), form.errors
    return ticket_list(user=user, filters=filters_from(form)).count()


def test_every_dispatched_and_closed_figure_lists_exactly_its_work_orders(client_for, staff):
    """Dispatched counts by the day of first dispatch, closed by the day of closure (contacts
    settled on the phone are no closed work orders): each figure's link lists exactly those rows,
    per unit, per category, per category of one unit and in total."""
    from tickets.models import Category
    from tickets.services.contacts import ticket_create
    from tickets.services.workflow import ticket_close, ticket_dispatch, ticket_reply

    def work_order(unit: str, category: str, *, received: datetime, dispatched: datetime, closed=None):
        ticket = ticket_create(
            actor=staff[Role.AGENT], kind="complaint", category=category, description="x", received_at=received,
            now=received,
        )  # fmt: skip
        ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code=unit, now=dispatched)
        if closed is not None:
            member = staff["unit_staff_b01"] if unit == "B01" else staff["unit_staff_b02"]
            ticket_reply(ticket=ticket, actor=member, result="已处理", resolved=True, now=closed - timedelta(hours=1))
            ticket_close(ticket=ticket, actor=staff[Role.AGENT], now=closed)
        return ticket

    before = DAY - timedelta(days=10)
    work_order("B01", Category.FEES, received=at(before, 9), dispatched=at(DAY, 10))  # received before, counts
    work_order("B01", Category.FEES, received=at(DAY, 9), dispatched=at(DAY, 9, 30), closed=at(DAY, 16))
    work_order("B01", Category.SERVICE_ATTITUDE, received=at(before, 9), dispatched=at(before, 10), closed=at(DAY, 11))
    work_order("B02", Category.FEES, received=at(DAY, 8), dispatched=at(DAY, 8, 30))
    work_order("B02", Category.FEES, received=at(before, 8), dispatched=at(before, 9))  # neither
    settled = ticket_create(
        actor=staff[Role.AGENT], kind="consultation", category=Category.FEES, description="当场答复",
        received_at=at(DAY, 9), now=at(DAY, 9),
    )  # fmt: skip
    ticket_close(ticket=settled, actor=staff[Role.AGENT], now=at(DAY, 9, 5))
    analyst = staff[Role.ANALYST]
    client = client_for(analyst)
    for params in ({}, {"unit": "B01"}):
        cells = _ticket_figure_cells(get(client, "/reports/tickets/", **params).content.decode())
        linked = [cell for cell in cells if cell[2]]
        assert len(linked) >= 6, cells
        for label, figure, url, text in linked:
            assert f"{figure}_from={DAY.isoformat()}" in url and f"{figure}_to={DAY.isoformat()}" in url
            assert _tickets_behind(url, analyst) == int(text), (params, label, figure, url)
        totals = {figure: text for label, figure, _url, text in cells if label in {"合计", "Total"}}
        if not params:
            assert totals == {"dispatched": "3", "closed": "2"}  # the contact settled on the phone is not one
        else:
            assert totals == {"dispatched": "2", "closed": "2"}
            fees = [cell for cell in linked if cell[2].find("category=fees") >= 0]
            assert fees and all("unit=B01" in url for _label, _figure, url, _text in fees)


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "0001-01-01"}, "date_from"),
        ({"date_from": "9999-12-31"}, "date_from"),
        ({"date_from": "2026-11-05", "date_to": "2026-11-01"}, "date_to"),
        ({"date_from": "2020-01-01", "date_to": "2026-01-01"}, "date_to"),
        ({"period": "next_year"}, "period"),
        ({"queue": "no-such-queue"}, "queue"),
        ({"agent": "nobody"}, "agent"),
        ({"by": "fortnight"}, "by"),
        ({"date_from": "2026-01-01", "date_to": "2026-03-31"}, "date_to"),  # 30-minute rows: 31 days at most
    ],
)
def test_bad_filters_are_a_form_error_not_a_500(client_for, center, params, field):
    response = client_for(make_staff(Role.ANALYST)).get("/reports/intervals/", params)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'class="rp-errors"' in response.content.decode()
    # …and the export of a bad filter is the page with the error, not a file.
    response = client_for(make_staff(Role.ANALYST)).get("/reports/intervals/", {**params, "format": "csv"})
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")


def test_a_long_period_is_fine_per_day(client_for, center):
    response = client_for(make_staff(Role.ANALYST)).get(
        "/reports/intervals/", {"date_from": "2026-01-01", "date_to": "2026-11-30", "by": "day"}
    )
    assert response.status_code == 200


def test_at_most_400_days(queues):
    ok = ReportFilterForm({"date_from": "2025-01-01", "date_to": "2026-02-04"})
    assert ok.is_valid() and (ok.cleaned_data["date_to"] - ok.cleaned_data["date_from"]).days + 1 == MAX_DAYS
    assert not ReportFilterForm({"date_from": "2025-01-01", "date_to": "2026-02-05"}).is_valid()


def test_one_date_alone_is_that_day(queues):
    form = ReportFilterForm({"date_to": "2026-11-03"})
    assert form.is_valid() and form.cleaned_data["date_from"] == form.cleaned_data["date_to"] == DAY


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("today", (date(2026, 12, 1), date(2026, 12, 1))),
        ("yesterday", (date(2026, 11, 30), date(2026, 11, 30))),
        ("this_week", (date(2026, 11, 30), date(2026, 12, 1))),  # weeks start on Monday
        ("this_month", (date(2026, 12, 1), date(2026, 12, 1))),
        ("last_month", (date(2026, 11, 1), date(2026, 11, 30))),
    ],
)
def test_period_presets(preset, expected):
    assert preset_range(preset, date(2026, 12, 1)) == expected


def test_last_month_in_january_is_last_years_december():
    assert preset_range("last_month", date(2027, 1, 15)) == (date(2026, 12, 1), date(2026, 12, 31))


def test_a_preset_wins_over_dates_and_the_page_marks_it(client_for, center):
    response = client_for(make_staff(Role.ANALYST)).get(
        "/reports/queues/", {"period": "yesterday", "date_from": "2020-01-01"}
    )
    yesterday = timezone.localdate() - timedelta(days=1)
    assert response.context["filters"].date_from == yesterday == response.context["filters"].date_to
    assert 'class="rp-chip active"' in response.content.decode()


# --- queries --------------------------------------------------------------------------------


def _more_data(center, days: int) -> None:
    """Many more rollup rows: other days, intervals, agents, reasons."""
    for n in range(days):
        day = DAY - timedelta(days=n + 1)
        for hour in range(8, 20):
            interval(at(day, hour), center["card"], center["agent02"], offered=3, answered=3, handled=3, talk_ms=1)
            AgentStateInterval.objects.create(
                start=at(day, hour), agent_id=center["agent02"].pk, state="not_ready", reason="training", ms=5
            )
            IvrNodeInterval.objects.create(start=at(day, hour), node=f"n{hour}", visits=1)
    make_staff(Role.AGENT, username="agent03")


@pytest.mark.parametrize(
    "url",
    [
        "/reports/queues/",
        "/reports/agents/",
        "/reports/intervals/",
        "/reports/intervals/?by=day",
        "/reports/ivr/",
        "/reports/tickets/",
        "/reports/queues/?format=xlsx",
        "/reports/agents/?format=csv",
        "/reports/monthly/?month=2026-11",
        "/reports/monthly.xlsx?month=2026-11",
    ],
)
def test_a_page_makes_the_same_number_of_queries_whatever_the_data(client_for, center, url):
    client = client_for(make_staff(Role.ANALYST))
    params = {"date_from": (DAY - timedelta(days=9)).isoformat(), "date_to": DAY.isoformat()}
    if "month" in url:
        params = {}
        # The month before too has an agent (an empty set of ids is no query at all).
        october = at(date(2026, 10, 20), 9)
        interval(october, center["general"], center["agent01"], offered=1, answered=1)
        AgentStateInterval.objects.create(start=october, agent_id=center["agent01"].pk, state="ready", ms=1)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
            assert response.status_code == 200
            b"".join(response.streaming_content) if response.streaming else response.content
        return len(queries)

    few = count()
    _more_data(center, 9)
    assert count() == few
    assert few <= 40


# --- language -------------------------------------------------------------------------------


def test_the_page_is_chinese_by_default_and_english_on_request(client_for, center):
    client = client_for(make_staff(Role.ANALYST))
    html = get(client, "/reports/queues/").content.decode()
    with translation.override("zh-hans"):
        from reports.call_tables import _call_columns

        chinese = [str(column.label) for column in _call_columns("offered", "answered_in_t")]
    assert all(f">{text}</th>" in html for text in chinese)
    assert "队列" in html  # a label the catalogue already translates
    client.cookies["django_language"] = "en"
    html = get(client, "/reports/queues/").content.decode()
    assert ">Offered</th>" in html and ">Answered within 20 s</th>" in html


# --- the monthly report's page --------------------------------------------------------------


def test_the_monthly_page_compares_the_month_with_the_one_before(client_for, center):
    interval(at(date(2026, 10, 15), 10), center["general"], center["agent01"], offered=7, answered=7, answered_in_t=7)
    client = client_for(make_staff(Role.ANALYST))
    client.cookies["django_language"] = "en"
    response = client.get("/reports/monthly/", {"month": "2026-11"})
    html = response.content.decode()
    assert response.status_code == 200
    summary = {row[0]: row[1:] for row in table_rows(html)}
    assert summary["Offered"] == ["14", "7", "+100.0%"]
    assert summary["Service level (answered within 20 s)"] == ["76.9%", "100.0%", "−23.1 pp"]
    # The sections of the printed report, one per page, and the chart.
    assert html.count('class="rp-print-section') == 8  # with callbacks, loss reports, IVR refusals
    assert "<svg" in html and "polyline" in html
    assert "reports-print.css" in html and 'media="print"' in html
    assert "/reports/monthly.xlsx?month=2026-11" in html


def test_the_monthly_report_defaults_to_last_month(client_for, queues):
    response = client_for(make_staff(Role.DIRECTOR)).get("/reports/monthly/")
    first = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    assert response.context["month"] == f"{first:%Y-%m}"


@pytest.mark.parametrize("month", ["2026-13", "26-11", "2026-1", "０２６-11", "0000-01", "9999-12", "2999-12", "x"])
def test_a_bad_month_is_a_form_error(client_for, queues, month):
    client = client_for(make_staff(Role.ANALYST))
    for url in ("/reports/monthly/", "/reports/monthly.xlsx"):
        response = client.get(url, {"month": month})
        assert response.status_code == 400 and "month" in response.context["form"].errors


def test_the_print_stylesheet_is_a4_without_navigation_and_breaks_between_sections():
    from pathlib import Path

    from django.conf import settings

    css = (Path(settings.BASE_DIR) / "static" / "reports" / "reports-print.css").read_text()
    assert "@page { size: A4" in css
    assert ".topbar" in css and "display: none" in css
    assert ".rp-print-section + .rp-print-section { break-before: page; }" in css
