"""Presence (issue 12 point 3): an agent whose desktops are all closed goes offline after
``AGENTS_DISCONNECT_OFFLINE_S`` (reason ``disconnected``); a killed websocket process leaves no
ghost connection; a team lead cannot set an agent without a desktop ready; routing never rings a
seat nobody sits at, and an offer ringing a desktop that went away is withdrawn and routed again;
the withdrawn offer clears the desk (``call.withdrawn``)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from rest_framework.authtoken.models import Token

from agents import presence
from agents.models import AgentState, AgentStateLog
from calls import dispatch, realtime
from calls.models import Call
from calls.services import control, ivr_handoff
from calls.tests.helpers import status_of, websocket_communicator_class
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


class Clock:
    """The presence store's clock, moved by the test."""

    def __init__(self, monkeypatch):
        self.now = presence._clock()
        monkeypatch.setattr(presence, "_clock", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def queue_call(committed, call_id: str, queue: str = "general"):
    return committed(ivr_handoff.call_enqueue_from_ivr, call_id=call_id, ani="13900000009", dnis="96123", queue=queue)


def close_desktop(user) -> None:
    presence.connection_closed(user.pk, f"test-desktop-{user.pk}")


# --- the store ------------------------------------------------------------------------------------


def test_an_agent_is_connected_while_any_of_their_desktops_is_open(make_agent, clock):
    agent = make_agent("two-tabs", desktop=False)
    presence.connection_opened(agent.pk, "tab-1")
    presence.connection_opened(agent.pk, "tab-2")
    presence.connection_closed(agent.pk, "tab-1")
    assert presence.is_connected(agent.pk)
    presence.connection_closed(agent.pk, "tab-2")
    assert not presence.is_connected(agent.pk)
    clock.advance(7)
    assert presence.disconnected_for([agent.pk]) == {agent.pk: pytest.approx(7, abs=0.01)}


def test_a_connection_whose_process_died_expires_after_three_heartbeats(make_agent, clock, settings):
    settings.AGENTS_PRESENCE_HEARTBEAT_S = 10
    agent = make_agent("killed", desktop=False)
    presence.connection_opened(agent.pk, "ws-process-gone")
    clock.advance(10)
    presence.connections_refreshed({"ws-process-gone": agent.pk})  # its last heartbeat
    clock.advance(29)
    assert presence.is_connected(agent.pk)
    clock.advance(2)  # no close was ever sent: the entry expired on its own
    assert not presence.is_connected(agent.pk)
    assert presence.disconnected_for([agent.pk])[agent.pk] == pytest.approx(31, abs=0.01)


def test_an_agent_never_seen_at_a_desktop_is_not_reported_disconnected(make_agent):
    agent = make_agent("api-only", desktop=False, state=AgentState.READY)
    assert not presence.is_connected(agent.pk)
    assert presence.disconnected_for([agent.pk]) == {}


# --- the sweep ------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [AgentState.READY, AgentState.NOT_READY])
def test_an_agent_whose_desktops_are_all_closed_goes_offline_after_the_delay(
    make_agent, committed, clock, settings, state
):
    settings.AGENTS_DISCONNECT_OFFLINE_S = 60
    agent = make_agent("left", state=state)
    close_desktop(agent)
    clock.advance(59)
    committed(dispatch.sweep)
    assert status_of(agent).state == state
    clock.advance(2)
    committed(dispatch.sweep)
    status = status_of(agent)
    assert (status.state, status.reason) == (AgentState.OFFLINE, "disconnected")
    log = AgentStateLog.objects.filter(agent=agent).latest("started_at", "pk")
    assert (log.state, log.reason, log.previous_state, log.actor_id) == ("offline", "disconnected", state, None)


def test_a_reopened_desktop_keeps_the_agent_on_shift(make_agent, committed, clock, settings):
    settings.AGENTS_DISCONNECT_OFFLINE_S = 60
    agent = make_agent("reload", state=AgentState.READY)
    close_desktop(agent)
    clock.advance(30)
    presence.connection_opened(agent.pk, "after-reload")
    clock.advance(120)
    presence.connections_refreshed({"after-reload": agent.pk})
    committed(dispatch.sweep)
    assert status_of(agent).state == AgentState.READY


def test_an_agent_on_a_call_is_not_set_offline_when_the_desktop_closes(make_agent, committed, clock, settings):
    settings.AGENTS_DISCONNECT_OFFLINE_S = 60
    agent = make_agent("talking", state=AgentState.READY)
    queue_call(committed, "p-call")
    committed(control.call_answer, call_id="p-call", user=agent)
    close_desktop(agent)
    clock.advance(600)
    committed(dispatch.sweep)
    assert status_of(agent).state == AgentState.ON_CALL


def test_the_offline_delay_zero_never_sets_anyone_offline(make_agent, committed, clock, settings):
    settings.AGENTS_DISCONNECT_OFFLINE_S = 0
    agent = make_agent("kept", state=AgentState.NOT_READY)
    close_desktop(agent)
    clock.advance(3600)
    committed(dispatch.sweep)
    assert status_of(agent).state == AgentState.NOT_READY


# --- routing --------------------------------------------------------------------------------------


def test_routing_never_rings_a_seat_nobody_sits_at(make_agent, committed):
    make_agent("ghost", state=AgentState.READY, idle_for=900, desktop=False)
    gone = make_agent("gone", state=AgentState.READY, idle_for=600)
    close_desktop(gone)
    seated = make_agent("seated", state=AgentState.READY, idle_for=5)
    queue_call(committed, "p-route")
    assert Call.objects.get(call_id="p-route").agent == seated


def test_no_seated_agent_leaves_the_call_waiting(make_agent, committed):
    make_agent("ghost-only", state=AgentState.READY, idle_for=900, desktop=False)
    queue_call(committed, "p-wait")
    assert Call.objects.get(call_id="p-wait").state == "queued"


def test_an_offer_ringing_a_desktop_that_went_away_is_withdrawn_and_routed_again(
    make_agent, committed, clock, settings
):
    settings.AGENTS_DISCONNECT_RING_GRACE_S = 5
    first = make_agent("rung", state=AgentState.READY, idle_for=100)
    second = make_agent("next", state=AgentState.READY, idle_for=10)
    queue_call(committed, "p-ring")
    assert Call.objects.get(call_id="p-ring").agent == first
    close_desktop(first)
    clock.advance(2)
    committed(dispatch.sweep)
    assert Call.objects.get(call_id="p-ring").agent == first  # a reload is not a departure
    clock.advance(4)
    committed(dispatch.sweep)
    call = Call.objects.get(call_id="p-ring")
    assert call.state == "offered" and call.agent == second
    status = status_of(first)
    assert (status.state, status.call) == (AgentState.READY, None)  # not blamed: no "missed a call"
    assert not AgentStateLog.objects.filter(agent=first, reason="missed_offer").exists()


# --- a team lead ----------------------------------------------------------------------------------


def test_a_lead_cannot_set_an_agent_without_a_desktop_ready(make_agent, as_user, queues):
    lead = make_staff(Role.TEAM_LEAD, username="lead-p")
    agent = make_agent("away", state=AgentState.NOT_READY, desktop=False)
    response = as_user(lead).post(f"/api/agents/{agent.username}/state/", {"state": "ready"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "agent_not_connected"
    assert status_of(agent).state == AgentState.NOT_READY
    seated = make_agent("here", state=AgentState.NOT_READY)
    response = as_user(lead).post(f"/api/agents/{seated.username}/state/", {"state": "ready"}, format="json")
    assert response.status_code == 200 and status_of(seated).state == AgentState.READY


def test_the_wallboard_says_which_agents_have_no_desktop(make_agent, as_user):
    lead = make_staff(Role.TEAM_LEAD, username="lead-w")
    make_agent("with-desk", state=AgentState.READY)
    make_agent("no-desk", state=AgentState.READY, desktop=False)
    agents = {a["username"]: a for a in as_user(lead).get("/api/calls/wallboard/").json()["agents"]}
    assert agents["with-desk"]["connected"] is True and agents["no-desk"]["connected"] is False


# --- the desk clears --------------------------------------------------------------------------------


@pytest.fixture
def pushes(monkeypatch):
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(realtime, "push", lambda group, payload: sent.append((group, payload)))
    return sent


def withdrawn_pushes(pushes, user) -> list[dict]:
    return [p for g, p in pushes if g == realtime.agent_group(user.pk) and p["type"] == "call.withdrawn"]


def test_an_expired_offer_tells_the_desk_to_clear(make_agent, committed, pushes):
    agent = make_agent("slow", state=AgentState.READY)
    queue_call(committed, "p-exp")
    expires = Call.objects.get(call_id="p-exp").offer_expires_at
    committed(dispatch.expire_offers, expires)
    assert withdrawn_pushes(pushes, agent) == [{"type": "call.withdrawn", "call_id": "p-exp", "reason": "expired"}]


def test_going_not_ready_while_ringing_tells_the_desk_to_clear(make_agent, committed, pushes):
    from agents.services import agent_state_set

    agent = make_agent("busy", state=AgentState.READY)
    queue_call(committed, "p-nr")
    committed(agent_state_set, agent=agent, state="not_ready", reason="break")
    assert [p["reason"] for p in withdrawn_pushes(pushes, agent)] == ["rejected"]


def test_a_caller_hanging_up_while_it_rings_tells_the_desk_to_clear(make_agent, committed, pushes, switch):
    from datetime import UTC, datetime

    agent = make_agent("rung-hangup", state=AgentState.READY)
    queue_call(committed, "p-hu")
    body = {"event_id": "p-hu-end", "call_id": "p-hu", "type": "ended", "ts": datetime.now(UTC).isoformat()}
    response = committed(switch.post, "/api/cti/events/", body, format="json")
    assert response.status_code == 200
    assert [p["reason"] for p in withdrawn_pushes(pushes, agent)] == ["caller_hung_up"]


def test_an_answered_call_is_not_withdrawn(make_agent, committed, pushes):
    agent = make_agent("answers", state=AgentState.READY)
    queue_call(committed, "p-ans")
    committed(control.call_answer, call_id="p-ans", user=agent)
    committed(control.call_hangup, call_id="p-ans", user=agent)
    assert withdrawn_pushes(pushes, agent) == []


# --- the desktop socket registers itself ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_desktop_socket_is_the_agents_presence(make_agent):
    from channels.layers import channel_layers

    from contactcenter.asgi import application

    channel_layers.backends.clear()
    agent = make_agent("socket", state=AgentState.READY, desktop=False)
    token, _created = Token.objects.get_or_create(user=agent)
    communicator = websocket_communicator_class()(
        application, f"/ws/agent/?token={token.key}", headers=[(b"origin", b"http://testserver")]
    )

    async def scenario():
        assert (await communicator.connect())[0]
        assert (await communicator.receive_json_from(timeout=3))["type"] == "desk"
        assert await _connected(agent.pk)
        await communicator.disconnect()

    async def _connected(user_id):
        from channels.db import database_sync_to_async

        return await database_sync_to_async(presence.is_connected)(user_id)

    async_to_sync(scenario)()
    assert not presence.is_connected(agent.pk)
    assert agent.pk in presence.disconnected_for([agent.pk])
    channel_layers.backends.clear()
