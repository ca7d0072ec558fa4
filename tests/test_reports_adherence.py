"""Schedule adherence in the agents report: published shifts against the state log, summed over
the period (time-weighted), one row per agent, with a total; exported with the report."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from agents.models import AgentStateLog, Roster, RosterAssignment
from org.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

SHIFTS = [{"code": "D", "start": "08:00", "end": "20:00"}, {"code": "N", "start": "20:00", "end": "08:00"}]


def _at(day, hours: float) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(8))) + timedelta(hours=hours)


@pytest.fixture
def two_days():
    agent = make_staff(Role.AGENT, username="agent_adh")
    first = timezone.localdate() - timedelta(days=5)
    roster = Roster.objects.create(start=first, days=2, status="done", shifts=SHIFTS, published_at=timezone.now())
    for d in range(2):
        RosterAssignment.objects.create(roster=roster, agent=agent, date=first + timedelta(days=d), shift_code="D")

    def log(day, hours: float, state: str, reason: str = "") -> None:
        AgentStateLog.objects.create(agent=agent, state=state, reason=reason, started_at=_at(day, hours))

    # day 1: an hour late, an hour's break, an hour over → in shift 10 of 12 h, around 11
    log(first, 1, "ready")
    log(first, 4, "not_ready", "break")
    log(first, 5, "ready")
    log(first, 13, "offline")
    # day 2: on time, all 12 h working, gone at the end → 12 of 12
    second = first + timedelta(days=1)
    log(second, 0, "ready")
    log(second, 12, "offline")
    return {"agent": agent, "first": first, "last": second}


def test_the_period_figure_is_time_weighted(two_days):
    from reports.adherence import adherence_table

    table = adherence_table(two_days["first"], two_days["last"])
    (row,) = table.rows
    assert row["agent"] == "agent_adh" and row["shifts"] == 2
    assert row["scheduled_s"] == 24 * 3600
    assert row["adherence"] == pytest.approx(22 / 24, abs=1e-4)
    assert row["conformance"] == pytest.approx(23 / 24, abs=1e-4)
    assert table.total["adherence"] == row["adherence"]
    # one day alone gives that day's figure
    (only,) = adherence_table(two_days["first"], two_days["first"]).rows
    assert only["adherence"] == pytest.approx(10 / 12, abs=1e-4)


def test_the_agents_report_shows_adherence(two_days, client_for):
    lead = make_staff(Role.TEAM_LEAD)
    params = {"date_from": two_days["first"].isoformat(), "date_to": two_days["last"].isoformat()}
    page = client_for(lead).get("/reports/agents/", params)
    assert page.status_code == 200
    text = page.content.decode()
    assert "排班遵守率" in text or "Adherence" in text
    assert "91.7%" in text  # 22 of 24 hours
