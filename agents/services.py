"""Writes of the agents app: agent states (own and by a team lead), skills, callbacks.

``status_transition`` is the one function that changes an ``AgentStatus`` row: it writes the
append-only state log and announces the change after commit (``agents.signals``: the calls
app pushes it to the screens and routes). Callers hold the row's lock (``agents.locks``); the call
flow (``calls.services.agent_sync``, ``.routing``) uses it for ringing / on a call / after-call work, the functions
below for what agents and team leads ask for. What a state change must do to a call goes through
``agents.call_port``: this app never imports calls.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.db import RowsMoved, retry_on_conflict
from org.roles import Role
from org.scoping import user_role

from . import errors, presence, signals
from .call_port import call_side
from .locks import lock_agents
from .models import (
    OFFLINE_REASONS,
    SYSTEM_REASONS,
    AgentSkill,
    AgentState,
    AgentStateLog,
    AgentStatus,
    Callback,
    CallbackStatus,
    Reason,
)

logger = logging.getLogger(__name__)
if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()

KEEP: Any = object()
CALL_TAKING_ROLES = (Role.AGENT, Role.TEAM_LEAD)
# Runs of a state change before ``state_busy``: deadlock victims and calls that moved on meanwhile.
STATE_SET_ATTEMPTS = 8


def _send_on_commit(signal: Signal, **kwargs: Any) -> None:
    """Send ``signal`` once the current transaction has committed; a receiver's failure is
    logged and does not stop the others (a push that failed must not stop routing)."""
    transaction.on_commit(partial(_send, signal, kwargs), robust=True)


def _send(signal: Signal, kwargs: dict[str, Any]) -> None:
    for receiver, result in signal.send_robust(sender=AgentStatus, **kwargs):
        if isinstance(result, Exception):
            logger.error("%s failed", getattr(receiver, "__qualname__", receiver), exc_info=result)


def agent_changed_on_commit(user_id: int, *, routable: bool = False) -> None:
    _send_on_commit(signals.agent_changed, user_id=user_id, routable=routable)


def callbacks_changed_on_commit() -> None:
    _send_on_commit(signals.callbacks_changed)


def _queue_model() -> Any:
    """``calls.Queue``, reached through the skills' foreign key (agents does not import calls)."""
    return AgentSkill._meta.get_field("queue").related_model


def _call_model() -> Any:
    """``calls.Call``, reached through the callbacks' foreign key."""
    return Callback._meta.get_field("call").related_model


def status_transition(
    status: AgentStatus,
    *,
    state: str,
    reason: str = "",
    call: Any = KEEP,
    acw_call: Any = KEEP,
    at: datetime | None = None,
    call_id: str = "",
    actor_id: int | None = None,
    keep_ready_since: bool = False,
) -> AgentStatus:
    """Move ``status`` (locked by the caller) to ``state``; log it and push it after commit."""
    at = at or timezone.now()
    previous, previous_reason = status.state, status.reason
    if not (state == AgentState.NOT_READY or (state == AgentState.OFFLINE and reason in OFFLINE_REASONS)):
        reason = ""
    status.state = state
    status.reason = reason
    if call is not KEEP:
        status.call = call
    if acw_call is not KEEP:
        status.acw_call = acw_call
    if state == AgentState.READY and (not keep_ready_since or status.ready_since is None):
        status.ready_since = at
    if state == AgentState.OFFLINE:
        status.shift_started_at = None
        status.ready_since = None
        status.acw_call = None
    elif previous == AgentState.OFFLINE:
        status.shift_started_at = at
    changed = (previous, previous_reason) != (state, reason)
    if changed:
        status.since = at
    status.save()
    if changed:
        AgentStateLog.objects.create(
            agent_id=status.user_id,
            state=state,
            reason=reason,
            previous_state=previous,
            started_at=at,
            call_id=call_id[:128],
            actor_id=actor_id,
        )
    agent_changed_on_commit(status.user_id, routable=state == AgentState.READY)
    return status


