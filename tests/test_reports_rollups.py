"""The rollups equal the raw computation (issue 14 point 2): random event sets — any order, in
several batches (late events), across interval, day, month and year boundaries, with test calls —
recorded with their commits, so the rollups follow by the incremental path (dirty marks, one
refresh), then compared with the figures computed from the calls by every grouping."""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from calls.models import Call
from calls.services.cti import cti_events_ingest
from org.roles import Role
from reports import rollups
from reports.selectors import GROUPS, call_figures, call_figures_raw
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
# Around a year end: 23:00 local on 2026-12-31, so calls fall on both sides of midnight, of the
# month and of the year, and of 30-minute interval edges.
ORIGIN = datetime(2026, 12, 31, 23, 0, tzinfo=TZ)
_runs = itertools.count(1)

call = st.fixed_dictionaries(
    {
        "offset_s": st.one_of(st.integers(0, 7200), st.sampled_from([1799, 1800, 3599, 3600, 3600 - 10])),
        "wait_ms": st.one_of(st.integers(0, 90_000), st.sampled_from([4_999, 5_000, 20_000, 20_001])),
        "answered": st.booleans(),
        "talk_s": st.integers(1, 900),
        "hold_s": st.sampled_from([0, 0, 15, 120]),
        "acw_s": st.sampled_from([None, 0, 30, 200]),
        "queue": st.sampled_from(["general", "card", "complaint"]),
        "moved_to": st.sampled_from([None, None, "card", "complaint"]),
        "agent": st.integers(0, 2),
        "test": st.sampled_from([False, False, False, True]),
        "late_queue_s": st.sampled_from([None, None, 40, 2000]),  # an earlier queue event, sent last
    }
)


def _events(call_id: str, spec: dict, agent_id: int) -> list[dict]:
    queued = ORIGIN + timedelta(seconds=spec["offset_s"])
    wait = timedelta(milliseconds=spec["wait_ms"])
    items = [("offered", queued - timedelta(seconds=20), ""), ("queued", queued, spec["queue"])]
    if spec["moved_to"]:
        items.append(("transferred", queued + wait / 2, spec["moved_to"]))
    if spec["answered"]:
        answered = queued + wait
        items.append(("answered", answered, ""))
        end = answered + timedelta(seconds=spec["talk_s"] + spec["hold_s"])
        if spec["hold_s"]:
            items.append(("held", answered + timedelta(seconds=1), ""))
            items.append(("retrieved", answered + timedelta(seconds=1 + spec["hold_s"]), ""))
        items.append(("ended", end, ""))
        if spec["acw_s"] is not None:
            items.append(("wrapup", end + timedelta(seconds=spec["acw_s"]), ""))
    else:
        items.append(("ended", queued + wait, ""))
    if spec["late_queue_s"]:
        items.append(("queued", queued - timedelta(seconds=spec["late_queue_s"]), spec["queue"]))
    return [
        {
            "event_id": f"{call_id}-{n}",
            "call_id": call_id,
            "type": kind,
            "ts": ts,
            "queue": queue,
            "agent_id": agent_id if kind == "answered" else None,
            "data": {},
        }
        for n, (kind, ts, queue) in enumerate(items)
    ]


@hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(call, min_size=1, max_size=10), seed=st.integers(0, 2**16))
def test_the_rollups_equal_the_raw_figures_on_random_event_sets(calls, seed, queues, committed):
    run = next(_runs)
    agents = [make_staff(Role.AGENT, username=f"ru{run}-{n}") for n in range(3)]
    events = []
    late = []
    for n, spec in enumerate(calls):
        items = _events(f"r{run}-{n}", spec, agents[spec["agent"]].pk)
        if spec["late_queue_s"]:
            late.append(items.pop())  # the earlier queue event arrives after everything else
        events += items
    random.Random(seed).shuffle(events)
    # Several batches, each committed: the rollups follow by their dirty marks.
    cut = len(events) // 2
    for batch in (events[:cut], events[cut:], late):
        if batch:
            committed(cti_events_ingest, events=batch)
    tests = [f"r{run}-{n}" for n, spec in enumerate(calls) if spec["test"]]
    if tests:
        # Test calls, marked as the simulator marks them (the CTI path never creates one); a
        # change outside the call's rebuild, so their intervals are recomputed here.
        Call.objects.filter(call_id__in=tests).update(is_test=True)
        rollups.refresh_call_intervals(rollups.intervals(ORIGIN - timedelta(hours=1), ORIGIN + timedelta(hours=3)))
    rollups.refresh_dirty()
    for date_from, date_to in ((date(2026, 12, 31), date(2027, 1, 1)), (date(2027, 1, 1), date(2027, 1, 1))):
        assert call_figures(date_from, date_to) == call_figures_raw(date_from, date_to)
        for group_by in GROUPS:
            assert call_figures(date_from, date_to, group_by=group_by) == call_figures_raw(
                date_from, date_to, group_by=group_by
            ), group_by
        assert call_figures(date_from, date_to, queue="card") == call_figures_raw(date_from, date_to, queue="card")
        username = agents[0].username
        assert call_figures(date_from, date_to, agent=username) == call_figures_raw(date_from, date_to, agent=username)
