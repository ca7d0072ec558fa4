"""KPIs exactly as DESIGN.md §5 defines them, worked out by hand; a ratio with a zero denominator
is null. Every figure is checked twice: from the calls (``call_figures_raw``) and from the
rollups (``call_figures``), which must agree exactly."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from agents.models import AgentStateLog
from calls.models import Queue
from calls.services.cti import cti_events_ingest
from org.roles import Role
from reports import rollups
from reports.kpi import CONTRACT_KEYS
from reports.selectors import agent_table, call_figures, call_figures_raw, live_figures_by_queue
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
DAY = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)


def call_kpis(*, date_from, date_to, queue=None, group_by=None, agent=None):
    """The §6 figures from the calls, after checking that the rollups give exactly the same
    (rebuilt from scratch here; the incremental path is tested below)."""
    raw = call_figures_raw(date_from, date_to, queue=queue, group_by=group_by, agent=agent)
    rollups.rebuild(date_from, date_to)
    assert call_figures(date_from, date_to, queue=queue, group_by=group_by, agent=agent) == raw
    if group_by:
        return raw
    return {key: raw[key] for key in CONTRACT_KEYS}


def kpis_by_queue(*, date_from, date_to):
    return {
        pk: {key: row[key] for key in CONTRACT_KEYS} for pk, row in live_figures_by_queue(date_from, date_to).items()
    }


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
    rollups.rebuild(DAY.date(), DAY.date(), now=start + timedelta(hours=1))
    row = next(row for row in agent_table(DAY.date(), DAY.date()) if row["agent"] == "kpi-agent")
    # ringing 10 + on a call 100 + after-call work 30 = 140 s handling; ready 60 + 60 = 120 s
    assert (row["handling_s"], row["ready_s"], row["not_ready_s"]) == (140.0, 120.0, 140.0)
    assert row["occupancy"] == round(140 / 260, 4)
    assert row["logged_in_s"] == 400.0


def test_occupancy_without_handling_or_ready_time_is_null(agent):
    AgentStateLog.objects.create(agent=agent, state="not_ready", reason="meeting", started_at=DAY)
    AgentStateLog.objects.create(agent=agent, state="offline", started_at=DAY + timedelta(minutes=10))
    rollups.rebuild(DAY.date(), DAY.date(), now=DAY + timedelta(hours=1))
    row = next(row for row in agent_table(DAY.date(), DAY.date()) if row["agent"] == "kpi-agent")
    assert row["occupancy"] is None and row["not_ready_by_reason"] == {"meeting": 600.0}


def test_the_thresholds_are_exact_abandon_at_4_9_s_is_short_at_5_s_is_not_answer_at_20_s_is_in_time(agent):
    load("t1", wait=4.9, answered=False, agent=agent)  # short abandon: wait < S
    load("t2", wait=5, answered=False, agent=agent)  # not short: counts against the abandon rate
    load("t3", wait=20, agent=agent)  # answered exactly at T: within the service level
    load("t4", wait=20.001, agent=agent)  # a millisecond late
    figures = call_kpis(date_from=DAY.date(), date_to=DAY.date())
    assert (figures["offered"], figures["abandoned"], figures["short_abandoned"]) == (4, 2, 1)
    assert figures["service_level"] == round(1 / 3, 4)  # t3 of (4 − 1)
    assert figures["abandon_rate"] == round(1 / 3, 4)  # t2 of (4 − 1)
    assert figures["asa_s"] == round((20 + 20.001) / 2, 1)


def test_hold_time_is_handle_time_and_a_call_without_after_call_work_adds_none(agent):
    load("h1", wait=1, talk=60, hold=40, acw=None, agent=agent)  # talk 60, hold 40, no wrap-up
    load("h2", wait=1, talk=30, hold=0, acw=15, agent=agent)
    rows = call_kpis(date_from=DAY.date(), date_to=DAY.date(), group_by="queue")
    general = next(row for row in rows if row["key"] == "general")
    assert general["aht_s"] == round(((60 + 40) + (30 + 15)) / 2, 1)
    assert (general["avg_hold_s"], general["avg_acw_s"], general["held"]) == (20.0, 7.5, 1)


def test_a_call_queued_before_midnight_and_answered_after_counts_in_its_queue_interval(agent):
    late = datetime(2026, 3, 2, 23, 59, 50, tzinfo=TZ)
    load("mid", wait=30, agent=agent, day=late)
    rows = call_kpis(date_from=late.date(), date_to=late.date() + timedelta(days=1), group_by="interval")
    assert [(row["key"], row["offered"], row["answered"]) for row in rows] == [("2026-03-02T23:30", 1, 1)]
    days = call_kpis(date_from=late.date(), date_to=late.date() + timedelta(days=1), group_by="day")
    assert [(row["key"], row["offered"]) for row in days] == [("2026-03-02", 1)]


def test_month_and_year_ends_in_local_time(agent):
    load("dec31", wait=3, agent=agent, day=datetime(2026, 12, 31, 23, 59, 59, 500000, tzinfo=TZ))
    load("jan1", wait=3, agent=agent, day=datetime(2027, 1, 1, 0, 0, 0, tzinfo=TZ))
    # 2027-01-01 00:00 in Shanghai is 2026-12-31 16:00 UTC: a UTC month would count it in December.
    months = call_kpis(date_from=date(2026, 12, 1), date_to=date(2027, 1, 31), group_by="month")
    assert [(row["key"], row["offered"]) for row in months] == [("2026-12", 1), ("2027-01", 1)]
    years = call_kpis(date_from=date(2026, 12, 1), date_to=date(2027, 1, 31), group_by="year")
    assert [(row["key"], row["offered"]) for row in years] == [("2026", 1), ("2027", 1)]
    weeks = call_kpis(date_from=date(2026, 12, 28), date_to=date(2027, 1, 3), group_by="week")
    assert [(row["key"], row["offered"]) for row in weeks] == [("2026-12-28", 2)]  # Monday of that ISO week


def test_a_transfer_between_queues_counts_under_the_queue_that_answered(agent):
    events = [
        ("offered", DAY - timedelta(seconds=20), ""),
        ("queued", DAY, "general"),
        ("transferred", DAY + timedelta(seconds=4), "card"),
        ("answered", DAY + timedelta(seconds=9), ""),
        ("ended", DAY + timedelta(seconds=69), ""),
    ]
    cti_events_ingest(
        events=[
            {
                "event_id": f"tr-{n}",
                "call_id": "tr",
                "type": kind,
                "ts": ts,
                "queue": queue,
                "agent_id": agent.pk if kind == "answered" else None,
                "data": {},
            }
            for n, (kind, ts, queue) in enumerate(events)
        ]
    )
    rows = {row["key"]: row for row in call_kpis(date_from=DAY.date(), date_to=DAY.date(), group_by="queue")}
    # A move while waiting is not a transfer of a connected call (``Call.transfers``).
    assert set(rows) == {"card"} and rows["card"]["answered"] == 1 and rows["card"]["transferred"] == 0
    assert call_kpis(date_from=DAY.date(), date_to=DAY.date(), queue="card")["asa_s"] == 9.0
    agents = call_kpis(date_from=DAY.date(), date_to=DAY.date(), group_by="agent")
    assert [(row["key"], row["answered"]) for row in agents] == [("kpi-agent", 1)]


def test_a_call_transferred_after_the_answer_counts_once_where_it_was_answered(agent):
    events = [
        ("queued", DAY, "general", None),
        ("answered", DAY + timedelta(seconds=6), "", agent.pk),
        ("transferred", DAY + timedelta(seconds=60), "complaint", None),
        ("ended", DAY + timedelta(seconds=90), "", None),
    ]
    cti_events_ingest(
        events=[
            {
                "event_id": f"tx-{n}",
                "call_id": "tx",
                "type": kind,
                "ts": ts,
                "queue": queue,
                "agent_id": agent_id,
                "data": {},
            }
            for n, (kind, ts, queue, agent_id) in enumerate(events)
        ]
    )
    rows = call_kpis(date_from=DAY.date(), date_to=DAY.date(), group_by="queue")
    assert [(row["key"], row["offered"], row["answered"], row["transferred"]) for row in rows] == [("general", 1, 1, 1)]


def test_test_calls_are_not_counted(agent):
    from calls.models import Call

    load("real", wait=3, agent=agent)
    load("test", wait=3, agent=agent)
    Call.objects.filter(call_id="test").update(is_test=True)
    assert call_kpis(date_from=DAY.date(), date_to=DAY.date())["offered"] == 1


def _ingest(committed, call_id: str, *events):
    committed(
        cti_events_ingest,
        events=[
            {
                "event_id": f"{call_id}-{kind}-{ts.timestamp()}",
                "call_id": call_id,
                "type": kind,
                "ts": ts,
                "queue": queue,
                "agent_id": agent_id,
                "data": {},
            }
            for kind, ts, queue, agent_id in events
        ],
    )


def test_late_and_out_of_order_events_correct_the_intervals_they_belong_to(agent, committed):
    """Incremental path: the events' commit marks intervals dirty; the refresh recomputes them."""
    at = datetime(2026, 3, 2, 10, 40, tzinfo=TZ)
    # The answer and the end arrive before the call was known to be queued: not offered yet.
    _ingest(
        committed,
        "late",
        ("answered", at + timedelta(seconds=12), "", agent.pk),
        ("ended", at + timedelta(seconds=72), "", None),
    )
    rollups.refresh_dirty()
    assert call_figures(at.date(), at.date())["offered"] == 0
    # The queue time arrives late: the call is offered, answered after 12 s, in the 10:30 interval.
    _ingest(committed, "late", ("queued", at, "general", None))
    rollups.refresh_dirty()  # (eager in the embedded default: already done on commit)
    rows = call_figures(at.date(), at.date(), group_by="interval")
    assert [(row["key"], row["offered"], row["answered"], row["asa_s"]) for row in rows] == [
        ("2026-03-02T10:30", 1, 1, 12.0)
    ]
    # An earlier queued event (the switch's first queue) arrives later still: the call moves to
    # the 10:00 interval, and the 10:30 interval no longer counts it.
    earlier = datetime(2026, 3, 2, 10, 29, 55, tzinfo=TZ)
    _ingest(committed, "late", ("queued", earlier, "general", None))
    rollups.refresh_dirty()
    rows = call_figures(at.date(), at.date(), group_by="interval")
    assert [(row["key"], row["offered"]) for row in rows] == [("2026-03-02T10:00", 1)]
    assert rows[0]["asa_s"] == round((at + timedelta(seconds=12) - earlier).total_seconds(), 1)
    assert call_figures(at.date(), at.date()) == call_figures_raw(at.date(), at.date())