def agent_status_for(user: User) -> AgentStatus:
    """The agent's status row, created offline the first time."""
    status = AgentStatus.objects.filter(user=user).first()
    if status is None:
        status, _created = AgentStatus.objects.get_or_create(
            user=user, defaults={"state": AgentState.OFFLINE, "since": timezone.now()}
        )
    return status


def _check_request(state: str, reason: str, *, by_lead: bool) -> str:
    if state not in (AgentState.READY, AgentState.NOT_READY, AgentState.OFFLINE):
        raise errors.InvalidInput(_("Unknown state."), code="invalid_state")
    if state != AgentState.NOT_READY:
        return ""
    if not reason:
        if by_lead:
            return Reason.SUPERVISOR
        raise errors.ReasonRequired()
    if reason not in Reason.values or (reason in SYSTEM_REASONS and not (by_lead and reason == Reason.SUPERVISOR)):
        raise errors.InvalidReason()
    return reason


def agent_state_set(
    *,
    agent: User,
    state: str,
    reason: str = "",
    actor: User | None = None,
) -> AgentStatus:
    """``POST /api/agents/me/state/`` (and a team lead for an agent): ready, not ready with a
    reason, or offline (end of shift).

    Refused while on a call (``on_call``) or with after-call work pending (``wrapup_pending``,
    except for a team lead, whose change closes it automatically). A ringing offer is withdrawn
    and the call goes back to its queue.
    """
    actor = actor or agent
    by_lead = actor.pk != agent.pk
    if user_role(agent) not in CALL_TAKING_ROLES:
        raise errors.UnknownAgent()
    reason = _check_request(state, reason, by_lead=by_lead)
    status = agent_status_for(agent)
    try:
        result = _state_set(status.pk, state=state, reason=reason, actor=actor, by_lead=by_lead)
    except RowsMoved:
        raise errors.InvalidCallState(_("The agent's state keeps changing; try again."), code="state_busy") from None
    if by_lead:
        audit_record(
            actor=actor,
            action="agents.state_set",
            object_type="agent",
            object_id=agent.get_username(),
            details={"state": state, "reason": reason},
        )
    return result


@retry_on_conflict(attempts=STATE_SET_ATTEMPTS)
def _state_set(status_pk: int, *, state: str, reason: str, actor: User, by_lead: bool) -> AgentStatus:
    """One attempt; ``RowsMoved`` when the agent's call changed between the unlocked read and the
    locks (or forgotten after-call work was just closed): ``retry_on_conflict`` runs it again."""
    side = call_side()
    now = timezone.now()
    snapshot = AgentStatus.objects.filter(pk=status_pk).values("call_id", "state", "acw_call_id").first()
    assert snapshot is not None  # agent_state_set just read the row; status rows are never deleted
    if snapshot["state"] == AgentState.ACW and snapshot["acw_call_id"] is not None:
        if not by_lead:
            raise errors.WrapupPending()
        side.auto_wrapup(status_pk=status_pk, now=now)
        raise RowsMoved()
    with transaction.atomic():
        call = side.lock_call(snapshot["call_id"]) if snapshot["call_id"] else None
        status = lock_agents(status_pk)[status_pk]
        if status.call_id != snapshot["call_id"]:
            raise RowsMoved()
        if status.state == AgentState.ON_CALL:
            raise errors.OnCall()
        if status.state == AgentState.RINGING and call is not None:
            withdrawn = side.offer_withdraw(
                call=call,
                agent_status=status,
                reason="rejected",
                next_state=state,
                next_reason=reason,
                actor=actor,
                now=now,
            )
            if withdrawn:
                return AgentStatus.objects.get(pk=status_pk)
            raise RowsMoved()  # the call was answered or moved on meanwhile: nothing written
        if status.state == AgentState.RINGING and status.call_id is None and side.reservation_release is not None:
            side.reservation_release(status=status, now=now)  # reserved for an outbound dial: given up
        if status.state == AgentState.ACW and status.acw_call_id is not None:
            if not by_lead:
                raise errors.WrapupPending()
            status.acw_call = None
        if (status.state, status.reason) == (state, reason):
            return status
        if by_lead and state == AgentState.READY and not presence.is_connected(status.user_id):
            raise errors.AgentNotConnected()
        return status_transition(status, state=state, reason=reason, at=now, actor_id=actor.pk)


