"""An agent's own figures today on their desktop (issue 14 point 6): ``reports.agent_figures``
and the fragment ``/reports/me/today/`` the desktop loads with htmx."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.urls import include, path
from django.utils import timezone

from agents.models import AgentStateLog
from calls.services.cti import cti_events_ingest
from contactcenter.urls import urlpatterns as root_urlpatterns
from org.roles import Role
from reports.agent_figures import agent_today
from reports.views import me
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_reports_me")]

# The fragment's route, whether or not reports/urls.py includes it yet (first match wins).
urlpatterns = [path("reports/", include(me.urlpatterns)), *root_urlpatterns]

TZ = timezone.get_default_timezone()
DAY = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
NOW = DAY + timedelta(hours=1)
URL = "/reports/me/today/"


def _call(call_id, agent, *, at, talk=100, acw=20, wait=5):
    events = [
        ("offered", at - timedelta(seconds=30), {}),
        ("queued", at, {"queue": "general"}),
        ("answered", at + timedelta(seconds=wait), {"agent_id": agent.pk}),
        ("ended", at + timedelta(seconds=wait + talk), {}),
        ("wrapup", at + timedelta(seconds=wait + talk + acw), {}),
    ]
    cti_events_ingest(
        events=[
            {
                "event_id": f"{call_id}-{n}",
                "call_id": call_id,
                "type": kind,
                "ts": ts,
                "queue": extra.get("queue", ""),
                "agent_id": extra.get("agent_id"),
                "data": {},
            }
            for n, (kind, ts, extra) in enumerate(events)
        ]
    )


def _states(agent, changes):
    for offset, state, reason in changes:
        AgentStateLog.objects.create(
            agent=agent, state=state, reason=reason, started_at=DAY + timedelta(seconds=offset)
        )


@pytest.fixture
def desk(queues):
    agent = make_staff(Role.AGENT, username="me-agent")
    other = make_staff(Role.AGENT, username="me-other")
    _call("me-1", agent, at=DAY + timedelta(minutes=1), talk=100, acw=20)  # handle 120 s
    _call("me-2", agent, at=DAY + timedelta(minutes=10), talk=200, acw=40)  # handle 240 s
    _call("other-1", other, at=DAY + timedelta(minutes=2), talk=600, acw=60)
    _states(
        agent,
        [
            (0, "ready", ""),
            (60, "ringing", ""),  # rings 5 s before the answer
            (65, "on_call", ""),
            (165, "acw", ""),
            (185, "ready", ""),
            (300, "not_ready", "break"),
            (900, "ready", ""),  # a 10-minute break
            (1200, "not_ready", "meal"),  # still at lunch at NOW: counts up to now
        ],
    )
    _states(other, [(0, "ready", ""), (120, "on_call", ""), (3000, "offline", "")])
    return agent, other


def test_the_figures_of_one_agent_today_up_to_now(desk):
    agent, _other = desk
    figures = agent_today(agent, now=NOW)
    assert (figures["answered"], figures["handled"]) == (2, 2)
    assert figures["handle_s"] == 360.0 and figures["aht_s"] == 180.0
    # ready 60 + 115 + 300 s; handling 5 + 100 + 20 s; not ready 600 s + the meal up to now (2400 s)
    assert (figures["ready_s"], figures["handling_s"], figures["not_ready_s"]) == (475.0, 125.0, 3000.0)
    assert figures["occupancy"] == round(125 / 600, 4)


def test_an_agent_with_nothing_today_has_zeros_and_no_occupancy(queues):
    agent = make_staff(Role.AGENT, username="me-idle")
    figures = agent_today(agent, now=NOW)
    assert figures["answered"] == 0 and figures["aht_s"] is None and figures["occupancy"] is None


def test_the_fragment_shows_the_signed_in_agents_own_figures(client, desk, monkeypatch):
    agent, _other = desk
    monkeypatch.setattr(me, "_now", lambda: NOW)
    client.force_login(agent)
    response = client.get(URL, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="my-answered">2<' in html
    assert 'id="my-aht">3:00<' in html
    assert 'id="my-handle">6:00<' in html
    assert 'id="my-occupancy">20.8%<' in html
    assert 'id="my-not-ready">50:00<' in html
    assert "<html" not in html  # a fragment, not a page
    assert "no-cache" in response.headers.get("Cache-Control", "")
    # There is no parameter to read somebody else's figures.
    assert client.get(URL + "?agent=me-other").content.decode() == html


def test_a_team_lead_sees_their_own_desk(client, queues, monkeypatch):
    monkeypatch.setattr(me, "_now", lambda: NOW)
    client.force_login(make_staff(Role.TEAM_LEAD, username="me-lead"))
    response = client.get(URL)
    assert response.status_code == 200 and 'id="my-answered">0<' in response.content.decode()


@pytest.mark.parametrize("role", [Role.UNIT_STAFF, Role.DIRECTOR, Role.ANALYST])
def test_other_roles_are_refused(client, queues, role):
    client.force_login(make_staff(role))
    assert client.get(URL).status_code == 403


def test_anonymous_goes_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response.headers["Location"]


def test_only_get(client, desk):
    client.force_login(desk[0])
    assert client.post(URL).status_code == 405


def test_the_desktop_loads_the_fragment_with_htmx(client, desk):
    client.force_login(desk[0])
    html = client.get("/agent/desktop/").content.decode()
    assert 'hx-get="/reports/me/today/"' in html
    assert "load, every 60s, desk-wrapup from:body" in html
    # The figures come with the fragment, not with the page: neither today's
    # figures nor the quality line are rendered inline. (Asserting on ids, not
    # on a word such as "QA", which a random CSRF token can contain.)
    assert 'id="my-answered"' not in html and 'id="my-qa"' not in html
