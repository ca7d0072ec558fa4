"""The fold in PL/pgSQL (``calls.fold_sql``, issue 12 point 8) builds what ``calls.cdr.fold`` and
``call_fields`` build: random event sets of every type (ties, overflows, transfers, holds, IVR
details, links, unknown types, microseconds), and a scripted call. Either copy of the rules
changed alone fails here."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from calls import cdr
from calls.models import Call, CallEvent
from calls.services import fields

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

_runs = itertools.count(1)
TYPES = [
    "offered",
    "queued",
    "ringing",
    "answered",
    "held",
    "retrieved",
    "transferred",
    "ended",
    "wrapup",
    "offer_expired",
    "customer_linked",
    "dialing",
]
DATA = st.sampled_from(
    [
        {},
        {"reason": "overflow"},
        {"reason": "caller_hung_up_after_a_very_long_time"},
        {"disposition": "resolved_with_a_long_name", "note": '备注 "q"'},
        {"disposition": "", "note": "x"},
        {"ani": "13900000001", "dnis": "95511", "direction": "outbound"},
        {"ani": ""},
        {"verified": True, "path": ["main", "balance"], "customer_id": 7, "account_id": 9},
        {"verified": False, "path": ["main"]},
        {"verified": True, "path": [], "customer_id": 0},
        {"customer_id": 12},
        {"customer_id": "12"},
        {"test": True},
        {"test": "yes"},
    ]
)
step = st.tuples(
    st.sampled_from(TYPES),
    st.integers(min_value=0, max_value=400_000_000),  # microseconds after the start
    st.sampled_from([None, 0, 1]),  # which agent
    st.sampled_from(["", "general", "card", "nosuch"]),
    DATA,
)


def _as_python(value, name):
    if name.endswith("_at") and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


@pytest.mark.usefixtures("on_postgres")
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=0, max_size=14), same_ts=st.booleans())
def test_the_sql_fold_agrees(steps, same_ts, make_agent, queues):
    run = next(_runs)
    agents = [make_agent(f"fs{run}-{i}", skills={}) for i in range(2)]
    call = Call.objects.create(call_id=f"fold-sql-{run}")
    start = timezone.now() - timedelta(days=2)
    rows = []
    for n, (type_, micros, who, queue, data) in enumerate(steps):
        at = start + timedelta(microseconds=(micros // 1_000_000) * 1_000_000 if same_ts else micros)
        rows.append(
            CallEvent(
                event_id=f"fs{run}-{n:02d}{'b' if n % 3 else 'A'}",
                call=call,
                type=type_,
                ts=at,
                source="cti",
                queue=queue,
                agent_id=agents[who].pk if who is not None else None,
                data=data,
                digest="x",
            )
        )
    CallEvent.objects.bulk_create(rows)
    expected = fields.call_fields(cdr.fold(list(CallEvent.objects.filter(call=call))))
    folded = cdr.fold(list(CallEvent.objects.filter(call=call)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT cc_call_fold(%s, %s)", [call.pk, settings.CALLS_VERIFIED_PRIORITY])
        (got,) = cursor.fetchone()
    got = json.loads(got) if isinstance(got, str) else got
    offer_at = got.pop("_offer_at")
    got = {name: _as_python(value, name) for name, value in got.items()}
    pass
    assert got == expected
    assert _as_python(offer_at, "offer_at") == folded.offer_at


SCRIPTED = [
    ("offered", 0, None, "", {"ani": "13900000001", "dnis": "95511"}),
    ("queued", 1_000_001, None, "general", {"verified": True, "path": ["main", "balance"], "customer_id": 3}),
    ("ringing", 3_333_333, 0, "", {}),
    ("offer_expired", 9_999_999, 0, "", {}),
    ("ringing", 10_000_000, 1, "", {}),
    ("answered", 11_005_000, 1, "", {}),
    ("held", 20_000_001, None, "", {}),
    ("retrieved", 25_123_456, None, "", {}),
    ("transferred", 30_000_000, None, "card", {"reason": "overflow"}),
    ("ringing", 31_000_000, 0, "", {}),
    ("answered", 32_000_000, 0, "", {}),
    ("held", 40_000_000, None, "", {}),
    ("ended", 50_000_000, None, "", {"reason": "caller_hung_up"}),
    ("wrapup", 80_000_000, 0, "", {"disposition": "resolved", "note": "ok"}),
    ("customer_linked", 81_000_000, 0, "", {"customer_id": 12}),
]


@pytest.mark.usefixtures("on_postgres")
def test_a_scripted_call_with_a_transfer_and_holds(make_agent, queues):
    agents = [make_agent(f"fss-{i}", skills={}) for i in range(2)]
    call = Call.objects.create(call_id="fold-sql-scripted")
    start = timezone.now() - timedelta(days=2)
    CallEvent.objects.bulk_create(
        CallEvent(
            event_id=f"fss-{n}",
            call=call,
            type=t,
            ts=start + timedelta(microseconds=us),
            source="cti",
            queue=q,
            agent_id=agents[w].pk if w is not None else None,
            data=d,
            digest="x",
        )
        for n, (t, us, w, q, d) in enumerate(SCRIPTED)
    )
    folded = cdr.fold(list(CallEvent.objects.filter(call=call)))
    assert folded.transfers == 1 and folded.missed_offers == 1 and len(folded.holds) == 2
    expected = fields.call_fields(folded)
    with connection.cursor() as cursor:
        cursor.execute("SELECT cc_call_fold(%s, %s)", [call.pk, settings.CALLS_VERIFIED_PRIORITY])
        (got,) = cursor.fetchone()
    got = json.loads(got) if isinstance(got, str) else got
    got.pop("_offer_at")
    assert {name: _as_python(value, name) for name, value in got.items()} == expected


def test_the_latest_migration_creates_the_functions_of_calls_fold_sql():
    from importlib import import_module

    from calls import fold_sql

    migration = import_module("calls.migrations.0014_fold_function")
    assert migration.FOLD_FUNCTIONS == fold_sql.FOLD_FUNCTIONS
    assert migration.DROP_FOLD_FUNCTIONS == fold_sql.DROP_FOLD_FUNCTIONS


def _post(switch, call_id: str, n: int, type_: str, at, agent=None, queue=None) -> dict:
    body = {"event_id": f"{call_id}-{n}", "call_id": call_id, "type": type_, "ts": at.isoformat()}
    if agent is not None:
        body["agent"] = agent.username
    if queue is not None:
        body["queue"] = queue
    return switch.post("/api/cti/events/", body, format="json").json()


def _folded_in_db(captured) -> bool:
    return any("cc_call_fold" in query["sql"] for query in captured.captured_queries)


@pytest.mark.usefixtures("on_postgres")
def test_a_late_end_that_completes_a_stored_wrapup_is_rebuilt_in_python(switch, queues, make_agent):
    """The wrap-up came before the end (ignored: ``wrapup_before_end``); the late ``ended`` makes it
    count, which ends an after-call work: the database's fold does not save that (no agent moves
    there), and the Python rebuild does, with the same record."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from agents.models import AgentState, AgentStatus

    agent = make_agent("fs-late-end", skills={})
    t0 = timezone.now() - timedelta(days=1)
    sequence = [("offered", 0, {}), ("queued", 5, {"queue": "general"}), ("ringing", 9, {"agent": agent})]
    sequence += [("answered", 12, {"agent": agent}), ("wrapup", 80, {})]
    for n, (type_, seconds, extra) in enumerate(sequence):
        assert _post(switch, "fs-le", n, type_, t0 + timedelta(seconds=seconds), **extra)["accepted"] == 1
    call = Call.objects.get(call_id="fs-le")
    assert call.wrapup_at is None and call.anomalies[-1]["code"] == "wrapup_before_end"
    # The agent's desk is in this call's after-call work (the end it waits for is the late one).
    AgentStatus.objects.filter(user=agent).update(state=AgentState.ACW, acw_call_id=call.pk, call=None)
    with CaptureQueriesContext(db) as captured:
        assert _post(switch, "fs-le", 9, "ended", t0 + timedelta(seconds=60))["accepted"] == 1
    assert _folded_in_db(captured)  # tried, refused by the guard, then rebuilt in Python
    call.refresh_from_db()
    expected = fields.call_fields(cdr.fold(list(CallEvent.objects.filter(call=call))))
    expected["direction"] = expected["direction"] or "inbound"  # as every rebuild saves it
    assert call.wrapup_at == t0 + timedelta(seconds=80) and call.acw_ms == 20_000
    assert {name: getattr(call, name) for name in expected} == expected
    status = AgentStatus.objects.get(user=agent)
    assert (status.state, status.acw_call_id) == (AgentState.READY, None)  # the wrap-up ended it


