"""The dialer under real concurrency on PostgreSQL (issue 19): many progressive passes at once
never give an agent two live dials nor a contact two, every live dial has its own reserved
agent; an agent's state change racing the switch's ``answered`` leaves no dial without its agent."""

from __future__ import annotations

from collections import Counter

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import AgentSkill, AgentState, AgentStatus
from calls.outbound import dialer
from calls.outbound.models import AttemptStatus, DialAttempt
from org.roles import Role
from tests.factories import make_staff
from tests.outbound_dialing_helpers import add_contacts, cti, make_campaign
from tests.test_calls_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def setup(settings):
    from agents.presence import presence_reset
    from calls.demo import ensure_default_queues

    settings.OUTBOUND_WINDOW = "00:00-23:59:59"
    presence_reset()
    return ensure_default_queues()


def _agents(queue, count: int) -> list:
    from agents.presence import connection_opened

    now = timezone.now()
    users = []
    for n in range(count):
        user = make_staff(Role.AGENT, username=f"dial-race-{n:02d}")
        AgentSkill.objects.create(agent=user, queue=queue, level=3)
        AgentStatus.objects.create(user=user, state=AgentState.READY, since=now, ready_since=now, shift_started_at=now)
        connection_opened(user.pk, f"race-desktop-{user.pk}")
        users.append(user)
    return users


def test_parallel_progressive_passes_dial_each_agent_and_contact_once(setup):
    queue = setup["general"]
    campaign = make_campaign(queue, mode="progressive")
    add_contacts(campaign, 12)
    agents = _agents(queue, 4)
    errors = run_threads(lambda _index: dialer.progressive_pass(), 8)
    assert errors == []
    live = list(DialAttempt.objects.filter(status__in=dialer.LIVE).values_list("agent_id", "contact_id"))
    assert len(live) == len(agents)  # every ready agent got one dial …
    assert max(Counter(a for a, _c in live).values()) == 1  # … and only one
    assert max(Counter(c for _a, c in live).values()) == 1  # no contact dialled twice
    for status in AgentStatus.objects.filter(user__in=agents):
        assert (status.state, status.call_id) == (AgentState.RINGING, None)


def test_a_state_change_racing_the_answer_leaves_no_dial_without_its_agent(setup):
    queue = setup["general"]
    campaign = make_campaign(queue, mode="progressive")
    add_contacts(campaign, 20)
    agents = _agents(queue, 6)
    dialer.progressive_pass()
    switch_user = make_staff(Role.SWITCH, username="race-switch")
    attempts = {a.agent_id: a for a in DialAttempt.objects.filter(status=AttemptStatus.SENT)}
    assert len(attempts) == len(agents)

    def race(index: int) -> None:
        from agents.services import agent_state_set

        agent = agents[index // 2]
        if index % 2:
            try:
                agent_state_set(agent=agent, state="not_ready", reason="break")
            except Exception as exc:  # noqa: BLE001 - on a call already: refused, as it should be
                assert getattr(exc, "code", "") == "on_call", exc
        else:
            client = APIClient()
            client.force_authenticate(switch_user)
            assert cti(client, attempts[agent.pk], "answered").status_code == 200

    assert run_threads(race, 2 * len(agents)) == []
    for agent in agents:
        attempt = DialAttempt.objects.get(pk=attempts[agent.pk].pk)
        status = AgentStatus.objects.select_related("call").get(user=agent)
        if attempt.status == AttemptStatus.ANSWERED:
            assert status.state == AgentState.ON_CALL and status.call.call_id == attempt.call_id
        else:
            # The agent left first: the dial is cancelled and its late answer connects nobody.
            assert attempt.status == AttemptStatus.CANCELLED and status.state == AgentState.NOT_READY
            assert status.call_id is None
