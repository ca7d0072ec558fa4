"""The director's dashboard (issue 14 point 3): who may open it, that the page carries all its data
(one response), that every figure links to exactly the rows behind it (the call search and the
work-order list count what the figure counts), Chinese by default and English, and a fixed
number of queries whatever the volume."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calls.demo import seed_call_history
from calls.search import call_search
from calls.services.cti import cti_events_ingest
from calls.views import CallSearchForm
from org.models import Unit
from org.roles import Role
from reports import rollups
from reports import selectors as rs
from tests.factories import make_staff
from tickets.forms import ListFilterForm
from tickets.models import CalendarYear, Category
from tickets.selectors import ticket_list
from tickets.services.calendar import calendar_sync_from_package
from tickets.services.contacts import ticket_create
from tickets.services.workflow import ticket_callback, ticket_close, ticket_dispatch, ticket_reply
from tickets.views.lists import filters_from

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

URL = "/reports/dashboard/"
# Every query of a page load, whatever the period and the volume (session, user, profile, the
# wallboard's snapshot, today's figures, the rollups of each chart, the work orders).
MAX_QUERIES = 19


@pytest.fixture(autouse=True)
def calendar_seeded(db):
    if not CalendarYear.objects.filter(year=timezone.localdate().year, complete=True).exists():
        calendar_sync_from_package()


def _data(response) -> dict:
    html = response.content.decode()
    match = re.search(r'<script id="dash-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page embeds its data"
    return json.loads(match.group(1))


def _config(response) -> dict:
    html = response.content.decode()
    match = re.search(r'<script id="dash-config" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def _calls_behind(url: str, user) -> int:
    """How many calls the call search lists for a dashboard link."""
    parts = urlsplit(url)
    assert parts.path == reverse("calls:search")
    form = CallSearchForm(QueryDict(parts.query))
    assert form.is_valid(), form.errors
    return call_search(user=user, filters=form.call_filter()).count()


def _tickets_behind(url: str, user) -> int:
    """How many work orders the list shows for a dashboard link (parsed as the list parses it)."""
    parts = urlsplit(url)
    assert parts.path == reverse("tickets:list")
    form = ListFilterForm(QueryDict(parts.query), units=Unit.objects.filter(is_active=True))
    assert form.is_valid(), form.errors
    return ticket_list(user=user, filters=filters_from(form)).count()


def _today_call(call_id: str, *, wait_s: int, answered: bool, agent_id: int | None, ended: bool = True) -> list[dict]:
    now = timezone.now()
    start_of_day = timezone.make_aware(datetime.combine(timezone.localdate(), datetime.min.time()))
    queued = max(now - timedelta(seconds=wait_s + 40), start_of_day + timedelta(seconds=1))
    events = [("offered", queued - timedelta(seconds=1), ""), ("queued", queued, "general")]
    if answered:
        events += [("answered", queued + timedelta(seconds=wait_s), "")]
        if ended:
            events += [("ended", queued + timedelta(seconds=wait_s + 30), "")]
    elif ended:
        events += [("ended", queued + timedelta(seconds=wait_s), "")]
    return [
        {
            "event_id": f"{call_id}-{n}",
            "call_id": call_id,
            "type": kind,
            "ts": ts,
            "queue": queue,
            "agent_id": agent_id if kind == "answered" else None,
            "data": {},
        }
        for n, (kind, ts, queue) in enumerate(events)
    ]


def _handled_ticket(staff, *, unit: str, satisfied: bool | None, late: bool = False):
    now = timezone.now()
    received = now - timedelta(days=20 if late else 3)
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.SERVICE_ATTITUDE,
        description="客户反映问题",
        received_at=received,
        now=received,
    )
    ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code=unit, now=received)
    member = staff["unit_staff_b01"] if unit == "B01" else staff["unit_staff_b02"]
    ticket_reply(ticket=ticket, actor=member, result="已处理", resolved=True, now=now - timedelta(days=1))
    if satisfied is not None:
        ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=satisfied, now=now - timedelta(hours=2))
    return ticket


@pytest.fixture
def center(staff, queues, make_agent, committed):
    """Three days of call history (with the IVR's), three calls today (one answered in time, one
    abandoned, one waiting: the agents are not ready), and work orders of B01 and B02 (closed, overdue, dispatched)."""
    agents = [make_agent(f"dash-agent-{n}", skills={"general": 3, "card": 2}, state="not_ready") for n in range(3)]
    seed_call_history(3)
    # A history call that began late yesterday may have been queued after midnight: today's own.
    before = rs.live_figures(timezone.localdate(), timezone.localdate())
    committed(cti_events_ingest, events=_today_call("today-1", wait_s=8, answered=True, agent_id=agents[0].pk))
    committed(cti_events_ingest, events=_today_call("today-2", wait_s=30, answered=False, agent_id=None))
    committed(cti_events_ingest, events=_today_call("today-3", wait_s=5, answered=False, agent_id=None, ended=False))
    _handled_ticket(staff, unit="B01", satisfied=True)
    _handled_ticket(staff, unit="B01", satisfied=False)
    _handled_ticket(staff, unit="B02", satisfied=True, late=True)
    overdue = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.FEES,
        description="收费问题",
        received_at=timezone.now() - timedelta(days=30),
        now=timezone.now() - timedelta(days=30),
    )
    ticket_dispatch(ticket=overdue, actor=staff[Role.ANALYST], unit_code="B02", now=timezone.now() - timedelta(days=30))
    today = timezone.localdate()
    rollups.rebuild(today - timedelta(days=4), today)  # the history is 3 days (one transaction on PG: few locks)
    return {"agents": agents, "director": staff[Role.DIRECTOR], "analyst": staff[Role.ANALYST], "before": before}


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.ANALYST])
def test_the_director_and_the_analyst_open_the_dashboard(client_for, staff, role):
    response = client_for(staff[role]).get(URL)
    assert response.status_code == 200
    assert "<h1>运营看板</h1>" in response.content.decode()


@pytest.mark.parametrize("role", [Role.TEAM_LEAD, Role.AGENT, Role.MAINTAINER, Role.RISK_OFFICER, "unit_staff_b01"])
def test_other_roles_are_refused(client_for, staff, role):
    assert client_for(staff[role]).get(URL).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("org:login"))


def test_the_url_name_resolves():
    assert reverse("reports:dashboard") == URL


def test_the_page_carries_every_chart_and_links_to_the_calls_behind_every_figure(client_for, center):
    director = center["director"]
    response = client_for(director).get(URL)
    data = _data(response)
    today = timezone.localdate()

    days = data["trend_days"]
    assert len(days) == 30 and days[-1]["key"] == today.isoformat()
    expected = {row["key"]: row for row in rs.trend_days(30, today=today)}
    for point in days:
        assert point["offered"] == expected[point["key"]]["offered"]
        assert _calls_behind(point["links"]["offered"], director) == point["offered"]
        assert _calls_behind(point["links"]["answered"], director) == point["answered"]
    assert sum(point["offered"] for point in days) > 300  # the history is there

    months = data["trend_months"]
    assert len(months) == 12 and months[-1]["key"] == today.strftime("%Y-%m")
    for point in months[-2:]:
        assert _calls_behind(point["links"]["offered"], director) == point["offered"]
        assert _calls_behind(point["links"]["answered"], director) == point["answered"]

    heatmap = data["heatmap"]
    assert len(heatmap["cells"]) == 7 * 24 and len(heatmap["weekdays"]) == 7
    busy = sorted(heatmap["cells"], key=lambda cell: -cell["value"][2])[:3]
    for cell in busy:
        assert cell["value"][2] > 0
        assert _calls_behind(cell["url"], director) == cell["value"][2]
    assert heatmap["max"] == busy[0]["value"][2]

    funnel = {stage["key"]: stage for stage in data["funnel"]}
    assert list(funnel) == ["entered", "self_served", "to_agent", "answered"]
    figures = rs.ivr_funnel(today - timedelta(days=29), today)
    assert {key: stage["value"] for key, stage in funnel.items()} == figures
    assert _calls_behind(funnel["answered"]["url"], director) == figures["answered"]
    assert funnel["entered"]["url"].startswith(reverse("ivr:statistics"))


def test_the_tiles_show_today_live_and_link_to_its_calls(client_for, center):
    director = center["director"]
    response = client_for(director).get(URL)
    html = unescape(response.content.decode())
    live = rs.today_live()
    b = center["before"]  # today's history calls (none, or one queued after midnight)
    offered, answered, abandoned = b["offered"] + 3, b["answered"] + 1, b["abandoned"] + 1
    assert (live["offered"], live["answered"], live["abandoned"], live["waiting"]) == (offered, answered, abandoned, 1)
    base = offered - b["short_abandoned"]  # today-2 waited 30 s (not short); today-3 still waits
    assert live["service_level"] == round((b["answered_in_t"] + 1) / base, 4)
    tiles = dict(re.findall(r'href="([^"]+)" data-tile="(\w+)"', html))
    tiles = {key: url for url, key in tiles.items()}
    assert _calls_behind(tiles["offered"], director) == offered
    assert _calls_behind(tiles["answered"], director) == answered
    assert _calls_behind(tiles["abandoned"], director) == abandoned
    # the numerator: answered within 20 s
    assert _calls_behind(tiles["service_level"], director) == b["answered_in_t"] + 1
    assert _calls_behind(tiles["waiting"], director) == 1
    values = dict(re.findall(r'data-value="(\w+)">([^<]*)<', html))
    assert values == {
        "offered": str(offered),
        "answered": str(answered),
        "abandoned": str(abandoned),
        "service_level": f"{live['service_level'] * 100:.1f}%",
        "waiting": "1",
    }
    states = dict(re.findall(r'data-state="(\w+)">(\d+)<', html))
    assert states["not_ready"] == "3" and set(states) == {"ready", "ringing", "on_call", "acw", "not_ready", "offline"}
    # The director follows the wallboard's pushes and may open the wallboard from the states.
    assert _config(response)["live"] is True and reverse("calls:wallboard") in html


def test_the_analyst_gets_the_live_channel_but_no_link_to_the_wallboard(client_for, center):
    response = client_for(center["analyst"]).get(URL)
    assert _config(response)["live"] is True
    assert reverse("calls:wallboard") not in response.content.decode()


def test_the_league_table_links_each_unit_to_its_work_orders(client_for, center):
    director = center["director"]
    html = unescape(client_for(director).get(URL).content.decode())
    rows = re.findall(r'<tr data-unit="(\w+)">(.*?)</tr>', html, re.S)
    assert [unit for unit, _row in rows] == ["B01", "B02"]  # 2 on time of 2 first, then 1 of 1 late
    b01 = dict(rows)["B01"]
    b02 = dict(rows)["B02"]
    # B01: two dispatched, one closed (on time, satisfied; the unsatisfied one goes back to work)
    assert re.findall(r">([^<>]+)</a></td>", b01)[1:] == ["2", "1", "100.0%", "100.0%", "0"]
    # B02: the one dispatched in the period closed late; one dispatched before it is overdue now
    assert re.findall(r">([^<>]+)</a></td>", b02)[1:] == ["1", "1", "0.0%", "100.0%", "1"]
    links = re.findall(r'<a href="([^"]+)">([^<]*)</a>', b02)
    overdue_url, overdue_text = links[-1]
    assert "overdue=on" in overdue_url and overdue_text == "1"
    assert _tickets_behind(overdue_url, director) == 1
    closed_url, closed_text = links[2]
    assert "closed_from=" in closed_url and closed_text == "1"
    assert _tickets_behind(closed_url, director) == 1
    figures = rs.ticket_figures(timezone.localdate() - timedelta(days=29), timezone.localdate())
    assert figures["total"]["overdue_now"] == 1 and figures["total"]["closed"] == 2


def _league_links(html: str) -> dict[str, dict[str, tuple[str, str]]]:
    """``{unit or "total": {figure: (url, text)}}`` of the league table's linked figures."""
    names = ("unit", "dispatched", "closed", "on_time", "satisfaction", "overdue_now")
    table = {}
    rows = re.findall(r'<tr data-unit="(\w+)">(.*?)</tr>', html, re.S)
    league = html[html.index('data-unit="') :]
    rows.append(("total", re.search(r"<tfoot>\s*<tr>(.*?)</tr>", league, re.S).group(1)))
    for unit, row in rows:
        table[unit] = dict(zip(names, re.findall(r'<a href="([^"]+)">([^<]*)</a>', row), strict=False))
    return table


