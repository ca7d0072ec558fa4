"""The single-event fast path (``calls/fastpath.py``, issue 12 point 8) agrees with the plain
path: random event sequences — any order, live or historical, resent, ids reused with other
content — posted one per request build the same call and move the same agents as through the
batch path. On PostgreSQL (the fast path's home)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agents.models import AgentState, AgentStatus
from calls import cdr
from calls.models import Call, CallEvent
from calls.services import call_rows, fields

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

_runs = itertools.count(1)
TYPES = ["offered", "queued", "ringing", "answered", "held", "retrieved", "transferred", "ended", "wrapup"]
COMPARED = [
    *fields.call_fields(cdr.Fold()).keys(),
    "offer_expires_at",
    "callback_offered_at",
]

step = st.tuples(
    st.sampled_from(TYPES),
    st.integers(min_value=0, max_value=400),  # seconds after the call's start
    st.integers(min_value=0, max_value=1),  # which agent
    st.sampled_from(["general", "card", "complaint"]),
    st.sampled_from(["new", "new", "new", "resend", "reuse"]),
)


def _body(prefix: str, call_id: str, n: int, type_: str, at, agent: str, queue: str) -> dict:
    body = {"event_id": f"{prefix}-{n}", "call_id": call_id, "type": type_, "ts": at.isoformat()}
    if type_ in ("ringing", "answered"):
        body["agent"] = agent
    if type_ in ("queued", "transferred"):
        body["queue"] = queue
    if type_ == "offered":
        body["ani"] = "13900000001"
    return body


def _normalised(call: Call, prefix: str, agents: dict[int, int]) -> dict:
    values = {}
    for name in COMPARED:
        value = getattr(call, name)
        if name == "agent_id":
            value = agents.get(value, value)
        elif name == "legs":
            value = [{**leg, "agent": agents.get(leg["agent"], leg["agent"])} for leg in value]
        elif name == "anomalies":
            value = [{**a, "event_id": a["event_id"].removeprefix(prefix)} for a in value]
        values[name] = value
    return values


@pytest.mark.usefixtures("on_postgres")
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12), live=st.booleans())
def test_one_event_per_request_builds_what_the_batch_path_builds(steps, live, make_agent, switch, settings):
    run = next(_runs)
    # No skills: the router offers them nothing, so only the events move them.
    fast_agents = [make_agent(f"fa{run}-{i}", state=AgentState.READY, skills={}) for i in range(2)]
    plain_agents = [make_agent(f"pa{run}-{i}", state=AgentState.READY, skills={}) for i in range(2)]
    start = timezone.now() - (timedelta(seconds=420) if live else timedelta(days=2))
    answers = {"fast": [], "plain": []}
    for path, agents in (("fast", fast_agents), ("plain", plain_agents)):
        settings.CALLS_CTI_FAST_PATH = path == "fast"
        prefix, call_id = f"{path}{run}", f"{path}-call-{run}"
        sent: list[dict] = []
        for n, (type_, offset, who, queue, kind) in enumerate(steps):
            at = start + timedelta(seconds=offset)
            body = _body(prefix, call_id, n, type_, at, agents[who].username, queue)
            if kind == "resend" and sent:
                body = sent[-1]
            elif kind == "reuse" and sent:
                body = {**body, "event_id": sent[-1]["event_id"]}
            sent.append(body)
            response = switch.post("/api/cti/events/", body, format="json")
            payload = response.json()
            answers[path].append((response.status_code, payload.get("accepted"), payload.get("error", {}).get("code")))
    assert answers["fast"] == answers["plain"]
    fast_call = Call.objects.filter(call_id=f"fast-call-{run}").first()
    plain_call = Call.objects.filter(call_id=f"plain-call-{run}").first()
    assert (fast_call is None) == (plain_call is None)
    if fast_call is None:
        return
    to_fast = {plain.pk: fast.pk for plain, fast in zip(plain_agents, fast_agents, strict=True)}
    assert _normalised(fast_call, f"fast{run}", {}) == _normalised(plain_call, f"plain{run}", to_fast)
    assert CallEvent.objects.filter(call=fast_call).count() == CallEvent.objects.filter(call=plain_call).count()
    _assert_stored_as_the_orm_stores(_rebuilt(fast_call))
    for fast, plain in zip(fast_agents, plain_agents, strict=True):
        f, p = AgentStatus.objects.get(user=fast), AgentStatus.objects.get(user=plain)
        assert (f.state, f.reason, f.call_id is None, f.acw_call_id is None) == (
            p.state,
            p.reason,
            p.call_id is None,
            p.acw_call_id is None,
        )


def _assert_stored_as_the_orm_stores(*saved: Call) -> None:
    """The calls' row as ``call_rows.save_calls`` stores it (on PostgreSQL one JSON document the
    server unpacks) equals the row the ORM's own update stores from the same values."""
    names = [field.attname for field in call_rows._saved_fields()]
    pks = [call.pk for call in saved]
    call_rows.save_calls(list(saved))
    fast = list(Call.objects.filter(pk__in=pks).order_by("pk").values(*names))
    for call in saved:
        Call.objects.filter(pk=call.pk).update(**{name: getattr(call, name) for name in names})
    assert fast == list(Call.objects.filter(pk__in=pks).order_by("pk").values(*names))


