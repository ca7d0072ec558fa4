"""``/ws/switch/`` (issue 19, docs/cti.md "The switch contract"): token only; an unacknowledged
``originate`` is re-sent after the timeout and replayed to a reconnecting adapter with the same
``command_id``, and is never dialled twice — the platform makes one command per attempt, the
switch (``calls.simulator.SimSwitch``, what ``simulate_traffic`` plays) dedupes by id; an ack ends
the re-sends; an ack of a cancelled command gets the cancel again, an unknown one an error."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from agents.models import AgentState
from calls.models import CallEvent
from calls.outbound import commands, dialer
from calls.outbound.models import AttemptStatus, DialAttempt
from calls.tests.helpers import websocket_communicator_class
from contactcenter.asgi import application
from org.roles import Role
from tests.factories import make_staff
from tests.outbound_dialing_helpers import add_contacts, make_campaign

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db(transaction=True)

WebsocketCommunicator = websocket_communicator_class()


@pytest.fixture(autouse=True)
def fresh_channel_layer(settings):
    from channels.layers import channel_layers

    settings.OUTBOUND_WINDOW = "00:00-23:59:59"
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def adapter(user) -> WebsocketCommunicator:
    token, _created = Token.objects.get_or_create(user=user)
    return WebsocketCommunicator(application, f"/ws/switch/?token={token.key}")


async def refused_with(comm) -> int | None:
    connected, code = await comm.connect()
    if not connected:
        return code
    message = await comm.receive_output(timeout=2)
    assert message["type"] == "websocket.close"
    return message.get("code")


def test_only_the_switchs_token_opens_the_socket(queues, make_agent, client):
    agent = make_agent("tok", state=AgentState.NOT_READY)
    switch_user = make_staff(Role.SWITCH, username="pbx")
    client.force_login(switch_user)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"

    as_agent = adapter(agent)

    async def scenario():
        anonymous = WebsocketCommunicator(application, "/ws/switch/", headers=[(b"origin", b"http://testserver")])
        assert await refused_with(anonymous) == 4401
        assert await refused_with(as_agent) == 4403
        # The switch's own session login (a browser) is refused: token only.
        session = WebsocketCommunicator(
            application, "/ws/switch/", headers=[(b"origin", b"http://testserver"), (b"cookie", cookie.encode())]
        )
        assert await refused_with(session) == 4403

    async_to_sync(scenario)()


def test_a_resent_command_and_a_reconnecting_adapter_never_dial_twice(queues, make_agent, switch, settings):
    from calls.simulator import SimSwitch

    # The re-send timeout is not reached on its own while the test runs (the sweep the consumer's
    # ticker runs every second would re-send too, a fourth send on a slow machine); the test
    # re-sends by asking as if a minute and a half had passed.
    settings.OUTBOUND_RESEND_AFTER_S = 60

    def later_on():
        return timezone.now() + timedelta(seconds=90)

    agent = make_agent("twice", state=AgentState.READY)
    campaign = make_campaign(queues["general"])
    (contact,) = add_contacts(campaign, 1)
    pbx = make_staff(Role.SWITCH, username="pbx")
    received: list[dict] = []
    # The switch's side: dedupes by command_id, dials (CTI ``dialing`` through the API), answers later.
    later: list = []  # what the switch does next (its CTI events), run after the socket part
    sim = SimSwitch(
        post_cti=lambda body: switch.post("/api/cti/events/", body, format="json"),
        at=lambda _delay, action: later.append(action),
        # Every dial answered: no busy line, no invalid number (their rolls would end the dial
        # unanswered in about one run in six).
        answer_rate=1.0,
        busy_rate=0.0,
        invalid_rate=0.0,
        rng=random.Random(7),
    )

    def dial():
        dialer.preview_next(agent)
        return dialer.preview_dial(agent, contact_id=contact.pk)

    def committed(fn, *args, **kwargs):
        from django.db import transaction

        with transaction.atomic():
            return fn(*args, **kwargs)

    first, second, third = adapter(pbx), adapter(pbx), adapter(pbx)

    async def scenario():
        assert (await first.connect())[0]
        assert await first.receive_nothing(timeout=0.2)  # nothing pending yet
        attempt = await database_sync_to_async(committed)(dial)
        pushed = await first.receive_json_from(timeout=3)
        received.append(pushed)
        assert pushed == {
            "type": "originate",
            "command_id": attempt.command_id,
            "number": contact.phone,
            "agent": "twice",
            "extension": None,
            "campaign": campaign.code,
            "caller_id": "96123",
        }
        # The switch dials but its ack is lost: the sweep re-sends, the same command.
        await database_sync_to_async(sim.command)(pushed)
        assert await database_sync_to_async(commands.resend_due)(later_on()) == 1
        again = await first.receive_json_from(timeout=3)
        received.append(again)
        assert again == pushed
        await database_sync_to_async(sim.command)(again)
        await first.disconnect()
        # The adapter reconnects: the unacknowledged command is replayed, again the same.
        assert (await second.connect())[0]
        replayed = await second.receive_json_from(timeout=3)
        received.append(replayed)
        assert replayed == pushed
        await database_sync_to_async(sim.command)(replayed)
        # Now the ack arrives: no more re-sends, no replay on the next reconnect.
        await second.send_json_to({"type": "ack", "command_id": attempt.command_id})
        await asyncio.sleep(0.3)
        assert await database_sync_to_async(commands.resend_due)(later_on()) == 0
        await second.disconnect()
        assert (await third.connect())[0]
        assert await third.receive_nothing(timeout=0.3)
        # Acks of a command nobody knows, and of one cancelled, are answered.
        await third.send_json_to({"type": "ack", "command_id": "dial-unknown"})
        assert await third.receive_json_from(timeout=2) == {
            "type": "error",
            "code": "unknown_command",
            "command_id": "dial-unknown",
        }
        await third.disconnect()
        return attempt

    attempt = async_to_sync(scenario)()
    while later:
        later.pop(0)()  # the switch dials, the customer's phone rings, they answer, they hang up
    attempt.refresh_from_db()
    # One attempt, one command id, sent three times, dialled once.
    assert DialAttempt.objects.filter(contact=contact).count() == 1
    assert {message["command_id"] for message in received} == {attempt.command_id}
    assert attempt.sends == 3 and attempt.acknowledged_at is not None
    assert sim.dialled == [attempt.command_id]
    dialing = CallEvent.objects.filter(data__command_id=attempt.command_id, data__stage="dialing")
    assert dialing.count() == 1
    assert attempt.status == AttemptStatus.ENDED and attempt.answered_at is not None


def test_an_ack_of_a_cancelled_command_gets_the_cancel_again(queues, make_agent):
    agent = make_agent("cn", state=AgentState.READY)
    campaign = make_campaign(queues["general"])
    (contact,) = add_contacts(campaign, 1)
    pbx = make_staff(Role.SWITCH, username="pbx")
    dialer.preview_next(agent)
    attempt = dialer.preview_dial(agent, contact_id=contact.pk)
    dialer.attempt_cancel(attempt.pk)

    comm = adapter(pbx)

    async def scenario():
        assert (await comm.connect())[0]
        # On connect: no originate (cancelled), the cancel replayed.
        assert await comm.receive_json_from(timeout=3) == {"type": "cancel", "command_id": attempt.command_id}
        await comm.send_json_to({"type": "ack", "command_id": attempt.command_id})
        assert await comm.receive_json_from(timeout=2) == {"type": "cancel", "command_id": attempt.command_id}
        await comm.disconnect()

    async_to_sync(scenario)()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.CANCELLED and attempt.acknowledged_at is None


def test_the_switch_is_told_to_pause_the_recording_of_a_call(make_agent):
    """The agent's desktop pauses the recording around a password said aloud: the adapter gets
    ``{"type": "recording", "call_id", "state"}`` (docs/cti.md)."""
    from django.utils import timezone

    from calls.models import Call, CallState
    from calls.recordings.services import recording_pause_set

    agent = make_agent("rp", state=AgentState.ON_CALL)
    call = Call.objects.create(call_id="rec-pause-1", agent=agent, state=CallState.CONNECTED, started_at=timezone.now())
    comm = adapter(make_staff(Role.SWITCH, username="pbx-rec"))

    async def scenario():
        assert (await comm.connect())[0]
        await database_sync_to_async(recording_pause_set)(call_id=call.call_id, actor=agent, state="pause")
        assert await comm.receive_json_from(timeout=3) == {
            "type": "recording",
            "call_id": "rec-pause-1",
            "state": "pause",
        }
        await database_sync_to_async(recording_pause_set)(call_id=call.call_id, actor=agent, state="resume")
        assert await comm.receive_json_from(timeout=3) == {
            "type": "recording",
            "call_id": "rec-pause-1",
            "state": "resume",
        }
        await comm.disconnect()

    async_to_sync(scenario)()


def test_a_frame_the_adapter_sends_that_is_not_json_is_answered_and_the_link_stays(queues):
    comm = adapter(make_staff(Role.SWITCH, username="pbx-junk"))

    async def scenario():
        assert (await comm.connect())[0]
        await comm.send_to(text_data="ack 1234")
        assert (await comm.receive_json_from(timeout=2)) == {"type": "error", "code": "malformed_json"}
        await comm.send_json_to({"type": "ping"})
        assert (await comm.receive_json_from(timeout=2)) == {"type": "pong"}
        await comm.disconnect()

    async_to_sync(scenario)()
