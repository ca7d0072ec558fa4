"""The agents app's services: a state change runs again while the agent's call moves on under it
(``core.db.retry_on_conflict``) and gives up with ``state_busy``, writing nothing; a
callback not reached stays open, unassigned, until its third try."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from agents import errors, services
from agents.models import AgentState, AgentStateLog, AgentStatus, Callback, CallbackStatus

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def moving_call(monkeypatch):
    """``moving_call(times)``: the first ``times`` lock takes find the agent holding a call the
    unlocked read did not see (one rang meanwhile). Returns the list of lock takes."""
    takes = []
    real_lock_agents = services.lock_agents

    def install(times: int) -> list[int]:
        def lock_agents(*pks):
            takes.append(1)
            locked = real_lock_agents(*pks)
            if len(takes) <= times:
                for status in locked.values():
                    status.call_id = 10_000 + len(takes)
            return locked

        monkeypatch.setattr(services, "lock_agents", lock_agents)
        return takes

    return install


def test_a_state_change_runs_again_when_the_agents_call_moved_on(make_agent, moving_call):
    agent = make_agent("mover")
    takes = moving_call(2)
    status = services.agent_state_set(agent=agent, state=AgentState.NOT_READY, reason="meal")
    assert len(takes) == 3
    assert (status.state, status.reason) == (AgentState.NOT_READY, "meal")
    assert list(AgentStateLog.objects.filter(agent=agent).values_list("state", flat=True)) == [AgentState.NOT_READY]


def test_a_state_that_keeps_moving_is_state_busy_and_nothing_is_written(make_agent, moving_call):
    agent = make_agent("busy")
    takes = moving_call(100)
    with pytest.raises(errors.InvalidCallState) as refused:
        services.agent_state_set(agent=agent, state=AgentState.READY)
    assert refused.value.code == "state_busy"
    assert len(takes) == services.STATE_SET_ATTEMPTS
    assert AgentStatus.objects.get(user=agent).state == AgentState.OFFLINE
    assert not AgentStateLog.objects.filter(agent=agent).exists()


def test_a_callback_not_reached_stays_open_until_the_third_try(make_agent):
    agent = make_agent("caller-back")
    callback = services.callback_schedule(
        actor=agent, phone="13800000009", queue="general", due_at=timezone.now() + timedelta(hours=1)
    )
    assert (callback.status, callback.assigned_to) == (CallbackStatus.OPEN, agent)
    for attempt in (1, 2):
        tried = services.callback_complete(callback_id=callback.pk, actor=agent, outcome="failed")
        assert (tried.status, tried.attempts, tried.assigned_to) == (CallbackStatus.OPEN, attempt, None)
        assert tried.due_at > timezone.now() + timedelta(minutes=29)  # offered again in half an hour
    last = services.callback_complete(callback_id=callback.pk, actor=agent, outcome="failed", note="无人接听")
    assert (last.status, last.attempts, last.completed_by, last.outcome_note) == (
        CallbackStatus.FAILED,
        3,
        agent,
        "无人接听",
    )
    with pytest.raises(errors.CallbackClosed):
        services.callback_complete(callback_id=callback.pk, actor=agent, outcome="done")
    assert Callback.objects.get(pk=callback.pk).status == CallbackStatus.FAILED