def _rebuilt(call: Call) -> Call:
    rebuilt = Call(pk=call.pk, offer_expires_at=call.offer_expires_at, callback_offered_at=call.callback_offered_at)
    for name, value in fields.call_fields(cdr.fold(list(CallEvent.objects.filter(call=call)))).items():
        setattr(rebuilt, name, value)
    rebuilt.updated_at = timezone.now()
    return rebuilt


def test_the_json_document_stores_what_the_orm_stores_for_awkward_values(on_postgres, queues):
    """Quotes, backslashes, Chinese, control characters, microseconds and offsets other than
    UTC, empty and nested JSON, nulls: one call alone (the prepared statement) and two at once
    (the batch's ``executemany``)."""
    from datetime import UTC, datetime
    from datetime import timezone as tz

    one, two = Call.objects.create(call_id="fp-json-1"), Call.objects.create(call_id="fp-json-2")
    for call in (one, two):
        call.refresh_from_db()
    one.ani, one.dnis, one.note = 'sip:"张三"\\x@10.0.0.1;tag=a\tb', "95xxx\n", '备注："引号" \\ 反斜杠\r\n第二行'
    one.started_at = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=tz(timedelta(hours=8)))
    one.queued_at = datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    one.ivr_path = ["main", "余额", {"k": [1, None, True, 1.5]}]
    one.legs = [{"agent": None, "from": "2026-03-01T00:00:00+00:00", "note": "\u0007"}]
    one.anomalies, one.holds = [], []
    one.customer_id, one.agent_id, one.wait_ms = 2**40, None, 0
    one.updated_at = timezone.now()
    _assert_stored_as_the_orm_stores(one)
    two.state, two.held, two.direction, two.updated_at = "connected", True, "outbound", timezone.now()
    one.end_reason = "caller_hung_up"
    _assert_stored_as_the_orm_stores(one, two)


@pytest.mark.parametrize("live", [True, False])
def test_the_fast_path_stores_the_event_the_plain_path_stores(switch, on_postgres, queues, settings, live):
    """The event's row from its JSON document (text with quotes and backslashes, a time with
    microseconds and another offset, the switch's details as JSON) is the batch path's row."""
    from datetime import timezone as tz

    at = (timezone.now() - (timedelta(seconds=5) if live else timedelta(days=3))).astimezone(tz(timedelta(hours=8)))
    at = at.replace(microsecond=123457)
    rows = {}
    for path in ("fast", "plain"):
        settings.CALLS_CTI_FAST_PATH = path == "fast"
        body = {
            "event_id": f"fp-ev-{path}-{live}",
            "call_id": f"fp-ev-{path}-{live}",
            "type": "offered",
            "ts": at.isoformat(),
            "ani": 'sip:"Zhang \\"San\\""@10.0.0.1;tag=a%20b',
            "dnis": "tel:+86-10-95511",
        }
        answer = switch.post("/api/cti/events/", body, format="json").json()
        assert answer.get("accepted") == 1, answer
        event = CallEvent.objects.get(event_id=body["event_id"])
        # (The digests differ: the call ids do.)
        rows[path] = (event.type, event.ts, event.source, event.queue, event.agent_id, event.data, len(event.digest))
        assert event.received_at is not None and abs(event.received_at - timezone.now()) < timedelta(minutes=1)
    assert rows["fast"] == rows["plain"]
    assert rows["fast"][1] == at and rows["fast"][5]["ani"] == 'sip:"Zhang \\"San\\""@10.0.0.1;tag=a%20b'