def agents_disconnected_sweep(now: datetime | None = None) -> dict[str, int]:
    """Agents whose desktops are gone (``agents.presence``): an offer ringing a desktop gone for
    ``AGENTS_DISCONNECT_RING_GRACE_S`` is withdrawn (the call is routed again; the agent keeps
    their place in the longest-idle order, but routing skips them until a desktop is back), and
    an agent gone for ``AGENTS_DISCONNECT_OFFLINE_S`` goes offline with reason ``disconnected``.
    An agent on a call or in after-call work is left alone: the call goes on on the phone, and
    forgotten after-call work is closed by its own timeout first.
    """
    now = now or timezone.now()
    done = {"withdrawn": 0, "offline": 0}
    on_shift = dict(
        AgentStatus.objects.filter(state__in=(AgentState.READY, AgentState.NOT_READY, AgentState.RINGING)).values_list(
            "user_id", "pk"
        )
    )
    gone = presence.disconnected_for(on_shift)
    if not gone:
        return done
    offline_after = settings.AGENTS_DISCONNECT_OFFLINE_S
    for status in AgentStatus.objects.filter(user_id__in=list(gone)).select_related("call"):
        seconds = gone[status.user_id]
        if status.state == AgentState.RINGING and status.call_id and seconds >= settings.AGENTS_DISCONNECT_RING_GRACE_S:
            if call_side().offer_withdraw(call=status.call, agent_status=status, reason="disconnected", now=now):
                done["withdrawn"] += 1
                logger.info("offer of call %s withdrawn: agent %s disconnected", status.call_id, status.user_id)
        elif offline_after and seconds >= offline_after and status.state != AgentState.RINGING:
            done["offline"] += int(_disconnected_offline(status.pk, now=now))
    return done


@retry_on_conflict
def _disconnected_offline(status_pk: int, *, now: datetime) -> bool:
    with transaction.atomic():
        status = lock_agents(status_pk).get(status_pk)
        if status is None or status.state not in (AgentState.READY, AgentState.NOT_READY) or status.call_id:
            return False
        status_transition(status, state=AgentState.OFFLINE, reason=Reason.DISCONNECTED, at=now)
        logger.info("agent %s offline: desktop disconnected", status.user_id)
        return True


def agent_skills_set(*, agent: User, skills: list[dict[str, Any]], actor: User) -> list[AgentSkill]:
    """Replace an agent's skills ``[{"queue": code, "level": 1..5}]`` (team lead; audited)."""
    if user_role(agent) not in CALL_TAKING_ROLES:
        raise errors.UnknownAgent()
    codes = [item["queue"] for item in skills]
    if len(set(codes)) != len(codes):
        raise errors.InvalidInput(_("A queue appears twice."), code="duplicate_queue")
    queues = {queue.code: queue for queue in _queue_model().objects.filter(code__in=codes)}
    unknown = sorted(set(codes) - set(queues))
    if unknown:
        raise errors.UnknownQueue(_("No such queue: %(codes)s.") % {"codes": ", ".join(unknown)})
    for item in skills:
        if not 1 <= int(item.get("level", 0)) <= 5:
            raise errors.InvalidInput(_("A skill level is 1 to 5."), code="invalid_level")
    with transaction.atomic():
        before = {
            skill.queue.code: skill.level for skill in AgentSkill.objects.filter(agent=agent).select_related("queue")
        }
        AgentSkill.objects.filter(agent=agent).exclude(queue__code__in=codes).delete()
        for item in skills:
            AgentSkill.objects.update_or_create(
                agent=agent, queue=queues[item["queue"]], defaults={"level": int(item["level"])}
            )
        after = {item["queue"]: int(item["level"]) for item in skills}
        audit_record(
            actor=actor,
            action="agents.skills_set",
            object_type="agent",
            object_id=agent.get_username(),
            details={"before": before, "after": after},
        )
        agent_changed_on_commit(agent.pk, routable=True)
    return list(AgentSkill.objects.filter(agent=agent).select_related("queue"))


