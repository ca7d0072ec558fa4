"""IVR statistics: per-node visits and exits, authentication failures, containment (DESIGN.md §5)."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ivr.models import IvrCall
from ivr.selectors import ivr_statistics
from org.roles import Role

pytestmark = pytest.mark.django_db
pytest_plugins = ["ivr.tests.fixtures"]


def test_no_calls_means_null_containment(ivr_menu):
    today = timezone.localdate()
    stats = ivr_statistics(today, today)
    assert stats["calls"] == 0 and stats["containment"] is None and stats["nodes"] == []


@override_settings(IVR_FAILURE_ACTION="goodbye")
def test_visits_exits_auth_failures_and_containment(caller, customer):
    contained = caller()  # balance, then hangs up in the account menu
    contained.start()
    contained.press("1"), contained.press(customer.card.number), contained.press("000000")
    contained.press("918273"), contained.press("1"), contained.hangup()
    agent = caller()  # asks for an agent
    agent.start()
    agent.press("0")
    goodbye = caller()  # three wrong keys: the IVR says goodbye (setting)
    goodbye.start()
    goodbye.press("7"), goodbye.press("7"), goodbye.press("7")
    running = caller()  # still in the IVR
    running.start()
    running.press("3")
    old = caller()  # yesterday: outside the period
    old.start()
    IvrCall.objects.filter(call_id=old.call_id).update(started_at=timezone.now() - timedelta(days=1))

    today = timezone.localdate()
    stats = ivr_statistics(today, today)
    assert stats["calls"] == 4
    assert stats["outcomes"] == {"hangup": 1, "goodbye": 1, "agent": 1, "in_progress": 1}
    assert stats["contained"] == 2 and stats["containment"] == 0.5
    assert stats["auth_failures"] == 1 and stats["lockouts"] == 0
    nodes = {row["node"]: row for row in stats["nodes"]}
    assert nodes["main"] == {"node": "main", "visits": 4, "exits": 1}  # the goodbye happened in main
    assert nodes["account_menu"] == {"node": "account_menu", "visits": 2, "exits": 1}
    assert nodes["agent"]["exits"] == 1 and nodes["info"]["exits"] == 0 and nodes["balance"]["visits"] == 1
    assert ivr_statistics(today - timedelta(days=1), today)["calls"] == 5


def test_lockouts_are_counted(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    call.press("000000"), call.press("000001"), call.press("000002")
    today = timezone.localdate()
    stats = ivr_statistics(today, today)
    assert stats["lockouts"] == 1 and stats["auth_failures"] == 3


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (Role.DIRECTOR, 200),
        (Role.ANALYST, 200),
        (Role.MAINTAINER, 200),
        (Role.AGENT, 403),
        (Role.TEAM_LEAD, 403),
        (Role.SWITCH, 403),
    ],
)
def test_statistics_api_by_role(api_for, staff, who, status):
    response = api_for(staff[who]).get("/api/ivr/statistics/?date_from=2026-01-01&date_to=2026-01-31")
    assert response.status_code == status
    if status == 200:
        assert response.json()["containment"] is None


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("date_from=2026-01-31&date_to=2026-01-01", "invalid_range"),
        ("date_from=2026-13-01&date_to=2026-01-01", "invalid_input"),
        ("date_from=2026-01-01", "invalid_input"),
        ("date_from=2024-01-01&date_to=2026-01-01", "range_too_long"),
        ("date_from=2026-01-01&date_to=2026-01-02&queue=x", "unknown_field"),
    ],
)
def test_statistics_api_bad_parameters_are_400(api_for, staff, query, code):
    response = api_for(staff[Role.DIRECTOR]).get(f"/api/ivr/statistics/?{query}")
    assert response.status_code == 400 and response.json()["error"]["code"] == code
