"""The outbound dialer (issue 19): preview and progressive dials through the service layer and the
switch's CTI events, blending with inbound, the agent reserved for the dial, and pacing that never
gives a live dial without its own agent (a Hypothesis property over random ready/answer/end
sequences)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from agents.models import AgentSkill, AgentState, AgentStatus
from calls.models import Call, CallState, Queue
from calls.outbound import commands, dialer
from calls.outbound import sweep as sweep_module
from calls.outbound.models import AttemptStatus, CampaignContact, ContactStatus, DialAttempt, DoNotCall
from calls.tests.helpers import status_of
from tests.outbound_dialing_helpers import add_contacts, cti, make_campaign

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _all_day(settings):
    settings.OUTBOUND_WINDOW = "00:00-23:59:59"
    settings.OUTBOUND_BLEND_MIN_SL = 0.8
    settings.OUTBOUND_BLEND_MIN_CALLS = 5


def _attempt(agent) -> DialAttempt:
    return DialAttempt.objects.select_related("contact", "campaign").filter(agent=agent).latest("decided_at", "pk")


# --- preview, end to end through the services ------------------------------------------------------


def test_a_preview_dial_end_to_end(make_agent, queues, switch, committed):
    agent = make_agent("pv", state=AgentState.READY, skills={"general": 3})
    campaign = make_campaign(queues["general"], mode="preview")
    (contact,) = add_contacts(campaign, 1)

    shown = committed(dialer.preview_next, agent)
    assert shown.pk == contact.pk
    assert CampaignContact.objects.get(pk=contact.pk).reserved_by_id == agent.pk
    assert status_of(agent).state == AgentState.READY  # previewing does not reserve the agent yet

    attempt = committed(dialer.preview_dial, agent, contact_id=contact.pk)
    attempt.refresh_from_db()
    assert (attempt.status, attempt.sends, attempt.phone) == (AttemptStatus.SENT, 1, contact.phone)
    assert attempt.allowed_because["dnc"] == "not listed"
    status = status_of(agent)
    assert (status.state, status.call_id) == (AgentState.RINGING, None)  # reserved: routing skips them
    assert CampaignContact.objects.get(pk=contact.pk).status == ContactStatus.DIALING

    assert dialer.acknowledge(attempt.command_id) == "acknowledged"
    assert dialer.acknowledge(attempt.command_id) == "duplicate"
    for type_ in ("dialing", "ringing"):
        assert committed(cti, switch, attempt, type_).status_code == 200
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.RINGING and attempt.call_id == f"sw-{attempt.command_id}"
    assert status_of(agent).state == AgentState.RINGING

    assert committed(cti, switch, attempt, "answered").status_code == 200
    call = Call.objects.get(call_id=attempt.call_id)
    assert (call.direction, call.ani, call.dnis, call.state, call.agent_id) == (
        "outbound",
        contact.phone,
        "96123",
        CallState.CONNECTED,
        agent.pk,
    )
    status = status_of(agent)
    assert (status.state, status.call_id) == (AgentState.ON_CALL, call.pk)  # connected at once: no wait

    committed(cti, switch, attempt, "ended", cause="normal")
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.ENDED and attempt.answered_at is not None and attempt.cause == ""
    assert status_of(agent).state == AgentState.ACW

    committed(dialer.outcome_record, agent, attempt_id=attempt.pk, outcome="interested", note="要理财资料")
    attempt.refresh_from_db()
    assert attempt.outcome == "interested"
    assert CampaignContact.objects.get(pk=contact.pk).status == ContactStatus.DONE
    call.refresh_from_db()
    assert call.wrapup_at is not None  # the outcome closed the after-call work
    assert status_of(agent).state == AgentState.READY


def test_a_busy_number_frees_the_agent_and_schedules_the_retry(make_agent, queues, switch, committed):
    agent = make_agent("busy", state=AgentState.READY)
    campaign = make_campaign(queues["general"])
    (contact,) = add_contacts(campaign, 1)
    committed(dialer.preview_next, agent)
    attempt = committed(dialer.preview_dial, agent, contact_id=contact.pk)
    committed(cti, switch, attempt, "dialing")
    before = timezone.now()
    committed(cti, switch, attempt, "ended", cause="busy")
    attempt.refresh_from_db()
    assert (attempt.status, attempt.cause, attempt.answered_at) == (AttemptStatus.ENDED, "busy", None)
    status = status_of(agent)
    assert (status.state, status.call_id) == (AgentState.READY, None)
    contact.refresh_from_db()
    assert contact.status == ContactStatus.PENDING and contact.attempts == 1
    assert before + timedelta(minutes=9) < contact.next_attempt_at < before + timedelta(minutes=11)


def test_skip_needs_a_reason_and_brings_the_contact_back_later(make_agent, queues, committed):
    agent = make_agent("skip", state=AgentState.READY)
    campaign = make_campaign(queues["general"])
    first, second = add_contacts(campaign, 2)
    assert committed(dialer.preview_next, agent).pk == first.pk
    from core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        dialer.preview_skip(agent, contact_id=first.pk, reason=" ")
    assert refused.value.code == "reason_required"
    committed(dialer.preview_skip, agent, contact_id=first.pk, reason="客户在开会")
    first.refresh_from_db()
    assert first.reserved_by_id is None and first.next_attempt_at > timezone.now() + timedelta(minutes=30)
    assert committed(dialer.preview_next, agent).pk == second.pk


def test_dnc_added_after_the_preview_stops_the_dial(make_agent, queues, committed):
    agent = make_agent("dnc", state=AgentState.READY)
    campaign = make_campaign(queues["general"])
    (contact,) = add_contacts(campaign, 1)
    committed(dialer.preview_next, agent)
    DoNotCall.objects.create(phone=contact.phone, reason="optout", all_campaigns=True)
    from core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        committed(dialer.preview_dial, agent, contact_id=contact.pk)
    assert refused.value.code == "not_allowed"
    assert not DialAttempt.objects.exists()
    contact.refresh_from_db()
    assert contact.status == ContactStatus.DNC and contact.reserved_by_id is None
    assert status_of(agent).state == AgentState.READY


def test_an_unknown_command_is_refused_and_a_cancelled_one_dials_nobody(make_agent, queues, switch, committed):
    agent = make_agent("cx", state=AgentState.READY)
    campaign = make_campaign(queues["general"])
    (contact,) = add_contacts(campaign, 1)
    committed(dialer.preview_next, agent)
    attempt = committed(dialer.preview_dial, agent, contact_id=contact.pk)
    fake = DialAttempt(command_id="dial-nonesuch")
    response = cti(switch, fake, "dialing")
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_command"
    assert dialer.acknowledge("dial-nonesuch") == "unknown"

    assert committed(dialer.attempt_cancel, attempt.pk)
    assert status_of(agent).state == AgentState.READY
    assert dialer.acknowledge(attempt.command_id) == "cancelled"
    # The switch answers anyway (the cancel came too late): nobody is connected to it.
    committed(cti, switch, attempt, "answered")
    assert status_of(agent).state == AgentState.READY
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.CANCELLED
    assert commands.replay_for_reconnect() == [commands.cancel_payload(attempt.command_id)]


# --- progressive -----------------------------------------------------------------------------------


def test_a_ready_agent_gets_the_next_contact_and_inbound_keeps_priority(make_agent, queues, switch, committed):
    from calls.services import ivr_handoff

    campaign = make_campaign(queues["card"], mode="progressive")
    contacts = add_contacts(campaign, 3)
    agent = make_agent("pg", state=AgentState.NOT_READY, skills={"card": 3})
    from agents.services import agent_state_set

    committed(agent_state_set, agent=agent, state="ready")  # the ready path dials for them
    attempt = _attempt(agent)
    assert attempt.contact_id == contacts[0].pk and attempt.mode == "progressive"
    assert status_of(agent).state == AgentState.RINGING
    committed(cti, switch, attempt, "ended", cause="no_answer")
    # Ready again → the next contact at once.
    nxt = _attempt(agent)
    assert nxt.pk != attempt.pk and nxt.contact_id == contacts[1].pk
    # An inbound call comes while the agent's dial rings: it waits (the agent is reserved) …
    committed(ivr_handoff.call_enqueue_from_ivr, call_id="in-1", ani="1", dnis="2", queue="card")
    assert Call.objects.get(call_id="in-1").state == CallState.QUEUED
    # … and when the dial ends unanswered the router rings them with it, before any new dial.
    committed(cti, switch, nxt, "ended", cause="rejected")
    status = status_of(agent)
    assert status.state == AgentState.RINGING and status.call.call_id == "in-1"
    assert DialAttempt.objects.filter(agent=agent).count() == 2


def test_blended_agents_leave_outbound_when_the_inbound_service_level_drops(make_agent, queues, switch, committed):
    blended = make_campaign(queues["general"], mode="progressive", blended=True)
    add_contacts(blended, 5)
    agent = make_agent("bl", state=AgentState.READY, skills={"general": 3})
    assert committed(dialer.progressive_pass) == 1
    first = _attempt(agent)
    # Inbound callers of general waited 60 s (T = 20 s) in the last minutes: service level 0.
    now = timezone.now()
    for n in range(5):
        Call.objects.create(
            call_id=f"late-{n}",
            direction="inbound",
            state=CallState.ENDED,
            service_queue=queues["general"],
            queued_at=now - timedelta(seconds=200),
            answered_at=now - timedelta(seconds=140),
            ended_at=now - timedelta(seconds=60),
        )
    assert dialer.inbound_service_level(queues["general"].pk) == 0.0
    committed(cti, switch, first, "ended", cause="busy")
    status = status_of(agent)
    assert (status.state, status.call_id) == (AgentState.READY, None)  # ready for inbound, not dialled
    assert committed(dialer.progressive_pass) == 0
    assert DialAttempt.objects.filter(agent=agent).count() == 1
    # A campaign that is not blended keeps dialling; and once the level recovers, so does the blended one.
    from core.errors import DomainError

    preview = make_campaign(queues["general"], blended=True)
    (contact,) = add_contacts(preview, 1)
    CampaignContact.objects.filter(pk=contact.pk).update(reserved_by=agent, reserved_at=now)
    with pytest.raises(DomainError) as refused:
        dialer.preview_dial(agent, contact_id=contact.pk)
    assert refused.value.code == "inbound_priority"
    Call.objects.filter(call_id__startswith="late-").update(answered_at=now - timedelta(seconds=195))
    assert dialer.inbound_service_level(queues["general"].pk) == 1.0
    assert committed(dialer.progressive_pass) == 1


# --- the property: never a live dial without its own agent -----------------------------------------

_runs = itertools.count(1)
AGENTS = 3
op = st.tuples(
    st.sampled_from(["ready", "not_ready", "answer", "end", "busy", "outcome", "pass", "inbound"]),
    st.integers(0, AGENTS - 1),
)


def _check_pacing(agents, campaign) -> None:
    live = list(
        DialAttempt.objects.filter(campaign=campaign, status__in=dialer.LIVE).values(
            "agent_id", "status", "call_id", "answered_at"
        )
    )
    reserved = 0
    for attempt in live:
        status = AgentStatus.objects.select_related("call").get(user_id=attempt["agent_id"])
        if attempt["status"] == AttemptStatus.ANSWERED:
            # The customer answered: their agent is on the call with them, nobody else's.
            assert status.state == AgentState.ON_CALL and status.call.call_id == attempt["call_id"], attempt
        else:
            assert status.state == AgentState.RINGING and status.call_id is None, (attempt, status.state)
        reserved += 1
    assert len({a["agent_id"] for a in live}) == len(live) <= len(agents)
    # Every live dial has its agent set aside, so live dials never outnumber the agents that were ready for them.
    assert reserved == len(live)


@hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_progressive_pacing_never_exceeds_ready_agents(ops, make_agent, switch, committed):
    from agents.services import agent_state_set
    from calls.services import ivr_handoff

    run = next(_runs)
    queue = Queue.objects.create(code=f"pq{run}", name=f"pq{run}")
    campaign = make_campaign(queue, mode="progressive", max_attempts=9)
    add_contacts(campaign, 30)
    agents = [make_agent(f"pp{run}-{i}", state=AgentState.NOT_READY, skills={}) for i in range(AGENTS)]
    for agent in agents:
        AgentSkill.objects.create(agent=agent, queue=queue, level=3)
    for n, (kind, who) in enumerate(ops):
        agent = agents[who]
        live = DialAttempt.objects.filter(agent=agent, status__in=dialer.LIVE).first()
        if kind in ("ready", "not_ready"):
            try:
                committed(agent_state_set, agent=agent, state=kind, reason="break" if kind == "not_ready" else "")
            except Exception as exc:  # on a call / after-call work: refused, as for a person
                assert getattr(exc, "code", "") in ("on_call", "wrapup_pending"), exc
        elif kind == "answer" and live is not None and live.status != AttemptStatus.ANSWERED:
            committed(cti, switch, live, "answered")
        elif kind in ("end", "busy") and live is not None:
            committed(cti, switch, live, "ended", cause="busy" if kind == "busy" else "normal")
        elif kind == "outcome":
            ended = DialAttempt.objects.filter(
                agent=agent, status=AttemptStatus.ENDED, answered_at__isnull=False, outcome=""
            ).first()
            if ended is not None:
                committed(dialer.outcome_record, agent, attempt_id=ended.pk, outcome="not_interested")
        elif kind == "pass":
            committed(dialer.sweep)
        elif kind == "inbound":
            committed(ivr_handoff.call_enqueue_from_ivr, call_id=f"pin{run}-{n}", ani="1", dnis="2", queue=queue.code)
        _check_pacing(agents, campaign)
    # Leave nothing running for the next example.
    campaign.status = "paused"
    campaign.save()
    Call.objects.filter(queue=queue, state=CallState.QUEUED).update(state=CallState.ENDED)


# --- simulate_traffic plays the switch ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_simulate_traffic_plays_the_switch_for_a_progressive_campaign(queues):
    import io
    import json

    from django.core.management import call_command

    from org.roles import Role
    from tests.factories import make_staff

    for n in range(1, 4):
        agent = make_staff(Role.AGENT, username=f"agent{n:02d}")
        AgentSkill.objects.create(agent=agent, queue=queues["card"], level=3)
    make_staff(Role.SWITCH, username="switch")
    campaign = make_campaign(queues["card"], mode="progressive", retry_minutes={"busy": 600, "no_answer": 600})
    add_contacts(campaign, 40)
    out = io.StringIO()
    call_command(
        "simulate_traffic",
        "--calls-per-hour",
        "60",
        "--minutes",
        "6",  # real seconds at speed 60: room for a loaded machine's slower loop
        "--speed",
        "60",
        "--seed",
        "3",
        "--no-ivr",
        "--outbound-answer-rate",
        "0.5",
        stdout=out,
    )
    summary = json.loads(out.getvalue()[out.getvalue().index("{") :])
    assert summary["errors"] == 0 and summary["outbound_dials"] >= 5, summary
    attempts = DialAttempt.objects.filter(campaign=campaign)
    # One switch call per attempt (dialled once each), and each answered one had its agent.
    dialled = list(attempts.exclude(call_id="").values_list("call_id", flat=True))
    assert len(dialled) == len(set(dialled)) <= summary["outbound_dials"] <= attempts.count()
    assert Call.objects.filter(direction="outbound").count() == len(dialled)
    answered = attempts.filter(answered_at__isnull=False)
    assert answered.exists()
    for attempt in answered:
        call = Call.objects.get(call_id=attempt.call_id)
        assert call.direction == "outbound" and call.legs[0]["agent"] == attempt.agent_id, call.anomalies
    assert answered.exclude(outcome="").exists()  # the simulated agents record outcomes
    assert not attempts.filter(status__in=dialer.LIVE).exists()  # nothing left live at the end


# --- today's callbacks are dialable the same way ------------------------------------------------------


def test_a_callback_of_today_is_dialled_like_a_preview_and_closed_by_the_outcome(make_agent, queues, switch, committed):
    from agents.models import Callback, CallbackStatus

    agent = make_agent("cb", state=AgentState.READY, skills={"card": 3})
    callback = Callback.objects.create(
        phone="139-0000-7777", queue=queues["card"], due_at=timezone.now(), note="客户要求下午回电"
    )
    attempt = committed(dialer.callback_dial, agent, callback_id=callback.pk)
    assert attempt.phone == "13900007777" and attempt.campaign.code == "callbacks-card"
    assert attempt.contact.source == "callback" and attempt.contact.data["callback"] == callback.pk
    assert status_of(agent).state == AgentState.RINGING
    # Not offered again as a preview contact of "next contact".
    assert dialer.preview_next(agent) is None
    for type_ in ("dialing", "answered"):
        committed(cti, switch, attempt, type_)
    committed(cti, switch, attempt, "ended", cause="normal")
    committed(dialer.outcome_record, agent, attempt_id=attempt.pk, outcome="completed")
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.DONE and callback.completed_by_id == agent.pk
    assert status_of(agent).state == AgentState.READY
    # Another agent's callback list does not reach it; an unknown one is a 404 code.
    from core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        dialer.callback_dial(agent, callback_id=callback.pk)
    assert refused.value.code == "callback_not_found"


def test_the_desk_api_answers_bad_input_with_the_envelope(make_agent, queues, as_user, switch):
    agent = make_agent("api", state=AgentState.READY)
    campaign = make_campaign(queues["general"])
    (contact,) = add_contacts(campaign, 1)
    client = as_user(agent)
    desk = client.get("/api/outbound/desk/").json()
    assert desk == {"enabled": True, "dial": None, "preview": None}
    shown = client.post("/api/outbound/desk/next/").json()["preview"]
    assert shown["id"] == contact.pk and shown["campaign"]["script"] and shown["outcomes"]
    cases = [
        (f"/api/outbound/desk/contacts/{contact.pk}/skip/", {}, 400, "required"),
        (f"/api/outbound/desk/contacts/{contact.pk}/skip/", {"reason": "x", "why": 1}, 400, "unknown_field"),
        ("/api/outbound/desk/contacts/999999/dial/", None, 404, "contact_not_found"),
        ("/api/outbound/desk/attempts/999999/outcome/", {"outcome": "sale"}, 404, "attempt_not_found"),
        ("/api/outbound/desk/attempts/1/outcome/", {"outcome": "bogus"}, 400, "invalid_choice"),
        ("/api/outbound/desk/callbacks/999999/dial/", None, 404, "callback_not_found"),
    ]
    for url, body, status, code in cases:
        response = client.post(url, body, format="json")
        assert response.status_code == status, (url, response.content)
        assert response.json()["error"]["code"] == code or code in str(response.json()["error"]), response.json()
    assert switch.get("/api/outbound/desk/").status_code == 403  # the switch has no desk
    dialled = client.post(f"/api/outbound/desk/contacts/{contact.pk}/dial/")
    assert dialled.status_code == 201 and dialled.json()["dial"]["status"] == "sent"


def test_an_answered_dial_left_without_an_outcome_is_closed_and_retried(make_agent, queues, settings):
    """The after-call work closed without an outcome (a browser closed): after the grace the dial
    counts as failed and its contact is retried — never left "being called" for ever."""
    from calls.outbound.models import DialMode

    agent = make_agent("nooutcome", state=AgentState.READY, skills={"card": 3})
    campaign = make_campaign(queues["card"], retry_minutes={"failed": 30})
    (contact,) = add_contacts(campaign, 1)
    CampaignContact.objects.filter(pk=contact.pk).update(status=ContactStatus.DIALING)
    ended = timezone.now() - timedelta(hours=1)
    attempt = DialAttempt.objects.create(
        campaign=campaign,
        contact=contact,
        phone=contact.phone,
        agent=agent,
        mode=DialMode.PREVIEW,
        command_id="no-outcome-1",
        status=AttemptStatus.ENDED,
        decided_at=ended - timedelta(minutes=5),
        answered_at=ended - timedelta(minutes=4),
        ended_at=ended,
    )
    sweep_module._outcome_check.clear()
    settings.OUTBOUND_OUTCOME_GRACE_S = 7200  # not yet: within the grace nothing moves
    assert dialer.sweep()["no_outcome"] == 0
    sweep_module._outcome_check.clear()
    settings.OUTBOUND_OUTCOME_GRACE_S = 1800
    assert dialer.sweep()["no_outcome"] == 1
    attempt.refresh_from_db()
    contact.refresh_from_db()
    assert attempt.outcome == "failed"
    assert contact.status == ContactStatus.PENDING and contact.attempts == 1 and contact.next_attempt_at is not None
