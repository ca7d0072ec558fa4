"""The director's dashboard in Chromium (issue 14 point 3): the charts draw from the embedded data,
a heatmap cell and a trend bar open the calls behind them (as many as the figure says), a league
table figure opens the work orders behind it; Chinese and English, with screenshots. On
PostgreSQL, through uvicorn, the tiles follow the wallboard's pushes.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone

from agents.models import AgentState
from agents.services import agent_state_set
from calls.demo import seed_call_history
from org.roles import Role
from reports import rollups
from tests import test_calls_browser
from tests.factories import PASSWORD
from tickets.models import CalendarYear, Category
from tickets.services.calendar import calendar_sync_from_package
from tickets.services.contacts import ticket_create
from tickets.services.workflow import ticket_dispatch

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "var" / "screenshots"
URL = "/reports/dashboard/"
# uvicorn in a subprocess on the PostgreSQL test database (websockets): the fixture ``asgi_server``.
asgi_server = test_calls_browser.asgi_server
CHARTS_DRAWN = "() => window.echarts && echarts.getInstanceByDom(document.getElementById('chart-funnel'))"


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield chromium
        chromium.close()
        connections.close_all()
    connections.close_all()


@pytest.fixture
def center(staff, queues, make_agent):
    """Two days of call history (with the IVR's), an overdue work order of B01, the rollups."""
    if not CalendarYear.objects.filter(year=timezone.localdate().year, complete=True).exists():
        calendar_sync_from_package()
    for n in range(3):
        make_agent(f"dash-agent-{n}", skills={"general": 3, "card": 2}, state=AgentState.NOT_READY)
    seed_call_history(2)
    received = timezone.now() - timedelta(days=30)
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind="complaint",
        category=Category.FEES,
        description="收费问题",
        received_at=received,
        now=received,
    )
    ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code="B01", now=received)
    today = timezone.localdate()
    rollups.rebuild(today - timedelta(days=3), today)
    return staff


def login(browser, base: str, username: str, language: str):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{URL}")
    page.wait_for_function(CHARTS_DRAWN)
    return context, page, errors


def _point(page, chart_id: str, value: list) -> tuple[float, float]:
    """The page coordinates of a data value in a chart (after scrolling the chart into view)."""
    return page.evaluate(
        """([id, value]) => {
          const node = document.getElementById(id);
          node.scrollIntoView({block: "center"});
          const chart = echarts.getInstanceByDom(node);
          const [x, y] = chart.convertToPixel({seriesIndex: 0}, value);
          const box = node.getBoundingClientRect();
          return [box.left + x, box.top + y];
        }""",
        [chart_id, value],
    )


def _count(page) -> int:
    return int(re.sub(r"\D", "", page.locator("#calls-count").inner_text()))


