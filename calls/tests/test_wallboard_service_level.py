"""The wallboard's "service level today" is a figure as soon as a queue has answered calls: the
same figure as ``call_kpis`` for the queue (DESIGN.md §5), on the snapshot and on its API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from calls.selectors import wallboard_snapshot
from calls.services.cti import cti_events_ingest
from org.roles import Role
from reports.selectors import call_figures_raw as call_kpis
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.get_default_timezone())


@pytest.fixture(autouse=True)
def at_noon(monkeypatch):
    """Every call of the test on the same local day, whenever the suite runs."""
    monkeypatch.setattr(timezone, "now", lambda: NOON)


def switch_reports(call_id: str, *, queued_ago_s: float, wait_s: float, answered_by=None) -> None:
    queued_at = timezone.now() - timedelta(seconds=queued_ago_s)
    events = [("offered", queued_at - timedelta(seconds=20), {}), ("queued", queued_at, {"queue": "general"})]
    if answered_by is not None:
        events.append(("answered", queued_at + timedelta(seconds=wait_s), {"agent_id": answered_by.pk}))
    events.append(("ended", queued_at + timedelta(seconds=wait_s + 30), {}))
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


def general_tile(snapshot: dict) -> dict:
    return next(tile for tile in snapshot["queues"] if tile["code"] == "general")


def test_the_service_level_of_a_queue_with_answered_calls_is_a_figure(queues, api_client):
    agent = make_staff(Role.AGENT, username="wb-agent")
    assert general_tile(wallboard_snapshot())["service_level_today"] is None  # nothing offered yet
    switch_reports("wb-1", queued_ago_s=300, wait_s=8, answered_by=agent)  # within T (20 s)
    switch_reports("wb-2", queued_ago_s=240, wait_s=50, answered_by=agent)  # answered late
    switch_reports("wb-3", queued_ago_s=180, wait_s=40)  # abandoned, not short
    today = timezone.localdate()
    expected = round(1 / 3, 4)
    assert call_kpis(date_from=today, date_to=today, queue="general")["service_level"] == expected

    tile = general_tile(wallboard_snapshot())
    assert (tile["offered_today"], tile["answered_today"], tile["abandoned_today"]) == (3, 2, 1)
    assert tile["service_level_today"] == expected
    assert "service_level" in tile["alerts"]  # 33 % is below the 80 % target

    api_client.force_authenticate(make_staff(Role.TEAM_LEAD, username="wb-lead"))
    response = api_client.get("/api/calls/wallboard/")
    assert response.status_code == 200
    assert general_tile(response.json())["service_level_today"] == expected
