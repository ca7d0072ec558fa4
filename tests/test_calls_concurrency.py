"""Routing and CTI ingestion under real concurrency on PostgreSQL: parallel connections from
threads, no mocks. Two calls never ring one agent, one call never rings two agents, and a CTI
batch posted many times at once is stored once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from agents.locks import lock_agents
from agents.models import AgentSkill, AgentState, AgentStatus
from agents.services import agent_state_set
from calls import dispatch
from calls.locks import lock_call
from calls.models import Call, CallEvent, Queue
from calls.services import control, cti
from calls.tests.helpers import event
from org.roles import Role
from tests.factories import make_staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture(autouse=True)
def default_queues():
    """A transactional test starts from an empty database (the migration's queues are flushed)."""
    from calls.demo import ensure_default_queues

    ensure_default_queues()


def run_threads(target, count: int = THREADS, *args) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def worker(index: int):
        try:
            barrier.wait()
            target(index, *args)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def make_agents(count: int, *, state=AgentState.OFFLINE) -> list:
    from agents.presence import connection_opened, presence_reset

    presence_reset()
    general = Queue.objects.get(code="general")
    now = timezone.now()
    agents = []
    for index in range(count):
        user = make_staff(Role.AGENT, username=f"race-{index:02d}")
        AgentSkill.objects.create(agent=user, queue=general, level=3)
        AgentStatus.objects.create(user=user, state=state, since=now, ready_since=now - timedelta(seconds=index))
        connection_opened(user.pk, f"race-desktop-{user.pk}")  # at their desktops: routing rings them
        agents.append(user)
    return agents


def queue_calls(count: int, prefix: str = "race") -> None:
    now = timezone.now()
    cti.cti_events_ingest(
        events=[
            {
                "event_id": f"{prefix}-q-{i}",
                "call_id": f"{prefix}-{i}",
                "type": "queued",
                "ts": now + timedelta(milliseconds=i),
                "queue": "general",
            }
            for i in range(count)
        ]
    )


def assert_consistent() -> None:
    offered_or_connected = list(Call.objects.filter(state__in=["offered", "connected"]).values_list("pk", "agent_id"))
    agents = Counter(agent for _pk, agent in offered_or_connected)
    assert all(n == 1 for n in agents.values()), f"an agent has two calls: {agents}"
    holders = dict(AgentStatus.objects.filter(call__isnull=False).values_list("call_id", "user_id"))
    assert holders == dict(offered_or_connected), "agent rows and call rows disagree"
    for status in AgentStatus.objects.filter(call__isnull=False):
        assert status.state in (AgentState.RINGING, AgentState.ON_CALL)


def test_parallel_routers_never_give_two_calls_to_one_agent_or_one_call_to_two():
    queue_calls(30)  # nobody ready: all wait
    make_agents(12, state=AgentState.READY)
    errors = run_threads(lambda _i: dispatch.route_waiting())
    assert errors == []
    assert Call.objects.filter(state="offered").count() == 12
    assert Call.objects.filter(state="queued").count() == 18
    assert_consistent()
    # longest idle first: race-11 has waited longest and got the longest-waiting call
    assert Call.objects.get(call_id="race-0").agent.username == "race-11"


def test_agents_flipping_state_while_routers_and_ingestion_run_stay_consistent():
    agents = make_agents(10)
    stop = time.monotonic() + 6

    def work(index: int):
        n = 0
        while time.monotonic() < stop:
            n += 1
            if index < 4:
                agent = agents[(index * 7 + n) % len(agents)]
                try:
                    agent_state_set(agent=agent, state="ready" if n % 3 else "not_ready", reason="break")
                except Exception as exc:  # noqa: BLE001 - domain refusals are expected mid-call
                    if getattr(exc, "code", None) not in ("on_call", "wrapup_pending", "state_busy"):
                        raise
            elif index < 6:
                queue_calls(3, prefix=f"flip-{index}-{n}")
            else:
                dispatch.route_waiting()

    errors = run_threads(work)
    assert errors == [], errors
    assert_consistent()
    rings = CallEvent.objects.filter(type="ringing").count()
    withdrawn = CallEvent.objects.filter(type="offer_expired").count()
    assert rings > 10 and withdrawn > 0, (rings, withdrawn)  # the race was really run


def test_two_agents_answering_one_call_at_once_one_wins():
    first, second = make_agents(2, state=AgentState.READY)
    queue_calls(1, prefix="ans")
    call = Call.objects.get(call_id="ans-0")
    owner = first if call.agent_id == first.pk else second
    other = second if owner is first else first
    results: dict[str, str] = {}

    def answer(index: int):
        user = owner if index % 2 == 0 else other
        try:
            control.call_answer(call_id="ans-0", user=user)
            results[f"{index}"] = "ok"
        except Exception as exc:  # noqa: BLE001
            results[f"{index}"] = exc.code

    assert run_threads(answer, 6) == []
    assert sorted(results.values()) == ["not_offered_to_you"] * 3 + ["ok"] * 3
    call.refresh_from_db()
    assert call.state == "connected" and call.agent_id == owner.pk and len(call.legs) == 1


def test_the_same_cti_batch_posted_in_parallel_is_stored_once():
    switch = make_staff(Role.SWITCH, username="sw")
    make_agents(1)
    t0 = timezone.now() - timedelta(days=1)
    batch = []
    for n in range(20):
        batch += [
            event(f"par-{n}", "offered", t0, event_id=f"par-{n}-1"),
            event(f"par-{n}", "queued", t0 + timedelta(seconds=5), queue="general", event_id=f"par-{n}-2"),
            event(f"par-{n}", "answered", t0 + timedelta(seconds=9), agent="race-00", event_id=f"par-{n}-3"),
            event(f"par-{n}", "ended", t0 + timedelta(seconds=70), event_id=f"par-{n}-4"),
        ]
    statuses: list[list[str]] = []

    def post(index: int):
        client = APIClient()
        client.force_authenticate(switch)
        # Each thread sends the batch in another order.
        rotated = batch[index * 7 % len(batch) :] + batch[: index * 7 % len(batch)]
        response = client.post("/api/cti/events/", rotated, format="json")
        assert response.status_code == 200, response.content
        statuses.append([r["status"] for r in response.json()["results"]])

    assert run_threads(post) == []
    assert CallEvent.objects.filter(event_id__startswith="par-").count() == 80
    accepted = sum(s.count("accepted") for s in statuses)
    assert accepted == 80 and all("rejected" not in s for s in statuses)
    for call in Call.objects.filter(call_id__startswith="par-"):
        assert (call.state, call.wait_ms, call.talk_ms, call.event_count) == ("ended", 4_000, 61_000, 4)


def test_lock_call_blocks_a_second_locker_until_commit():
    queue_calls(1, prefix="lock")
    pk = Call.objects.get(call_id="lock-0").pk
    waited: list[float] = []

    def work(index: int):
        if index == 0:
            with transaction.atomic():
                lock_call(pk)
                time.sleep(0.6)
        else:
            time.sleep(0.1)
            start = time.monotonic()
            with transaction.atomic():
                lock_call(pk)
            waited.append(time.monotonic() - start)

    assert run_threads(work, 2) == []
    assert waited[0] >= 0.4


def test_lock_agents_locks_in_primary_key_order_without_deadlock():
    agents = make_agents(6)
    pks = list(AgentStatus.objects.filter(user__in=agents).values_list("pk", flat=True))

    def work(index: int):
        for _ in range(20):
            with transaction.atomic():
                chosen = pks[::-1] if index % 2 else pks  # opposite orders requested
                lock_agents(*chosen)
                AgentStatus.objects.filter(pk__in=chosen).update(updated_at=timezone.now())

    assert run_threads(work, 6) == []