@pytest.mark.parametrize("on_a_desk", [False, True])
def test_a_late_event_taking_a_call_from_an_agent_tells_their_desk_only_if_it_shows_the_call(
    switch, on_postgres, queues, make_agent, monkeypatch, django_capture_on_commit_callbacks, on_a_desk
):
    """A historical load's late ``queued`` takes the call back from the agent its ``ringing``
    named: nobody's desk shows a two-day-old call, so nobody is told — unless a desk does (here
    the agent's after-call work), and then that desk is."""
    from calls.services import events as event_service

    agent = make_agent("fp-late-agent", state=AgentState.READY, skills={})
    pushed = []
    monkeypatch.setattr(event_service, "_push_call_changed", lambda pk, previous, withdrawn="": pushed.append(previous))
    t0 = timezone.now() - timedelta(days=2)
    sequence = [("offered", 0), ("queued", 10), ("ringing", 20), ("queued", 30)]
    for n, (type_, seconds) in enumerate(sequence):
        body = {
            "event_id": f"fp-late-{on_a_desk}-{n}",
            "call_id": f"fp-late-{on_a_desk}",
            "type": type_,
            "ts": (t0 + timedelta(seconds=seconds)).isoformat(),
        }
        if type_ == "queued":
            body["queue"] = "general"
        if type_ == "ringing":
            body["agent"] = agent.username
            answer = switch.post("/api/cti/events/", body, format="json").json()
            call = Call.objects.get(call_id=body["call_id"])
            assert answer["accepted"] == 1 and call.agent_id == agent.pk
            if on_a_desk:
                AgentStatus.objects.filter(user=agent).update(acw_call=call)
            continue
        with django_capture_on_commit_callbacks(execute=True):
            assert switch.post("/api/cti/events/", body, format="json").json()["accepted"] == 1
    assert Call.objects.get(call_id=f"fp-late-{on_a_desk}").agent_id is None
    assert pushed == ([agent.pk] if on_a_desk else [])