@pytest.mark.usefixtures("on_postgres")
def test_a_late_event_of_a_call_an_agent_holds_is_rebuilt_in_python(switch, queues, make_agent):
    """A live call answered by an agent, then a late event (its time outside the live window): the
    agent holds the call, so the database does not fold it; the agent stays on the call."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from agents.models import AgentState, AgentStatus

    agent = make_agent("fs-holder", state=AgentState.READY, skills={})
    t0 = timezone.now() - timedelta(seconds=30)
    live = [("offered", 0, {}), ("queued", 2, {"queue": "general"}), ("ringing", 4, {"agent": agent})]
    live += [("answered", 6, {"agent": agent})]
    for n, (type_, seconds, extra) in enumerate(live):
        assert _post(switch, "fs-h", n, type_, t0 + timedelta(seconds=seconds), **extra)["accepted"] == 1
    assert AgentStatus.objects.get(user=agent).state == AgentState.ON_CALL
    late = timezone.now() - timedelta(seconds=settings.CALLS_LIVE_WINDOW_S + 60)
    with CaptureQueriesContext(db) as captured:
        assert _post(switch, "fs-h", 9, "offered", late)["accepted"] == 1  # the switch's start, late
    assert not _folded_in_db(captured)
    call = Call.objects.get(call_id="fs-h")
    assert call.started_at == late and call.state == "connected"
    status = AgentStatus.objects.get(user=agent)
    assert (status.state, status.call_id) == (AgentState.ON_CALL, call.pk)


@pytest.mark.usefixtures("on_postgres")
def test_a_historical_event_is_folded_in_the_database(switch, queues, make_agent, settings):
    """The common case takes the database's fold; with ``CALLS_CTI_FOLD_IN_DB`` off it does not."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    t0 = timezone.now() - timedelta(days=2)
    assert _post(switch, "fs-hist", 0, "offered", t0)["accepted"] == 1
    with CaptureQueriesContext(db) as captured:
        assert _post(switch, "fs-hist", 1, "queued", t0 + timedelta(seconds=3), queue="general")["accepted"] == 1
    assert _folded_in_db(captured)
    settings.CALLS_CTI_FOLD_IN_DB = False
    with CaptureQueriesContext(db) as captured:
        assert _post(switch, "fs-hist", 2, "ended", t0 + timedelta(seconds=30))["accepted"] == 1
    assert not _folded_in_db(captured)
    call = Call.objects.get(call_id="fs-hist")
    assert (call.state, call.abandoned, call.wait_ms) == ("ended", True, 27_000)
