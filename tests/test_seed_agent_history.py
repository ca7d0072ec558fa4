"""The seed writes the agents' state log around the history calls they took (agents/demo.py):
every handled call inside an ``on_call`` span of its agent, spans that never overlap, occupancy
of every agent plausible, every agent offline at the end, and a second seed changes nothing."""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from agents import demo
from agents.models import AgentState, AgentStateLog, AgentStatus
from calls.models import Call
from reports import selectors

pytestmark = pytest.mark.django_db

DAYS = 3


def _seed():
    call_command("seed_demo", history_days=DAYS, customers=20, quiet=True, stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture
def seeded():
    _seed()


def _log():
    per = defaultdict(list)
    for agent_id, at, state, reason, call_id in AgentStateLog.objects.order_by(
        "agent_id", "started_at", "pk"
    ).values_list("agent_id", "started_at", "state", "reason", "call_id"):
        per[agent_id].append((at, state, reason, call_id))
    return per


def test_every_handled_call_lies_in_an_on_call_span_of_its_agent(seeded):
    log = _log()
    on_call = {
        agent: [(rows[i][0], rows[i + 1][0]) for i in range(len(rows) - 1) if rows[i][1] == AgentState.ON_CALL]
        for agent, rows in log.items()
    }
    calls = list(
        Call.objects.filter(agent_id__isnull=False, ended_at__isnull=False).values_list(
            "agent_id", "answered_at", "ended_at"
        )
    )
    assert len(calls) > 200
    for agent_id, answered, ended in calls:
        spans = on_call.get(agent_id, [])
        index = bisect.bisect_right([start for start, _end in spans], answered) - 1
        assert index >= 0 and spans[index][0] <= answered and ended <= spans[index][1], (agent_id, answered)


def test_spans_never_overlap_follow_the_shift_and_end_offline(seeded):
    log = _log()
    assert len(log) >= 10  # the rostered agents of three days
    now = timezone.now()
    for rows in log.values():
        times = [at for at, *_rest in rows]
        assert times == sorted(times) and len(set(times)) == len(times)  # one state at a time
        assert rows[-1][1] == AgentState.OFFLINE
        assert times[-1] <= now
        for (_at, state, reason, _call), (_next, next_state, *_r) in zip(rows, rows[1:], strict=False):
            assert state != next_state or state == AgentState.NOT_READY  # a change, every row
            if state == AgentState.NOT_READY:
                assert reason  # a break has a reason
            if state == AgentState.OFFLINE:
                assert next_state == AgentState.READY  # a shift starts ready
            if state in (AgentState.RINGING, AgentState.ON_CALL, AgentState.ACW):
                assert next_state != AgentState.NOT_READY or state == AgentState.ACW
    assert not AgentStatus.objects.exclude(state=AgentState.OFFLINE).exists()


def test_occupancy_and_not_ready_time_are_plausible(seeded):
    today = timezone.localdate()
    rows = selectors.agent_table(today - timedelta(days=DAYS + 1), today)
    worked = [row for row in rows if row["logged_in_s"]]
    assert len(worked) >= 10
    for row in worked:
        # A whole shift is filled to its occupancy; a row of less than one (tonight's night shift,
        # cut by now, or the history's first) keeps what its few calls give: a CI run at 03:50
        # local found 7.9 % for 8 night calls in 8 hours, which a quiet night is.
        low = 0.08 if row["logged_in_s"] >= 12 * 3600 else 0.05
        assert low <= row["occupancy"] <= 0.95, row
        assert row["ready_s"] > 0
        # Nobody works four hours without a break; today's shift, cut by now, may not have had one yet.
        assert row["not_ready_s"] > 0 or row["logged_in_s"] < 4 * 3600, row
        # breaks, meals, paperwork: a quarter or so of the logged time, never most of it. A row of
        # less than a full shift (the history's edges) may hold a shift's meal and training in few
        # hours: a CI run at 07:45 local found 2.7 h in 8 h (not reproduced alone; docs in the note).
        share = 0.3 if row["logged_in_s"] >= 12 * 3600 else 0.4
        assert row["not_ready_s"] <= share * row["logged_in_s"], row
        assert "meal" in row["not_ready_by_reason"] or row["logged_in_s"] < 6 * 3600, row
    reasons = {reason for row in worked for reason in row["not_ready_by_reason"]}
    assert {"break", "meal", "paperwork"} <= reasons


def test_a_second_seed_changes_nothing(seeded):
    before = list(AgentStateLog.objects.order_by("pk").values_list("agent_id", "started_at", "state", "reason"))
    _seed()
    after = list(AgentStateLog.objects.order_by("pk").values_list("agent_id", "started_at", "state", "reason"))
    assert after == before
    assert not AgentStatus.objects.exclude(state=AgentState.OFFLINE).exists()


@pytest.mark.parametrize("night", [False, True])
def test_a_shift_cut_short_by_now_keeps_the_breaks_of_the_part_it_has(night):
    """Today's shift, three hours in when the seed runs, has had its first planned break (the
    seed ran at 10:56 once and the agent had worked three hours straight)."""
    day = timezone.localdate() - timedelta(days=1)
    start = demo._local(day, demo.NIGHT_START if night else demo.DAY_START)
    shift = demo._Shift(7, start, start + timedelta(hours=3), night, day)
    rows = demo._shift_rows(shift, random.Random(1))
    first_break = demo.planned_breaks(day, 7, night)[0]
    breaks = [row for row in rows if row.state == AgentState.NOT_READY]
    assert any(
        row.reason == first_break[2] and abs(row.started_at - first_break[0]) <= timedelta(minutes=1) for row in breaks
    ), breaks
    # and no break planned beyond the cut is placed at its end
    assert all(row.started_at < shift.end for row in breaks)
