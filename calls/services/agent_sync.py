"""Agents brought in line with their rebuilt calls: ringing, on a call, after-call work, a missed
offer (``sync_agents``, run by the event writer under the calls' row locks)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

from django.conf import settings

from agents.locks import lock_agents
from agents.models import AgentState, AgentStatus
from agents.selectors import involved_statuses
from agents.services import status_transition

from .. import cdr
from ..models import Call, CallState, Direction, EventType

logger = logging.getLogger(__name__)

ACTIVE_STATES = (CallState.OFFERED, CallState.CONNECTED)


def is_live(fresh: Sequence[cdr.EventLike], now: datetime) -> bool:
    """Whether one of the events is recent (``CALLS_LIVE_WINDOW_S``): a historical load moves no agent."""
    window = timedelta(seconds=settings.CALLS_LIVE_WINDOW_S)
    return any(event.ts >= now - window for event in fresh)


def sync_agents(
    calls: dict[int, Call],
    folds: dict[int, cdr.Fold],
    fresh: Mapping[int, Sequence[cdr.EventLike]],
    *,
    now: datetime,
    held: Collection[int] | None = None,
) -> None:
    """Bring the agents' states in line with the rebuilt calls (the call rows are locked).

    The agent who holds a call (ringing or connected) but no longer should is released (to
    after-call work if they talked, not ready after a missed offer, else back to ready); the
    agent a call now rings or connects takes it — only for live events, so a historical load
    never moves anyone; the agent whose after-call work a call was goes back to ready.

    ``held``: the calls an agent holds, when the caller has read it under the calls' locks (the
    single-event fast path does); the others are not looked up. The agents involved are read in
    one statement (``agents.selectors.involved_statuses``), then locked.
    """
    holder_calls = list(calls) if held is None else [pk for pk in calls if pk in held]
    # Calls that a live event rings or connects: their agent takes them.
    taking = {pk for pk, call in calls.items() if call.state in ACTIVE_STATES and is_live(fresh[pk], now)}
    target_users = {agent for pk in taking if (agent := calls[pk].agent_id) is not None}
    wrapped = [pk for pk in calls if folds[pk].wrapup_at is not None]
    found = involved_statuses(holder_calls, sorted(target_users), wrapped)
    if not found:
        return
    holder_set, wrapped_set = set(holder_calls), set(wrapped)
    holders = {status.call_id: status for status in found if status.call_id in holder_set}
    targets_wanted = {
        pk: calls[pk].agent_id
        for pk in taking
        if calls[pk].agent_id is not None and (pk not in holders or holders[pk].user_id != calls[pk].agent_id)
    }
    wanted_users = set(targets_wanted.values())
    targets = {status.user_id: status for status in found if status.user_id in wanted_users}
    acws = {
        status.acw_call_id: status
        for status in found
        if status.acw_call_id in wrapped_set and status.state == AgentState.ACW
    }
    locked = lock_agents(*(status.pk for group in (holders, targets, acws) for status in group.values()))
    if not locked:
        return
    for pk, call in calls.items():
        folded, new = folds[pk], fresh[pk]
        target_user = call.agent_id if call.state in ACTIVE_STATES else None
        holder = locked.get(holders[pk].pk) if pk in holders else None
        if holder is not None and holder.call_id == call.pk:
            if holder.user_id == target_user:
                wanted = AgentState.RINGING if call.state == CallState.OFFERED else AgentState.ON_CALL
                if holder.state != wanted:
                    status_transition(holder, state=wanted, at=now, call_id=call.call_id)
            else:
                _release(holder, call, folded, new, now=now)
        target_id = targets_wanted.get(pk)
        target = locked.get(targets[target_id].pk) if target_id in targets else None
        if target is not None and target.call_id != call.pk:
            wanted = AgentState.RINGING if call.state == CallState.OFFERED else AgentState.ON_CALL
            # An outbound call connects only the agent still reserved for it (ringing, no call):
            # one who left the reservation meanwhile had the dial cancelled (calls.outbound.dialer).
            reserved = call.direction != Direction.OUTBOUND or target.state == AgentState.RINGING
            if target.call_id is None and target.state != AgentState.OFFLINE and reserved:
                status_transition(target, state=wanted, call=call, at=now, call_id=call.call_id)
            else:
                code = "agent_offline" if target.state == AgentState.OFFLINE else "agent_busy"
                code = code if reserved else "reservation_released"
                logger.warning("call %s: agent %s not assigned (%s)", call.call_id, target.user.get_username(), code)
                call.anomalies = [*call.anomalies, {"event_id": new[-1].event_id, "type": new[-1].type, "code": code}]
        acw = locked.get(acws[pk].pk) if pk in acws else None
        if acw is not None and acw.state == AgentState.ACW and acw.acw_call_id == call.pk and acw.call_id is None:
            status_transition(acw, state=AgentState.READY, acw_call=None, at=now, call_id=call.call_id)


def _release(
    holder: AgentStatus, call: Call, folded: cdr.Fold, fresh: Sequence[cdr.EventLike], *, now: datetime
) -> None:
    talked = any(leg["agent"] == holder.user_id and leg.get("ended") is not None for leg in folded.legs)
    expired = [e for e in fresh if e.type == EventType.OFFER_EXPIRED and e.agent_id == holder.user_id]
    if talked:
        if folded.wrapup_at is None:
            status_transition(holder, state=AgentState.ACW, call=None, acw_call=call, at=now, call_id=call.call_id)
        else:
            status_transition(holder, state=AgentState.READY, call=None, acw_call=None, at=now, call_id=call.call_id)
    elif expired:
        data = expired[-1].data or {}
        if data.get("reason") == "rejected":
            status_transition(
                holder,
                state=data.get("next_state") or AgentState.READY,
                reason=data.get("next_reason") or "",
                call=None,
                at=now,
                call_id=call.call_id,
                actor_id=data.get("actor_id"),
            )
        elif data.get("reason") == "disconnected":
            # Nobody sits at the desktop: the call goes to the next agent; the agent is not to
            # blame (a dropped network), keeps their place and goes offline if it stays gone.
            status_transition(
                holder, state=AgentState.READY, call=None, at=now, call_id=call.call_id, keep_ready_since=True
            )
        else:
            status_transition(
                holder, state=AgentState.NOT_READY, reason="missed_offer", call=None, at=now, call_id=call.call_id
            )
    else:
        # The caller hung up while it rang, or the switch moved the call: back to ready, keeping
        # the agent's place in the longest-idle order.
        status_transition(
            holder, state=AgentState.READY, call=None, at=now, call_id=call.call_id, keep_ready_since=True
        )