def test_a_refresh_claims_each_mark_once_and_leaves_none(agent, committed):
    _ingest(committed, "m1", ("queued", DAY, "general", None), ("ended", DAY + timedelta(seconds=30), "", None))
    from reports.models import DirtyInterval

    rollups.refresh_dirty()
    assert not DirtyInterval.objects.exists()
    assert rollups.refresh_dirty() == 0
    assert rollups.mark_dirty([DAY, DAY + timedelta(minutes=5)]) == [rollups.interval_of(DAY)]
    assert rollups.mark_dirty([DAY]) == []  # already marked: no second refresh is scheduled


def test_reports_rebuild_recomputes_a_range_and_refuses_bad_arguments(agent):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from reports.models import CallDay, CallInterval

    load("rb1", wait=3, agent=agent)
    CallInterval.objects.all().delete()
    CallDay.objects.all().delete()
    out = StringIO()
    call_command("reports_rebuild", "--from", "2026-03-01", "--to", "2026-03-03", stdout=out)
    assert "3 days" in out.getvalue()
    assert call_figures(DAY.date(), DAY.date())["offered"] == 1
    for args in (["--from", "2026-03-03", "--to", "2026-03-01"], ["--from", "yesterday", "--to", "2026-03-01"]):
        with pytest.raises(CommandError):
            call_command("reports_rebuild", *args)
