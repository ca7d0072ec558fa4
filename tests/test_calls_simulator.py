"""``simulate_traffic`` drives calls end to end through the IVR API, queues, simulated agents and
CTI events; the demo seeding builds a history shaped like the founding figures."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from agents.models import AgentSkill, AgentState, AgentStatus
from calls.demo import seed_call_history, seed_queues
from calls.models import Call, CallEvent, EventSource, EventType
from org.roles import Role
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures"]


@pytest.mark.django_db(transaction=True)
def test_simulate_traffic_drives_calls_end_to_end(queues):
    from ivr.demo import seed_default_menu

    seed_default_menu()
    for n in range(1, 5):
        make_staff(Role.AGENT, username=f"agent{n:02d}")
    make_staff(Role.SWITCH, username="switch")
    seed_queues()
    out = io.StringIO()
    call_command(
        "simulate_traffic", "--calls-per-hour", "2400", "--minutes", "2", "--speed", "60", "--seed", "7", stdout=out
    )
    summary = json.loads(out.getvalue()[out.getvalue().index("{") :])
    assert summary["calls"] > 20 and summary["errors"] == 0
    assert summary["answered"] > 0 and summary["contained_in_ivr"] > 0
    answered = Call.objects.filter(call_id__startswith="sim-", answered_at__isnull=False)
    assert answered.exists() and answered.filter(wrapup_at__isnull=False).exists()
    # Every call the switch offered is on record from the CTI feed; every one the IVR handed to a
    # queue from the IVR; every answered one rang an agent (the router) before the agent answered.
    events = CallEvent.objects.filter(call__call_id__startswith="sim-")
    offered_by_switch = events.filter(source=EventSource.CTI, type=EventType.OFFERED)
    assert offered_by_switch.values("call").distinct().count() == summary["calls"]
    handed_over = events.filter(source=EventSource.IVR, type=EventType.QUEUED)
    assert handed_over.values("call").distinct().count() == summary["to_agent"]
    assert answered.count() == summary["answered"]
    for call in answered:
        kinds = [(event.source, event.type) for event in call.events.all()]
        ringing = kinds.index((EventSource.ROUTER, EventType.RINGING))
        assert (EventSource.AGENT, EventType.ANSWERED) in kinds[ringing:], (call.call_id, kinds)
    codes = {a["code"] for anomalies in Call.objects.values_list("anomalies", flat=True) for a in anomalies}
    assert codes == set(), codes
    assert set(AgentStatus.objects.values_list("state", flat=True)) <= {AgentState.OFFLINE, AgentState.NOT_READY}
    # The simulated switch reports the end of every call, a caller hanging up in the IVR too.
    assert not Call.objects.filter(call_id__startswith="sim-", ended_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_drain_time_runs_out_still_ends_every_call_it_answered(queues, monkeypatch):
    """A machine too slow for the speed asked (the CI host under load) reaches the drain time with
    calls still talking: they are played to their end without waiting, not left in the database
    as calls in progress with an agent stuck on them."""
    from calls.simulator import Simulator
    from ivr.demo import seed_default_menu

    seed_default_menu()
    for n in range(1, 4):
        make_staff(Role.AGENT, username=f"agent{n:02d}")
    make_staff(Role.SWITCH, username="switch")
    seed_queues()
    monkeypatch.setattr(Simulator, "DRAIN_S", 5.0)  # 5 simulated seconds: no talk is that short
    out = io.StringIO()
    call_command(
        "simulate_traffic", "--calls-per-hour", "1800", "--minutes", "1", "--speed", "60", "--seed", "3", stdout=out
    )
    summary = json.loads(out.getvalue()[out.getvalue().index("{") :])
    assert summary["errors"] == 0 and summary["answered"] > 0
    sims = Call.objects.filter(call_id__startswith="sim-")
    assert sims.count() == summary["calls"] and not sims.filter(ended_at__isnull=True).exists()
    answered = sims.filter(answered_at__isnull=False)
    assert answered.count() == summary["answered"] == answered.filter(wrapup_at__isnull=False).count()
    assert set(AgentStatus.objects.values_list("state", flat=True)) <= {AgentState.OFFLINE, AgentState.NOT_READY}
    assert "Drain time up with" in out.getvalue()


@pytest.mark.django_db
def test_simulate_traffic_needs_agents():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("simulate_traffic", "--calls-per-hour", "60", "--minutes", "1", stdout=io.StringIO())


@pytest.mark.django_db
def test_seed_queues_gives_the_demo_agents_skills_and_sets_everyone_offline(queues):
    for name in ("agent01", "agent07", "agent15", "lead1"):
        make_staff(Role.TEAM_LEAD if name.startswith("lead") else Role.AGENT, username=name)
    result = seed_queues()
    assert result["agents"] == 4
    assert sorted(AgentSkill.objects.filter(agent__username="agent07").values_list("queue__code", "level")) == [
        ("complaint", 4),
        ("general", 3),
    ]
    assert set(AgentStatus.objects.values_list("state", flat=True)) == {AgentState.OFFLINE}
    seed_queues()
    assert AgentSkill.objects.count() == 2 + 2 + 3 + 3


@pytest.mark.django_db
def test_call_history_has_the_founding_shape_and_is_deterministic(queues):
    for n in range(1, 16):
        make_staff(Role.AGENT, username=f"agent{n:02d}")
    seed_queues()
    created = seed_call_history(14)
    assert 14 * 280 < created < 14 * 340  # ≈309 a day
    inbound = Call.objects.filter(direction="inbound").count()
    assert 0.92 < inbound / created < 0.96  # 26,443 of 28,121 = 94 %
    assert not Call.objects.exclude(anomalies=[]).exists()
    first = list(Call.objects.order_by("call_id").values_list("call_id", "answered_at", "disposition")[:50])
    assert seed_call_history(14) == 0  # every day already there
    yesterday = timezone.localdate() - timedelta(days=1)
    assert Call.objects.filter(call_id__startswith=f"H{yesterday:%Y%m%d}-").exists()
    assert not Call.objects.filter(call_id__startswith=f"H{timezone.localdate():%Y%m%d}-").exists()
    assert first == list(Call.objects.order_by("call_id").values_list("call_id", "answered_at", "disposition")[:50])


@pytest.mark.django_db
def test_no_history_for_zero_days(queues):
    assert seed_call_history(0) == 0