def test_a_resent_event_leaves_no_call_behind_and_a_reused_id_is_refused(switch, on_postgres, queues):
    now = timezone.now()
    first = {"event_id": "fp-dup-1", "call_id": "fp-dup", "type": "queued", "ts": now.isoformat(), "queue": "general"}
    assert switch.post("/api/cti/events/", first, format="json").json()["accepted"] == 1
    again = switch.post("/api/cti/events/", first, format="json")
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    other = {**first, "call_id": "fp-other"}
    refused = switch.post("/api/cti/events/", other, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "event_id_conflict"
    assert not Call.objects.filter(call_id="fp-other").exists()
    assert Call.objects.get(call_id="fp-dup").event_count == 1


def test_one_event_of_a_known_call_costs_one_statement_and_the_calls_update(
    switch, on_postgres, queues, django_assert_max_num_queries
):
    now = timezone.now() - timedelta(days=1)
    body = {"event_id": "fp-q-1", "call_id": "fp-q", "type": "offered", "ts": now.isoformat(), "ani": "1"}
    # BEGIN, the recording statement (no call yet), the creation, the recording statement, the
    # call's UPDATE, COMMIT (the client is force-authenticated).
    with django_assert_max_num_queries(6):
        assert switch.post("/api/cti/events/", body, format="json").json()["accepted"] == 1
    # The call's next event: BEGIN, the recording statement, the UPDATE, COMMIT.
    body = {**body, "event_id": "fp-q-2", "type": "ended", "ts": (now + timedelta(seconds=9)).isoformat()}
    with django_assert_max_num_queries(4):
        assert switch.post("/api/cti/events/", body, format="json").json()["accepted"] == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_single_events_of_one_call_all_count(on_postgres):
    """Each request sees the events of those who held the call's lock before it: eight events of
    one call posted at once, one per request, build the whole call."""
    import threading

    from django.db import connections
    from rest_framework.test import APIClient

    from calls.demo import ensure_default_queues
    from org.roles import Role
    from tests.factories import make_staff

    ensure_default_queues()
    agent = make_staff(Role.AGENT, username="fp-conc-agent")
    user = make_staff(Role.SWITCH, username="fp-conc-switch")
    t0 = timezone.now() - timedelta(days=1)
    kinds = ["offered", "queued", "ringing", "answered", "held", "retrieved", "ended", "wrapup"]
    bodies = []
    for n, type_ in enumerate(kinds):
        body = {
            "event_id": f"fp-c-{n}",
            "call_id": "fp-conc",
            "type": type_,
            "ts": (t0 + timedelta(seconds=10 * n)).isoformat(),
        }
        if type_ == "queued":
            body["queue"] = "general"
        if type_ in ("ringing", "answered"):
            body["agent"] = agent.username
        bodies.append(body)
    barrier = threading.Barrier(len(bodies))
    codes = []

    def post(body):
        client = APIClient()
        client.force_authenticate(user)
        barrier.wait()
        try:
            codes.append(client.post("/api/cti/events/", body, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == [200] * len(bodies)
    call = Call.objects.get(call_id="fp-conc")
    assert call.event_count == len(bodies) and call.state == "ended" and call.wrapup_at is not None
    assert call.hold_ms == 10_000 and call.wait_ms == 20_000 and call.anomalies == []


def _agent_reads(captured) -> list[str]:
    return [q["sql"] for q in captured if 'FROM "agents_agentstatus"' in q["sql"] and "FOR UPDATE" not in q["sql"]]


def test_an_event_no_agent_holds_reads_no_agent_and_a_wrapup_reads_them_once(switch, on_postgres, queues, make_agent):
    """The fast path knows from its statement whether an agent holds the call (issue 12 point 8):
    an event of a call nobody holds reads no agent; the wrap-up that may end someone's after-call
    work reads the agents once (holders, the agent taking the call and after-call work in one
    statement), not once per kind."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent = make_agent("fp-hist-agent", state=AgentState.READY, skills={})
    t0 = timezone.now() - timedelta(days=1)
    kinds = ["offered", "queued", "ringing", "answered", "ended", "wrapup"]
    reads = {}
    for n, type_ in enumerate(kinds):
        body = {
            "event_id": f"fp-h-{n}",
            "call_id": "fp-hist",
            "type": type_,
            "ts": (t0 + timedelta(seconds=9 * n)).isoformat(),
        }
        if type_ == "queued":
            body["queue"] = "general"
        if type_ in ("ringing", "answered"):
            body["agent"] = agent.username
        with CaptureQueriesContext(connection) as captured:
            assert switch.post("/api/cti/events/", body, format="json").json()["accepted"] == 1
        reads[type_] = len(_agent_reads(captured.captured_queries))
        if type_ == "wrapup":
            # BEGIN, the recording statement, the agents, the call's UPDATE, COMMIT.
            assert len(captured.captured_queries) <= 5, [q["sql"][:80] for q in captured.captured_queries]
    assert reads == {"offered": 0, "queued": 0, "ringing": 0, "answered": 0, "ended": 0, "wrapup": 1}
    status = AgentStatus.objects.get(user=agent)
    assert (status.state, status.call_id) == (AgentState.READY, None)  # a historical call moves no agent


def test_a_live_call_one_event_per_request_moves_its_agent_through_after_call_work(
    switch, on_postgres, queues, make_agent
):
    agent = make_agent("fp-live-agent", state=AgentState.READY, skills={})
    t0 = timezone.now() - timedelta(seconds=60)
    seen = []
    for n, type_ in enumerate(["offered", "queued", "ringing", "answered", "ended", "wrapup"]):
        body = {
            "event_id": f"fp-l-{n}",
            "call_id": "fp-live",
            "type": type_,
            "ts": (t0 + timedelta(seconds=5 * n)).isoformat(),
        }
        if type_ == "queued":
            body["queue"] = "general"
        if type_ in ("ringing", "answered"):
            body["agent"] = agent.username
        assert switch.post("/api/cti/events/", body, format="json").json()["accepted"] == 1
        status = AgentStatus.objects.get(user=agent)
        seen.append((type_, status.state, status.call_id is not None, status.acw_call_id is not None))
    assert seen == [
        ("offered", AgentState.READY, False, False),
        ("queued", AgentState.READY, False, False),
        ("ringing", AgentState.RINGING, True, False),
        ("answered", AgentState.ON_CALL, True, False),
        ("ended", AgentState.ACW, False, True),
        ("wrapup", AgentState.READY, False, False),
    ]
