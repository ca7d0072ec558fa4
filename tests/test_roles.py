"""Role permissions, enforced on the server for pages and APIs; each role's home page."""

import pytest

from audit.models import AuditEvent
from org.roles import Role

pytestmark = pytest.mark.django_db

HOMES = {
    Role.AGENT: "/agent/desktop/",
    Role.TEAM_LEAD: "/calls/wallboard/",
    "unit_staff_b01": "/tickets/inbox/",
    Role.DIRECTOR: "/reports/dashboard/",
    Role.MAINTAINER: "/config/",
    Role.ANALYST: "/tickets/",
    Role.RISK_OFFICER: "/risk/alerts/",
}


@pytest.mark.parametrize(("who", "home"), sorted(HOMES.items()))
def test_each_role_lands_on_its_home_page(client_for, staff, who, home):
    client = client_for(staff[who])
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == home
    assert client.get(home).status_code == 200


def test_switch_account_has_no_pages(client_for, staff):
    assert client_for(staff[Role.SWITCH]).get("/").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/agent/desktop/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("who", "path"),
    [
        (Role.AGENT, "/calls/wallboard/"),
        (Role.AGENT, "/config/"),
        ("unit_staff_b01", "/agent/desktop/"),
        ("unit_staff_b01", "/reports/dashboard/"),
        (Role.ANALYST, "/risk/alerts/"),
        (Role.RISK_OFFICER, "/tickets/inbox/"),
        (Role.TEAM_LEAD, "/config/"),
    ],
)
def test_pages_of_other_roles_are_forbidden_and_audited(client_for, staff, who, path):
    response = client_for(staff[who]).get(path)
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="auth.permission_denied")
    assert event.actor == staff[who] and event.object_id == path


def test_the_risk_officers_landing_page_is_the_alerts_page(client_for, staff):
    response = client_for(staff[Role.RISK_OFFICER]).get("/risk/alerts/")
    assert response.status_code == 200
    assert "风险预警" in response.content.decode() and "尚未开放" not in response.content.decode()


@pytest.mark.parametrize(
    ("who", "path", "expected"),
    [
        (Role.DIRECTOR, "/api/audit/", 200),
        (Role.MAINTAINER, "/api/audit/", 200),
        (Role.AGENT, "/api/audit/", 403),
        ("unit_staff_b01", "/api/audit/", 403),
        (Role.SWITCH, "/api/audit/", 403),
        (Role.SWITCH, "/api/org/units/", 403),
        ("unit_staff_b01", "/api/org/units/", 200),
        (Role.AGENT, "/api/org/units/", 200),
    ],
)
def test_api_role_matrix(api_for, staff, who, path, expected):
    response = api_for(staff[who]).get(path)
    assert response.status_code == expected
    if expected == 403:
        assert response.json()["error"]["code"] == "permission_denied"
        assert AuditEvent.objects.filter(action="auth.permission_denied", actor=staff[who]).exists()


def test_units_api_lists_branches_and_departments(api_for, staff):
    from tests.factories import UnitFactory

    UnitFactory(code="CARD", name="银行卡部", kind="department")
    body = api_for(staff[Role.AGENT]).get("/api/org/units/").json()
    assert body["count"] == 4
    assert body["results"][0] == {"code": "B01", "name": "B01行社", "kind": "branch"}
    assert {"code": "CARD", "name": "银行卡部", "kind": "department"} in body["results"]


def test_me_api_reports_role_unit_and_home(api_for, staff):
    body = api_for(staff["unit_staff_b01"]).get("/api/org/me/").json()
    assert body["role"] == "unit_staff" and body["unit"] == "B01" and body["home"] == "/tickets/inbox/"


def test_navigation_shows_only_the_roles_pages(client_for, staff):
    html = client_for(staff["unit_staff_b01"]).get("/tickets/inbox/").content.decode()
    assert 'href="/tickets/inbox/"' in html
    assert 'href="/calls/wallboard/"' not in html and 'href="/config/"' not in html


def test_chinese_names_are_shown_family_name_first(client_for, staff):
    user = staff[Role.AGENT]
    user.first_name, user.last_name = "海涛", "孙"
    user.save()
    assert "<strong>孙海涛</strong>" in client_for(user).get("/agent/desktop/").content.decode()
