"""Websockets ``/ws/agent/`` and ``/ws/wallboard/`` with Channels' communicator: auth required
(4401), roles checked (4403), an agent gets only its own offers, a lead's wallboard gets updates."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings
from rest_framework.authtoken.models import Token

from agents.models import AgentState
from calls.services import ivr_handoff
from calls.tests.helpers import websocket_communicator_class
from contactcenter.asgi import application
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
# Transactional: consumers close "old" connections around each database call, which on
# PostgreSQL would end a test wrapped in one transaction.
pytestmark = pytest.mark.django_db(transaction=True)

WebsocketCommunicator = websocket_communicator_class()
ORIGIN = [(b"origin", b"http://testserver")]


def communicator(path: str, *, user=None, headers=()) -> WebsocketCommunicator:
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        path = f"{path}?token={token.key}"
    return WebsocketCommunicator(application, path, headers=[*ORIGIN, *headers])


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A new channel layer object per test. The process-wide one keeps per-event-loop receive
    state (channels_redis: a receive lock and counter), and every ``async_to_sync`` below runs on
    a new loop: a consumer left over from an earlier test's loop could hold that lock for good."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def run(coroutine_function):
    async_to_sync(coroutine_function)()


async def closed_with(comm: WebsocketCommunicator) -> int | None:
    connected, code = await comm.connect()
    if not connected:
        return code
    message = await comm.receive_output(timeout=2)
    assert message["type"] == "websocket.close"
    await asyncio.wait_for(comm.future, timeout=2)  # the refused consumer has stopped
    return message.get("code")


def test_unauthenticated_sockets_are_closed_with_4401(queues):
    async def scenario():
        for path in ("/ws/agent/", "/ws/wallboard/", "/ws/agent/?token=not-a-token"):
            assert await closed_with(communicator(path)) == 4401

    run(scenario)


@pytest.mark.parametrize(
    ("path", "role"), [("/ws/agent/", Role.ANALYST), ("/ws/wallboard/", Role.AGENT), ("/ws/wallboard/", Role.SWITCH)]
)
def test_other_roles_are_closed_with_4403(queues, path, role):
    user = make_staff(role)
    comm = communicator(path, user=user)

    async def scenario():
        assert await closed_with(comm) == 4403

    run(scenario)


def test_an_agent_gets_its_own_offer_with_the_screen_pop_and_no_one_elses(make_agent, committed):
    ringing = make_agent("ringing", state=AgentState.READY, idle_for=100)
    idle = make_agent("idle", state=AgentState.READY, idle_for=1)
    mine, theirs = communicator("/ws/agent/", user=ringing), communicator("/ws/agent/", user=idle)

    async def scenario():
        for comm in (mine, theirs):
            assert (await comm.connect())[0]
            desk = await comm.receive_json_from(timeout=3)
            assert desk["type"] == "desk" and desk["status"]["state"] == "ready" and desk["current"] is None
        await database_sync_to_async(committed)(
            ivr_handoff.call_enqueue_from_ivr,
            call_id="ws-1",
            ani="13800000001",
            dnis="96123",
            queue="general",
            verified=False,
            path=["main", "agent"],
        )
        messages = [await mine.receive_json_from(timeout=3) for _ in range(2)]
        by_type = {message["type"]: message for message in messages}
        offered = by_type["call.offered"]
        assert offered["call_id"] == "ws-1" and offered["queue"] == "general" and offered["ani"] == "13800000001"
        assert offered["ivr"]["verified"] is False and offered["ivr"]["path"] == ["main", "agent"]
        assert "customer" in offered
        assert by_type["agent.state"]["state"] == "ringing"
        assert await theirs.receive_nothing(timeout=0.3)
        for comm in (mine, theirs):
            await comm.disconnect()

    run(scenario)


def test_a_session_cookie_authenticates_the_desktop(make_agent, client):
    agent = make_agent("cookie", state=AgentState.NOT_READY)
    client.force_login(agent)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    comm = communicator("/ws/agent/", headers=[(b"cookie", cookie.encode())])

    async def scenario():
        assert (await comm.connect())[0]
        desk = await comm.receive_json_from(timeout=3)
        assert desk["status"]["username"] == "cookie"
        await comm.disconnect()

    run(scenario)


def test_the_desk_resyncs_a_ringing_call_on_reconnect(make_agent, committed):
    agent = make_agent("re", state=AgentState.READY)
    committed(ivr_handoff.call_enqueue_from_ivr, call_id="ws-2", ani="1", dnis="2", queue="general")
    comm = communicator("/ws/agent/", user=agent)

    async def scenario():
        assert (await comm.connect())[0]
        desk = await comm.receive_json_from(timeout=3)
        assert desk["status"]["state"] == "ringing" and desk["current"]["call_id"] == "ws-2"
        await comm.send_json_to({"type": "ping"})
        assert (await comm.receive_json_from(timeout=2)) == {"type": "pong"}
        await comm.disconnect()

    run(scenario)


def test_a_leads_wallboard_gets_a_snapshot_then_updates(make_agent, committed, settings):
    settings.CALLS_WALLBOARD_INTERVAL_S = 0.2
    lead = make_staff(Role.TEAM_LEAD, username="lead")
    agent = make_agent("wb", state=AgentState.NOT_READY)
    comm = communicator("/ws/wallboard/", user=lead)

    async def scenario():
        assert (await comm.connect())[0]
        first = await comm.receive_json_from(timeout=3)
        assert first["type"] == "wallboard"
        general = next(q for q in first["queues"] if q["code"] == "general")
        assert general["waiting"] == 0 and general["service_level_today"] is None
        assert {"username": "wb", "state": "not_ready"}.items() <= next(
            a for a in first["agents"] if a["username"] == "wb"
        ).items()
        await database_sync_to_async(committed)(
            ivr_handoff.call_enqueue_from_ivr, call_id="wb-1", ani="1", dnis="2", queue="general"
        )
        update = await comm.receive_json_from(timeout=3)
        general = next(q for q in update["queues"] if q["code"] == "general")
        assert general["waiting"] == 1 and general["longest_wait_s"] >= 0
        from agents.services import agent_state_set

        await database_sync_to_async(committed)(agent_state_set, agent=agent, state="ready")
        deadline = asyncio.get_running_loop().time() + 3
        while True:
            update = await comm.receive_json_from(timeout=3)
            row = next(a for a in update["agents"] if a["username"] == "wb")
            if row["state"] == "ringing" or asyncio.get_running_loop().time() > deadline:
                break
        assert row["state"] == "ringing" and row["call_id"] == "wb-1"
        await comm.disconnect()

    run(scenario)


def test_many_changes_are_coalesced_into_few_wallboard_messages(make_agent, committed, settings):
    settings.CALLS_WALLBOARD_INTERVAL_S = 0.5
    lead = make_staff(Role.TEAM_LEAD, username="lead")
    comm = communicator("/ws/wallboard/", user=lead)

    async def scenario():
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=3)
        start = asyncio.get_running_loop().time()
        for n in range(40):
            await database_sync_to_async(committed)(
                ivr_handoff.call_enqueue_from_ivr, call_id=f"co-{n}", ani="1", dnis="2", queue="card"
            )
            await asyncio.sleep(0.02)
        received = []
        while not await comm.receive_nothing(timeout=1.2, interval=0.05):
            received.append(await comm.receive_json_from())
        elapsed = asyncio.get_running_loop().time() - start
        assert received, "no update arrived"
        assert len(received) <= elapsed / 0.5 + 1, (len(received), elapsed)
        card = next(q for q in received[-1]["queues"] if q["code"] == "card")
        assert card["waiting"] == 40
        await comm.disconnect()

    run(scenario)


def test_a_refused_consumer_stops_instead_of_waiting_on_the_channel_layer(queues):
    comm = communicator("/ws/agent/")

    async def scenario():
        assert await closed_with(comm) == 4401
        await asyncio.wait_for(comm.future, timeout=2)  # the application has finished

    run(scenario)


@pytest.mark.redis
def test_an_idle_desktop_socket_survives_on_redis(make_agent):
    """redis-py 8 reads with a 5 s socket timeout, channels_redis blocks 5 s on BZPOPMIN: without
    the longer timeout in settings an idle consumer died within seconds."""
    agent = make_agent("idle", state=AgentState.NOT_READY)
    comm = communicator("/ws/agent/", user=agent)

    async def scenario():
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=3)
        await asyncio.sleep(12)
        await comm.send_json_to({"type": "ping"})
        assert (await comm.receive_json_from(timeout=3)) == {"type": "pong"}
        await comm.disconnect()

    run(scenario)


@pytest.mark.parametrize("frame", [{"text_data": "not json"}, {"text_data": "[" * 5000}, {"bytes_data": b"\x00\xff"}])
def test_a_frame_that_is_not_json_is_answered_and_the_desktop_stays_open(make_agent, frame):
    # A junk frame (a wall display's or a bridge's bug) used to raise in the consumer: the
    # socket closed with 1011 and the desk went dark until it reconnected.
    agent = make_agent("junk", state=AgentState.READY)
    comm = communicator("/ws/agent/", user=agent)

    async def scenario():
        assert (await comm.connect())[0]
        await comm.receive_json_from(timeout=3)  # the desk
        await comm.send_to(**frame)
        assert (await comm.receive_json_from(timeout=2)) == {"type": "error", "code": "malformed_json"}
        await comm.send_json_to({"type": "ping"})
        assert (await comm.receive_json_from(timeout=2)) == {"type": "pong"}
        await comm.disconnect()

    run(scenario)