def test_the_director_drills_down_from_the_charts_and_the_league_table(browser, live_server, center):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    context, page, errors = login(browser, base, "director", "zh-hans")
    try:
        assert page.locator("main h1").inner_text() == "运营看板"
        for chart in ("chart-days", "chart-months", "chart-heatmap", "chart-funnel"):
            assert page.locator(f"#{chart} canvas").count() == 1, chart
        page.screenshot(path=str(SHOTS / "dashboard-zh.png"), full_page=True)

        # The busiest heatmap cell: its calls, exactly as many as the cell counts.
        data = page.evaluate("() => JSON.parse(document.getElementById('dash-data').textContent)")
        cell = max(data["heatmap"]["cells"], key=lambda c: c["value"][2])
        x, y = _point(page, "chart-heatmap", cell["value"][:2])
        with page.expect_navigation():
            page.mouse.click(x, y)
        assert "/calls/?" in page.url and f"hour={cell['url'].split('hour=')[1]}" in page.url
        assert _count(page) == cell["value"][2] > 0
        page.screenshot(path=str(SHOTS / "dashboard-drill-heatmap-zh.png"))
        page.go_back()
        page.wait_for_function(
            "() => window.echarts && echarts.getInstanceByDom(document.getElementById('chart-days'))"
        )

        # Yesterday's bar of calls offered.
        yesterday = data["trend_days"][-2]
        x, y = _point(page, "chart-days", [len(data["trend_days"]) - 2, max(1, yesterday["offered"] // 2)])
        with page.expect_navigation():
            page.mouse.click(x, y)
        assert yesterday["links"]["offered"].split("?")[1] in page.url
        assert _count(page) == yesterday["offered"] > 0
        page.go_back()

        # The league table: B01's work order overdue now.
        page.wait_for_selector('#league tr[data-unit="B01"]')
        with page.expect_navigation():
            page.locator('#league tr[data-unit="B01"] td:last-child a').click()
        assert "/tickets/?" in page.url and "overdue=on" in page.url and "unit=B01" in page.url
        assert page.locator("table tbody tr").count() == 1
        page.go_back()

        # English: the page and the charts' own labels.
        page.wait_for_selector("#lang-select")
        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        page.wait_for_function(
            "() => window.echarts && echarts.getInstanceByDom(document.getElementById('chart-days'))"
        )
        assert page.locator("main h1").inner_text() == "Dashboard"
        legend = page.evaluate(
            "() => echarts.getInstanceByDom(document.getElementById('chart-days')).getOption().legend[0].data"
        )
        assert legend == ["Offered", "Answered", "Service level"]
        assert "Mon" in page.evaluate(
            "() => echarts.getInstanceByDom(document.getElementById('chart-heatmap')).getOption().yAxis[0].data"
        )
        page.screenshot(path=str(SHOTS / "dashboard-en.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


# A stand-in for the browser's WebSocket: it opens, then delivers what the test sends it.
FAKE_SOCKET = """
window.__sockets = [];
window.WebSocket = class {
  constructor(url) { this.url = url; window.__sockets.push(this); setTimeout(() => this.onopen && this.onopen(), 0); }
  send() {}
  close() {}
};
"""


def _push(page, message: dict) -> None:
    page.evaluate("(m) => window.__sockets[0].onmessage({data: JSON.stringify(m)})", message)


def test_the_tiles_apply_the_pushed_totals(browser, live_server, center):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.add_init_script(FAKE_SOCKET)
    page = context.new_page()
    try:
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "director")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}{URL}")
        page.wait_for_selector("#link.link-up")
        assert page.evaluate("() => window.__sockets[0].url").endswith("/ws/wallboard/")
        now = timezone.now().isoformat()
        queues = [{"code": "general", "waiting": 4}, {"code": "card", "waiting": 1}]
        agents = [{"state": "ready"}, {"state": "on_call"}, {"state": "on_call"}]
        # Without totals: the waiting calls and the agents follow, the KPIs stay as loaded.
        offered_before = page.locator('[data-value="offered"]').inner_text()
        _push(page, {"type": "wallboard", "at": now, "queues": queues, "agents": agents})
        assert page.locator('[data-value="waiting"]').inner_text() == "5"
        assert page.locator('[data-state="on_call"]').inner_text() == "2"
        assert page.locator('[data-state="not_ready"]').inner_text() == "0"
        assert page.locator('[data-value="offered"]').inner_text() == offered_before
        # With the push's totals: every tile, and the low service level shows.
        today = {"offered": 120, "answered": 100, "abandoned": 15, "service_level": 0.5, "asa_s": 9}
        _push(page, {"type": "wallboard", "at": now, "queues": queues, "agents": agents, "today": today})
        values = [page.locator(f'[data-value="{key}"]').inner_text() for key in ("offered", "answered", "abandoned")]
        assert values == ["120", "100", "15"]
        assert page.locator('[data-value="service_level"]').inner_text() == "50.0%"
        assert "tile-low" in page.locator('[data-tile="service_level"]').get_attribute("class")
        assert page.locator("#updated").inner_text().startswith("更新于")
    finally:
        context.close()


@pytest.mark.postgres
def test_the_tiles_follow_the_wallboard_pushes(browser, asgi_server, center):
    context, page, errors = login(browser, asgi_server, "director", "zh-hans")
    try:
        page.wait_for_selector("#link.link-up", timeout=10_000)
        assert page.locator('[data-state="not_ready"]').inner_text() == "3"
        agent_state_set(agent=User.objects.get(username="dash-agent-0"), state=AgentState.OFFLINE)
        page.wait_for_function(
            "() => document.querySelector('[data-state=\"not_ready\"]').textContent === '2'", timeout=10_000
        )
        assert page.locator('[data-state="offline"]').inner_text() != "0"
        assert page.locator("#updated").inner_text().startswith("更新于")
        page.screenshot(path=str(SHOTS / "dashboard-live-zh.png"))
        assert errors == []
    finally:
        context.close()