# --- callbacks ----------------------------------------------------------------------------------


def _check_callback_due(due_at: datetime) -> None:
    """A callback is promised for now or later (a few minutes of clock skew or a form's minute
    precision allowed) and within ``AGENTS_CALLBACK_MAX_AHEAD_DAYS``: a date years away is a typo,
    and the task would sit in every list until then."""
    now = timezone.now()
    if due_at < now - timedelta(seconds=settings.AGENTS_CALLBACK_PAST_TOLERANCE_S):
        raise errors.InvalidInput(_("The callback time is in the past."), code="due_in_past")
    if due_at > now + timedelta(days=settings.AGENTS_CALLBACK_MAX_AHEAD_DAYS):
        raise errors.InvalidInput(
            _("A callback is scheduled at most %(days)d days ahead.")
            % {"days": settings.AGENTS_CALLBACK_MAX_AHEAD_DAYS},
            code="due_too_far",
        )


def callback_schedule(
    *,
    actor: User,
    phone: str,
    queue: str,
    due_at: datetime,
    note: str = "",
    call_id: str = "",
    customer_id: int | None = None,
) -> Callback:
    """An agent promises the caller a callback (assigned to the agent)."""
    queue_obj = _queue_model().objects.filter(code=queue).first()
    if queue_obj is None:
        raise errors.UnknownQueue()
    phone = str(phone).strip()
    if not phone or not phone.replace("-", "").isdigit() or len(phone) > 32:
        raise errors.InvalidInput(_("Give a phone number."), code="invalid_phone")
    if timezone.is_naive(due_at):
        raise errors.InvalidInput(_("Give a time with its UTC offset."), code="naive_time")
    _check_callback_due(due_at)
    call = _call_model().objects.filter(call_id=call_id).first() if call_id else None
    callback = Callback.objects.create(
        call=call,
        phone=phone,
        customer_id=customer_id if customer_id is not None else (call.customer_id if call else None),
        queue=queue_obj,
        due_at=due_at,
        note=str(note or "")[:2000],
        assigned_to=actor,
        created_by=actor,
    )
    callbacks_changed_on_commit()
    return callback


def callback_request(
    *,
    call: Any,  # calls.Call (agents does not import calls)
    phone: str,
    queue_id: int,
    due_at: datetime,
    note: str = "",
    customer_id: int | None = None,
    created_by: User | None = None,
) -> Callback:
    """A waiting caller accepted the callback the queue offered (the call flow,
    ``calls.services.callbacks``): an open task for the queue, not assigned to anyone — the agents
    serving the queue see it. ``phone`` is the number to dial back (from the caller's ANI)."""
    callback = Callback.objects.create(
        call=call,
        phone=str(phone)[:32],
        customer_id=customer_id,
        queue_id=queue_id,
        due_at=due_at,
        created_by=created_by,
        note=str(note or "")[:2000],
    )
    callbacks_changed_on_commit()
    return callback


@transaction.atomic
def callback_complete(*, callback_id: int, actor: User, outcome: str, note: str = "") -> Callback:
    """Record the result of a callback: ``done`` (reached), ``failed`` (not reached: the task
    stays open for another try until the third), ``cancelled``."""
    callback = Callback.objects.select_for_update().filter(pk=callback_id).first()
    if callback is None:
        raise errors.CallbackNotFound()
    if callback.status != CallbackStatus.OPEN:
        raise errors.CallbackClosed()
    if outcome not in ("done", "failed", "cancelled"):
        raise errors.InvalidInput(_("Unknown outcome."), code="invalid_outcome")
    now = timezone.now()
    callback.attempts += 1
    callback.outcome_note = str(note or "")[:2000]
    if outcome == "failed" and callback.attempts < 3:
        callback.due_at = now + timedelta(minutes=30)
        callback.assigned_to = None
    else:
        callback.status = {"done": CallbackStatus.DONE, "failed": CallbackStatus.FAILED}.get(
            outcome, CallbackStatus.CANCELLED
        )
        callback.completed_at = now
        callback.completed_by = actor
    callback.save()
    callbacks_changed_on_commit()
    return callback
