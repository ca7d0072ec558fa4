"""KPIs exactly as DESIGN.md §5 defines them; a ratio with a zero denominator is null."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from agents.models import AgentStateLog
from calls.kpi import agent_occupancy, call_kpis, kpis_by_queue
from calls.models import Queue
from calls.services.cti import cti_events_ingest
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.get_default_timezone())


def load(
    call_id: str,
    *,
    queue="general",
    wait: float,
    answered: bool = True,
    talk: float = 100,
    hold: float = 0,
    acw: float | None = 20,
    agent="kpi-agent",
    day=DAY,
):
    at = day
    events = [("offered", at - timedelta(seconds=30), {}), ("queued", at, {"queue": queue})]
    if answered:
        events.append(("answered", at + timedelta(seconds=wait), {"agent_id": agent.pk}))
        if hold:
            events.append(("held", at + timedelta(seconds=wait + 10), {}))
            events.append(("retrieved", at + timedelta(seconds=wait + 10 + hold), {}))
        end = at + timedelta(seconds=wait + talk + hold)
        events.append(("ended", end, {}))
        if acw is not None:
            events.append(("wrapup", end + timedelta(seconds=acw), {}))
    else:
        events.append(("ended", at + timedelta(seconds=wait), {}))
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


@pytest.fixture
def agent(queues):
    return make_staff(Role.AGENT, username="kpi-agent")


def test_the_section_5_figures(agent):
    load("k1", wait=10, agent=agent)  # answered within T
    load("k2", wait=20, agent=agent)  # exactly T: counts as within
    load("k3", wait=45, talk=200, hold=30, acw=40, agent=agent)  # answered late
    load("k4", wait=3, answered=False, agent=agent)  # short abandon
    load("k5", wait=60, answered=False, agent=agent)  # abandon
    load("k6", queue="card", wait=5, agent=agent)  # another queue
    figures = call_kpis(date_from=DAY.date(), date_to=DAY.date(), queue="general")
    assert figures == {
        "offered": 5,
        "answered": 3,
        "abandoned": 2,
        "short_abandoned": 1,
        "service_level": round(2 / (5 - 1), 4),
        "asa_s": round((10 + 20 + 45) / 3, 1),
        "aht_s": round(((100 + 20) + (100 + 20) + (200 + 30 + 40)) / 3, 1),
        "abandon_rate": round((2 - 1) / (5 - 1), 4),
    }
    everything = call_kpis(date_from=DAY.date(), date_to=DAY.date())
    assert everything["offered"] == 6 and everything["answered"] == 4


def test_the_wallboards_figures_per_queue_are_the_queues_own_figures(agent):
    load("q1", wait=10, agent=agent)
    load("q2", wait=45, talk=200, hold=30, acw=None, agent=agent)
    load("q3", wait=3, answered=False, agent=agent)
    load("q4", wait=60, answered=False, agent=agent)
    load("q5", queue="card", wait=25, agent=agent)
    per_queue = kpis_by_queue(date_from=DAY.date(), date_to=DAY.date())
    codes = dict(Queue.objects.filter(pk__in=per_queue).values_list("pk", "code"))
    assert sorted(codes.values()) == ["card", "general"]
    for pk, figures in per_queue.items():
        assert figures == call_kpis(date_from=DAY.date(), date_to=DAY.date(), queue=codes[pk])


def test_zero_denominators_are_null_not_zero(agent):
    assert call_kpis(date_from=DAY.date(), date_to=DAY.date()) == {
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "short_abandoned": 0,
        "service_level": None,
        "asa_s": None,
        "aht_s": None,
        "abandon_rate": None,
    }
    load("only-short", wait=2, answered=False, agent=agent)
    figures = call_kpis(date_from=DAY.date(), date_to=DAY.date())
    assert figures["service_level"] is None and figures["abandon_rate"] is None and figures["asa_s"] is None


def test_a_call_counts_in_the_local_day_it_was_queued(agent):
    late = datetime(2026, 3, 2, 23, 59, 50, tzinfo=timezone.get_default_timezone())
    load("midnight", wait=30, agent=agent, day=late)
    assert call_kpis(date_from=DAY.date(), date_to=DAY.date())["offered"] == 1
    assert call_kpis(date_from=DAY.date() + timedelta(days=1), date_to=DAY.date() + timedelta(days=1))["offered"] == 0


def test_a_call_ended_in_the_ivr_is_not_offered(agent):
    cti_events_ingest(
        events=[
            {"event_id": "ivr-only-1", "call_id": "ivr-only", "type": "offered", "ts": DAY, "data": {}},
            {
                "event_id": "ivr-only-2",
                "call_id": "ivr-only",
                "type": "ended",
                "ts": DAY + timedelta(seconds=50),
                "data": {},
            },
        ]
    )
    assert call_kpis(date_from=DAY.date(), date_to=DAY.date())["offered"] == 0


def test_occupancy_is_handle_time_over_handle_and_ready_idle_time(agent):
    start = DAY
    for offset, state in [
        (0, "ready"),
        (60, "ringing"),
        (70, "on_call"),
        (170, "acw"),
        (200, "ready"),
        (260, "not_ready"),
        (400, "offline"),
    ]:
        AgentStateLog.objects.create(agent=agent, state=state, started_at=start + timedelta(seconds=offset))
    figures = agent_occupancy(agent_id=agent.pk, start=start, end=start + timedelta(seconds=400))
    assert figures == {"handle_s": 140.0, "ready_s": 120.0, "occupancy": round(140 / 260, 4)}
    assert agent_occupancy(agent_id=agent.pk, start=start - timedelta(hours=2), end=start)["occupancy"] is None
