"""The agent desktop and the wallboard pages: who may open them, what they carry, the admin."""

from __future__ import annotations

import json

import pytest

from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


def page_config(html: str, element_id: str) -> dict:
    start = html.index(f'id="{element_id}"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD])
def test_the_desktop_is_the_call_takers_page(client_for, role, queues):
    response = client_for(make_staff(role)).get("/agent/desktop/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>座席工作台</h1>" in html and "desktop.js" in html
    config = page_config(html, "desk-config")
    assert config["ws"] == "/ws/agent/" and config["offer_timeout_s"] == 15
    assert [q["value"] for q in config["queues"]] == ["general", "card", "complaint"]
    assert "missed_offer" not in [r["value"] for r in config["reasons"]]
    assert config["texts"]["incoming"] == "来电"


@pytest.mark.parametrize("role", [Role.ANALYST, Role.DIRECTOR, Role.UNIT_STAFF, Role.MAINTAINER])
def test_other_roles_cannot_open_the_desktop(client_for, role):
    assert client_for(make_staff(role)).get("/agent/desktop/").status_code == 403


def test_the_wallboard_for_a_team_lead_can_change_agents(client_for, make_agent, queues):
    make_agent("agent01")
    html = client_for(make_staff(Role.TEAM_LEAD)).get("/calls/wallboard/").content.decode()
    assert "<h1>监控大屏</h1>" in html
    config, snapshot = page_config(html, "wb-config"), page_config(html, "wb-snapshot")
    assert config["can_edit"] is True and config["ws"] == "/ws/wallboard/"
    assert [q["code"] for q in snapshot["queues"]] == ["general", "card", "complaint"]
    assert {"username": "agent01", "state": "offline"}.items() <= snapshot["agents"][0].items()


def test_the_directors_wallboard_is_read_only(client_for, queues):
    html = client_for(make_staff(Role.DIRECTOR)).get("/calls/wallboard/").content.decode()
    assert page_config(html, "wb-config")["can_edit"] is False


@pytest.mark.parametrize("role", [Role.AGENT, Role.ANALYST, Role.MAINTAINER])
def test_other_roles_cannot_open_the_wallboard(client_for, role):
    assert client_for(make_staff(role)).get("/calls/wallboard/").status_code == 403


def test_the_wallboard_api_is_for_supervisors(as_user, queues):
    assert as_user(make_staff(Role.TEAM_LEAD)).get("/api/calls/wallboard/").json()["type"] == "wallboard"
    assert as_user(make_staff(Role.AGENT)).get("/api/calls/wallboard/").status_code == 403


def test_pages_in_english(client_for, queues):
    client = client_for(make_staff(Role.AGENT))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/agent/desktop/").content.decode()
    assert "<h1>Agent desktop</h1>" in html and page_config(html, "desk-config")["texts"]["incoming"] == "Incoming call"


def test_the_maintainer_edits_queues_in_the_admin_and_calls_are_read_only(client_for, queues):
    client = client_for(make_staff(Role.MAINTAINER))
    assert client.get("/admin/calls/queue/").status_code == 200
    assert client.get(f"/admin/calls/queue/{queues['card'].pk}/change/").status_code == 200
    assert client.get("/admin/calls/call/").status_code == 200
    assert client.get("/admin/calls/call/add/").status_code == 403
    assert client.get("/admin/agents/agentstatelog/").status_code == 200
    assert client.get("/admin/agents/agentskill/").status_code == 200