def test_every_dispatched_and_closed_figure_of_the_league_lists_exactly_its_work_orders(client_for, center, staff):
    """The figures count by the day of first dispatch and of closure: a work order received before
    the period but dispatched in it counts, one dispatched before it does not, a contact settled on
    the phone is no closed work order; the list behind each link shows exactly those."""
    now = timezone.now()
    old = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.FEES,
        description="早先受理",
        received_at=now - timedelta(days=45),
        now=now - timedelta(days=45),
    )
    ticket_dispatch(ticket=old, actor=staff[Role.ANALYST], unit_code="B01", now=now - timedelta(days=2))
    settled = ticket_create(
        actor=staff[Role.AGENT], kind="consultation", category=Category.FEES, description="当场答复"
    )
    ticket_close(ticket=settled, actor=staff[Role.AGENT])
    director = center["director"]
    html = unescape(client_for(director).get(URL).content.decode())
    table = _league_links(html)
    assert set(table) >= {"B01", "B02"}
    figures = rs.ticket_figures(timezone.localdate() - timedelta(days=29), timezone.localdate())
    by_unit = {row["unit"]: row for row in figures["by_unit"]}
    assert by_unit["B01"]["dispatched"] == 3 and figures["total"]["closed"] == 2
    checked = 0
    for unit, links in table.items():
        expected = figures["total"] if unit == "total" else by_unit[unit]
        for figure in ("dispatched", "closed"):
            url, text = links[figure]
            assert f"{figure}_from=" in url and int(text) == expected[figure]
            assert _tickets_behind(url, director) == expected[figure], (unit, figure, url)
            checked += 1
        # The rates are of the work orders closed in the period: they link to the same rows.
        assert links["on_time"][0] == links["satisfaction"][0] == links["closed"][0]
    assert checked >= 4
    # The received-date list the links used to open was not the figure.
    received = _tickets_behind(
        f"{reverse('tickets:list')}?unit=B01&date_from={timezone.localdate() - timedelta(days=29)}", director
    )
    assert received != by_unit["B01"]["dispatched"]


