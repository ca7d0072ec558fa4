"""``POST /api/cti/events/``: idempotent per event_id, batches, late and out-of-order events,
historical loads; bad input refused with a code, never a 500, never a corrupted call."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentState
from calls.models import Call, CallEvent
from calls.tests.helpers import event, status_of
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db

CTI = "/api/cti/events/"


def post(client, body):
    return client.post(CTI, body, format="json")


def full_call(call_id: str, agent: str, t0, **extra) -> list[dict]:
    return [
        event(call_id, "offered", t0, ani="13800000009", dnis="96123"),
        event(call_id, "queued", t0 + timedelta(seconds=10), queue="general"),
        event(call_id, "ringing", t0 + timedelta(seconds=14), agent=agent),
        event(call_id, "answered", t0 + timedelta(seconds=17), agent=agent),
        event(call_id, "held", t0 + timedelta(seconds=40)),
        event(call_id, "retrieved", t0 + timedelta(seconds=55)),
        event(call_id, "ended", t0 + timedelta(seconds=120)),
        event(call_id, "wrapup", t0 + timedelta(seconds=150)),
    ]


def record(call_id: str) -> dict:
    call = Call.objects.get(call_id=call_id)
    fields = [
        "state",
        "queue_id",
        "agent_id",
        "started_at",
        "queued_at",
        "offered_at",
        "answered_at",
        "ended_at",
        "wrapup_at",
        "wait_ms",
        "talk_ms",
        "hold_ms",
        "acw_ms",
        "abandoned",
        "ani",
        "dnis",
        "anomalies",
    ]
    return {name: getattr(call, name) for name in fields}


def test_a_batch_builds_the_call_record(switch, make_agent):
    make_agent("a1")
    t0 = timezone.now() - timedelta(days=2)
    response = post(switch, full_call("hist-1", "a1", t0))
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (8, 0, 0)
    call = Call.objects.get(call_id="hist-1")
    assert call.state == "ended" and call.agent.username == "a1" and call.entry_queue.code == "general"
    assert (call.wait_ms, call.hold_ms, call.talk_ms, call.acw_ms) == (7_000, 15_000, 88_000, 30_000)
    assert call.ani == "13800000009" and call.dnis == "96123"


def test_a_repeated_event_is_a_duplicate_and_changes_nothing(switch, make_agent):
    make_agent("a1")
    events = full_call("dup-1", "a1", timezone.now() - timedelta(days=1))
    post(switch, events)
    before = record("dup-1")
    again = post(switch, events[2:5]).json()
    assert again["duplicates"] == 3 and again["accepted"] == 0
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    assert record("dup-1") == before
    assert CallEvent.objects.filter(call__call_id="dup-1").count() == 8


def test_one_event_alone_answers_with_its_status(switch):
    body = event("one-1", "offered", timezone.now())
    first = post(switch, body)
    assert first.status_code == 200 and first.json()["results"] == [
        {"event_id": body["event_id"], "status": "accepted"}
    ]
    assert post(switch, body).json()["results"][0]["status"] == "duplicate"


def test_the_same_event_id_with_other_content_is_refused(switch):
    body = event("conf-1", "offered", timezone.now())
    post(switch, body)
    response = post(switch, {**body, "type": "ended"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "event_id_conflict"
    assert Call.objects.get(call_id="conf-1").state == "ivr"
    in_batch = post(switch, [{**body, "ani": "1"}, event("conf-1", "ended", timezone.now())]).json()
    assert [r["status"] for r in in_batch["results"]] == ["rejected", "accepted"]


def test_a_twin_inside_one_batch_counts_once(switch):
    body = event("twin-1", "offered", timezone.now())
    result = post(switch, [body, dict(body)]).json()
    assert [r["status"] for r in result["results"]] == ["accepted", "duplicate"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_out_of_order_and_late_events_give_the_same_record(switch, make_agent, seed):
    make_agent("a1")
    t0 = timezone.now() - timedelta(hours=3)
    post(switch, full_call("ordered", "a1", t0))
    shuffled = full_call("shuffled", "a1", t0)
    random.Random(seed).shuffle(shuffled)
    # one at a time, then the rest as a late batch
    for item in shuffled[:4]:
        post(switch, item)
    post(switch, shuffled[4:])
    assert record("shuffled") == record("ordered")


def test_an_event_before_the_calls_start_fills_in_the_start(switch):
    t0 = timezone.now() - timedelta(minutes=1)
    post(switch, event("late-start", "queued", t0 + timedelta(seconds=30), queue="card"))
    assert Call.objects.get(call_id="late-start").started_at == t0 + timedelta(seconds=30)
    post(switch, event("late-start", "offered", t0, ani="13900000000"))
    call = Call.objects.get(call_id="late-start")
    assert call.started_at == t0 and call.ani == "13900000000" and call.state == "queued"


def test_contradictory_events_are_ignored_with_their_reason(switch, make_agent):
    make_agent("a1")
    make_agent("a2")
    t0 = timezone.now() - timedelta(days=1)
    post(
        switch,
        [
            event("contra", "queued", t0, queue="general"),
            event("contra", "answered", t0 + timedelta(seconds=5), agent="a1", event_id="x-ans-1"),
            event("contra", "answered", t0 + timedelta(seconds=6), agent="a2", event_id="x-ans-2"),
            event("contra", "ended", t0 + timedelta(seconds=60)),
            event("contra", "held", t0 + timedelta(seconds=61), event_id="x-held"),
        ],
    )
    call = Call.objects.get(call_id="contra")
    assert call.agent.username == "a1" and call.talk_ms == 55_000
    assert {(a["event_id"], a["code"]) for a in call.anomalies} == {
        ("x-ans-2", "already_answered"),
        ("x-held", "event_after_end"),
    }


def test_answered_before_queued_is_ignored_not_a_negative_wait(switch, make_agent):
    make_agent("a1")
    t0 = timezone.now() - timedelta(days=1)
    post(
        switch,
        [
            event("abq", "answered", t0, agent="a1"),
            event("abq", "queued", t0 + timedelta(seconds=3), queue="general", event_id="abq-q"),
        ],
    )
    call = Call.objects.get(call_id="abq")
    assert call.wait_ms is None and call.queued_at is None
    assert call.anomalies == [{"event_id": "abq-q", "type": "queued", "code": "answered_before_queued"}]


def test_a_historical_load_never_moves_an_agent(switch, make_agent):
    agent = make_agent("a1", state=AgentState.READY, idle_for=10)
    t0 = timezone.now() - timedelta(days=30)
    post(switch, full_call("old-1", "a1", t0)[:4])  # answered 30 days ago, never ended
    assert Call.objects.get(call_id="old-1").state == "connected"
    status = status_of(agent)
    assert status.state == AgentState.READY and status.call is None


def test_live_switch_events_move_the_agent(switch, make_agent):
    agent = make_agent("a1", state=AgentState.NOT_READY)
    now = timezone.now()
    post(switch, [event("live-1", "queued", now, queue="complaint"), event("live-1", "ringing", now, agent="a1")])
    assert status_of(agent).state == AgentState.RINGING
    post(switch, event("live-1", "answered", now, agent="a1"))
    assert status_of(agent).state == AgentState.ON_CALL and status_of(agent).call.call_id == "live-1"
    post(switch, event("live-1", "ended", now))
    status = status_of(agent)
    assert status.state == AgentState.ACW and status.call is None and status.acw_call.call_id == "live-1"
    post(switch, event("live-1", "wrapup", now))
    assert status_of(agent).state == AgentState.READY


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"event_id": "b1", "call_id": "c", "type": "exploded", "ts": "2026-03-28T09:00:00+08:00"},
            "invalid_event_type",
        ),
        ({"event_id": "b2", "call_id": "c", "type": "offered", "ts": "2026-03-28T09:00:00"}, "naive_ts"),
        ({"event_id": "b3", "call_id": "c", "type": "offered", "ts": "yesterday"}, "invalid_ts"),
        ({"event_id": "b4", "call_id": "c", "type": "offered", "ts": "2099-01-01T00:00:00+08:00"}, "ts_in_future"),
        ({"event_id": "b5", "call_id": "c c", "type": "offered", "ts": "2026-03-28T09:00:00+08:00"}, "invalid_call_id"),
        ({"event_id": "b6", "call_id": "c", "type": "queued", "ts": "2026-03-28T09:00:00+08:00"}, "queue_required"),
        ({"event_id": "b7", "call_id": "c", "type": "ringing", "ts": "2026-03-28T09:00:00+08:00"}, "agent_required"),
        (
            {"event_id": "b8", "call_id": "c", "type": "transferred", "ts": "2026-03-28T09:00:00+08:00"},
            "transfer_target_required",
        ),
        (
            {"event_id": "b9", "call_id": "c", "type": "queued", "ts": "2026-03-28T09:00:00+08:00", "queue": "nope"},
            "unknown_queue",
        ),
        (
            {
                "event_id": "b10",
                "call_id": "c",
                "type": "answered",
                "ts": "2026-03-28T09:00:00+08:00",
                "agent": "ghost",
            },
            "unknown_agent",
        ),
        (
            {"event_id": "b11", "call_id": "c", "type": "offered", "ts": "2026-03-28T09:00:00+08:00", "colour": "red"},
            "unknown_field",
        ),
        ({"call_id": "c", "type": "offered", "ts": "2026-03-28T09:00:00+08:00"}, "invalid_input"),
        (
            {"event_id": "b 12", "call_id": "c", "type": "offered", "ts": "2026-03-28T09:00:00+08:00"},
            "invalid_event_id",
        ),
        ([], "empty_batch"),
        ("not an object", "invalid_body"),
    ],
)
def test_bad_events_are_refused_with_a_code(switch, body, code):
    response = post(switch, body)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"] == code
    assert not Call.objects.filter(call_id="c").exists()


def test_a_bad_event_in_a_batch_does_not_refuse_the_others(switch):
    now = timezone.now().isoformat()
    result = post(
        switch,
        [
            {"event_id": "ok-1", "call_id": "mix", "type": "offered", "ts": now},
            {"event_id": "bad-1", "call_id": "mix", "type": "queued", "ts": now, "queue": "nope"},
            [1, 2],
            {"event_id": "ok-2", "call_id": "mix", "type": "queued", "ts": now, "queue": "card"},
        ],
    )
    assert result.status_code == 200
    assert [r["status"] for r in result.json()["results"]] == ["accepted", "rejected", "rejected", "accepted"]
    assert result.json()["results"][1]["code"] == "unknown_queue"
    assert Call.objects.get(call_id="mix").queue.code == "card"


def test_a_batch_too_large_is_refused(switch, settings):
    settings.CALLS_MAX_BATCH = 3
    now = timezone.now()
    response = post(switch, [event("big", "offered", now) for _ in range(4)])
    assert response.status_code == 400 and response.json()["error"]["code"] == "batch_too_large"


def test_malformed_json_is_a_400(switch):
    response = switch.post(CTI, b"{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR, Role.MAINTAINER])
def test_only_the_switch_may_post_events(as_user, role):
    response = post(as_user(make_staff(role)), event("x", "offered", timezone.now()))
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_events_need_credentials(api_client):
    assert post(api_client, event("x", "offered", timezone.now())).status_code == 401


def test_call_status_for_the_switch(switch, make_agent, committed):
    make_agent("a1", state=AgentState.READY, extension="8001", idle_for=5)
    committed(
        post,
        switch,
        [event("st-1", "offered", timezone.now()), event("st-1", "queued", timezone.now(), queue="general")],
    )
    assert switch.get("/api/calls/st-1/").json() == {
        "state": "offered",
        "queue": "general",
        "agent": "a1",
        "extension": "8001",
        "callback_offer": False,
    }
    response = switch.get("/api/calls/unknown-call/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "call_not_found"


def test_call_status_is_for_the_switch_and_staff(as_user, switch):
    post(switch, event("st-2", "offered", timezone.now()))
    assert as_user(make_staff(Role.AGENT)).get("/api/calls/st-2/").json()["state"] == "ivr"
    assert as_user(make_staff(Role.UNIT_STAFF)).get("/api/calls/st-2/").status_code == 403
    assert as_user(make_staff(Role.RISK_OFFICER)).get("/api/calls/st-2/").status_code == 403


def test_the_event_log_is_append_only(switch):
    from audit.models import AppendOnlyError

    post(switch, event("ao-1", "offered", timezone.now()))
    row = CallEvent.objects.get(call__call_id="ao-1")
    row.type = "ended"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        CallEvent.objects.filter(pk=row.pk).delete()
