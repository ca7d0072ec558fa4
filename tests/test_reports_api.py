"""``GET /api/reports/kpi/`` and ``/api/reports/tickets/`` exactly per DESIGN.md §6: the figures,
the roles, the groupings, and bad input as a 400 in the envelope."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from calls.services.cti import cti_events_ingest
from org.roles import Role
from reports import rollups
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
DAY = datetime(2026, 5, 11, 9, 10, tzinfo=TZ)
URL = "/api/reports/kpi/"


def client_for(role: str, username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(make_staff(role, username=username))
    return client


def call(call_id: str, *, queue: str, wait: float, answered: bool, agent_id: int | None = None):
    events = [("queued", DAY, queue)]
    if answered:
        events += [("answered", DAY + timedelta(seconds=wait), ""), ("ended", DAY + timedelta(seconds=wait + 100), "")]
        events += [("wrapup", DAY + timedelta(seconds=wait + 120), "")]
    else:
        events.append(("ended", DAY + timedelta(seconds=wait), ""))
    cti_events_ingest(
        events=[
            {
                "event_id": f"{call_id}-{n}",
                "call_id": call_id,
                "type": kind,
                "ts": ts,
                "queue": q,
                "agent_id": agent_id if kind == "answered" else None,
                "data": {},
            }
            for n, (kind, ts, q) in enumerate(events)
        ]
    )


@pytest.fixture
def loaded(queues):
    agent = make_staff(Role.AGENT, username="api-agent")
    call("a1", queue="general", wait=10, answered=True, agent_id=agent.pk)
    call("a2", queue="general", wait=30, answered=True, agent_id=agent.pk)
    call("a3", queue="general", wait=2, answered=False)
    call("a4", queue="card", wait=40, answered=False)
    rollups.rebuild(DAY.date(), DAY.date())
    return agent


def test_the_kpi_contract(loaded):
    response = client_for(Role.DIRECTOR, "d").get(URL, {"date_from": "2026-05-11", "date_to": "2026-05-11"})
    assert response.status_code == 200
    assert response.json() == {
        "offered": 4,
        "answered": 2,
        "abandoned": 2,
        "short_abandoned": 1,
        "service_level": round(1 / 3, 4),
        "asa_s": 20.0,
        "aht_s": 120.0,
        "abandon_rate": round(1 / 3, 4),
    }
    general = client_for(Role.ANALYST, "an").get(
        URL, {"date_from": "2026-05-11", "date_to": "2026-05-11", "queue": "general"}
    )
    assert general.json()["offered"] == 3 and general.json()["abandon_rate"] == 0.0


def test_an_empty_period_has_null_ratios(loaded):
    body = client_for(Role.DIRECTOR, "d").get(URL, {"date_from": "2026-05-12", "date_to": "2026-05-12"}).json()
    assert body == {
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "short_abandoned": 0,
        "service_level": None,
        "asa_s": None,
        "aht_s": None,
        "abandon_rate": None,
    }


def test_group_by_gives_a_table(loaded):
    lead = client_for(Role.TEAM_LEAD, "tl")
    body = lead.get(URL, {"date_from": "2026-05-11", "date_to": "2026-05-11", "group_by": "queue"}).json()
    assert body["group_by"] == "queue"
    assert [(row["key"], row["offered"]) for row in body["rows"]] == [("general", 3), ("card", 1)]
    agents = lead.get(URL, {"date_from": "2026-05-11", "date_to": "2026-05-11", "group_by": "agent"}).json()
    assert [(row["key"], row["answered"]) for row in agents["rows"] if row["key"]] == [("api-agent", 2)]
    intervals = lead.get(URL, {"date_from": "2026-05-11", "date_to": "2026-05-11", "group_by": "interval"}).json()
    assert [(row["key"], row["offered"]) for row in intervals["rows"]] == [("2026-05-11T09:00", 4)]
    days = lead.get(URL, {"date_from": "2026-05-10", "date_to": "2026-05-12", "group_by": "day"}).json()
    assert [(row["key"], row["offered"]) for row in days["rows"]] == [("2026-05-11", 4)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-05-11"}, "date_to"),
        ({"date_from": "2026-05-12", "date_to": "2026-05-11"}, "date_to"),
        ({"date_from": "2025-01-01", "date_to": "2026-05-11"}, "date_to"),
        ({"date_from": "2026-05-11", "date_to": "9999-12-31"}, "date_to"),
        ({"date_from": "2026-05-11", "date_to": "2026-05-11", "group_by": "hour"}, "group_by"),
        ({"date_from": "2026-04-01", "date_to": "2026-05-11", "group_by": "interval"}, "date_to"),
        ({"date_from": "2026-05-11", "date_to": "2026-05-11", "colour": "red"}, "colour"),
        ({"date_from": "2026-05-11\x00", "date_to": "2026-05-11"}, ""),  # refused before any field is read
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(loaded, params, field):
    response = client_for(Role.DIRECTOR, "d").get(URL, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in ("invalid_input", "unknown_field", "invalid_range", "range_too_long")
    assert field in str(error)


def test_an_unknown_queue_is_refused(loaded):
    response = client_for(Role.DIRECTOR, "d").get(
        URL, {"date_from": "2026-05-11", "date_to": "2026-05-11", "queue": "nope"}
    )
    assert response.status_code in (400, 422) and response.json()["error"]["code"] == "unknown_queue"


@pytest.mark.parametrize("role", [Role.AGENT, Role.UNIT_STAFF, Role.RISK_OFFICER, Role.SWITCH])
def test_who_may_not_read_the_kpis(loaded, role):
    response = client_for(role, f"x-{role}").get(URL, {"date_from": "2026-05-11", "date_to": "2026-05-11"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_the_tickets_report_per_unit(queues):
    from org.models import Unit

    body = (
        client_for(Role.ANALYST, "an")
        .get("/api/reports/tickets/", {"date_from": "2026-05-01", "date_to": "2026-05-31"})
        .json()
    )
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == Unit.objects.filter(is_active=True).count()
    for row in body["results"]:
        assert set(row) == {
            "unit",
            "name",
            "dispatched",
            "closed",
            "on_time_rate",
            "satisfaction_rate",
            "median_resolution_hours",
            "overdue_now",
        }
        assert row["on_time_rate"] is None and row["dispatched"] == 0
    lead = client_for(Role.TEAM_LEAD, "tl").get(
        "/api/reports/tickets/", {"date_from": "2026-05-01", "date_to": "2026-05-31"}
    )
    assert lead.status_code == 403