def test_the_period_changes_the_heatmap_funnel_and_league_but_not_the_trends(client_for, center):
    client = client_for(center["director"])
    today = timezone.localdate()
    week = _data(client.get(URL, {"days": "7"}))
    assert week["period"] == {
        "date_from": (today - timedelta(days=6)).isoformat(),
        "date_to": today.isoformat(),
        "days": 7,
    }
    assert len(week["trend_days"]) == 30
    assert _data(client.get(URL, {"days": "9999"}))["period"]["days"] == 30
    assert _data(client.get(URL, {"days": "²"}))["period"]["days"] == 30


def test_chinese_by_default_and_english_works(client_for, center, settings):
    client = client_for(center["director"])
    html = client.get(URL).content.decode()
    assert "<h1>运营看板</h1>" in html and 'lang="zh-hans"' in html
    assert _config(client.get(URL))["language"] == "zh"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(URL)
    html = response.content.decode()
    assert "<h1>Dashboard</h1>" in html and 'lang="en"' in html
    config = _config(response)
    assert config["language"] == "en" and config["texts"]["offered"] == "Offered"
    assert _data(response)["heatmap"]["weekdays"][0] == "Mon"


def test_the_page_and_its_data_come_in_a_fixed_number_of_queries(client_for, staff, center, queues):
    client = client_for(center["director"])
    client.get(URL)  # warm the caches a first request fills (menus, translations)
    with CaptureQueriesContext(connection) as busy:
        client.get(URL, {"days": "90"})
    make_staff(Role.AGENT, username="extra-agent")
    with CaptureQueriesContext(connection) as week:
        client.get(URL, {"days": "7"})
    assert len(busy) == len(week) <= MAX_QUERIES


def test_an_empty_center_renders_with_null_ratios(client_for, staff, queues, django_assert_max_num_queries):
    client = client_for(staff[Role.DIRECTOR])
    client.get(URL)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(URL)
    data = _data(response)
    assert all(point["service_level"] is None for point in data["trend_days"])
    assert data["heatmap"]["max"] == 0
    assert [stage["share"] for stage in data["funnel"]] == ["—"] * 4


def test_drill_down_urls_fall_back_to_the_public_path_without_the_url_name(monkeypatch):
    from django.urls import NoReverseMatch

    from reports.views import dashboard

    def missing(name, *args, **kwargs):
        if name == "calls:search":
            raise NoReverseMatch(name)
        return reverse(name, *args, **kwargs)

    monkeypatch.setattr(dashboard, "reverse", missing)
    assert dashboard._calls_url() == "/calls/"
