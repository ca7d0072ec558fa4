"""Agents' call controls: answer, hold and retrieve, hang up, transfer, wrap up (optionally
recording a contact), link the caller identified to the call. Each is an event on the call."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import AgentState, AgentStatus
from core.db import retry_on_conflict

from .. import errors
from ..locks import lock_call
from ..models import Call, CallState, Disposition, EventSource, EventType
from .events import NewEvent, new_id, record
from .lookups import call_by_id, queue_code_for, queue_id_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AgentUser  # the agent working the call

    from banking.models import Customer

User = get_user_model()


def _agent_event(call: Call, user: AgentUser, type_: str, *, now: datetime, **kwargs: Any) -> NewEvent:
    return NewEvent(
        event_id=new_id("ag"),
        call_id=call.call_id,
        type=type_,
        ts=now,
        source=EventSource.AGENT,
        agent_id=user.pk,
        **kwargs,
    )


@retry_on_conflict
def call_answer(*, call_id: str, user: AgentUser) -> Call:
    """The agent answers the call ringing them. Answering again is harmless."""
    now = timezone.now()
    with transaction.atomic():
        call = cast(Call, lock_call(call_by_id(call_id).pk))  # just read: the row exists
        if call.state == CallState.CONNECTED and call.agent_id == user.pk:
            return call
        if call.state != CallState.OFFERED or call.agent_id != user.pk:
            raise errors.NotOfferedToYou()
        call, _ids = record(call.pk, [_agent_event(call, user, EventType.ANSWERED, now=now)], now=now)
        return call


def _connected_call(call_id: str, user: AgentUser) -> Call:
    call = cast(Call, lock_call(call_by_id(call_id).pk))  # just read: the row exists
    if call.agent_id != user.pk or call.state not in (CallState.CONNECTED, CallState.ENDED, CallState.OFFERED):
        raise errors.NotYourCall()
    if call.state != CallState.CONNECTED:
        raise errors.InvalidCallState()
    return call


def call_hold(*, call_id: str, user: AgentUser) -> Call:
    return _set_held(call_id, user, held=True)


def call_retrieve(*, call_id: str, user: AgentUser) -> Call:
    return _set_held(call_id, user, held=False)


@retry_on_conflict
def _set_held(call_id: str, user: AgentUser, *, held: bool) -> Call:
    """Put the agent's connected call on hold or take it back; already so: nothing recorded."""
    now = timezone.now()
    with transaction.atomic():
        call = _connected_call(call_id, user)
        if call.held == held:
            return call
        event = _agent_event(call, user, EventType.HELD if held else EventType.RETRIEVED, now=now)
        call, _ids = record(call.pk, [event], now=now)
        return call


@retry_on_conflict
def call_hangup(*, call_id: str, user: AgentUser) -> Call:
    """The agent ends the call; they go to after-call work."""
    now = timezone.now()
    with transaction.atomic():
        call = _connected_call(call_id, user)
        event = _agent_event(call, user, EventType.ENDED, now=now, data={"reason": "agent_hangup"})
        call, _ids = record(call.pk, [event], now=now)
        return call


@retry_on_conflict
def call_transfer(*, call_id: str, user: AgentUser, queue: str = "", agent: str = "") -> Call:
    """Blind transfer to a queue or to a ready agent; the transferring agent goes to after-call work."""
    now = timezone.now()
    if bool(queue) == bool(agent):
        raise errors.InvalidInput(_("Give either a queue or an agent."), code="transfer_target_required")
    target_id = None
    if agent:
        target_id = User.objects.filter(username=agent, is_active=True).values_list("pk", flat=True).first()
        if target_id is None:
            raise errors.UnknownAgent()
        if target_id == user.pk:
            raise errors.InvalidInput(_("You cannot transfer a call to yourself."), code="transfer_to_self")
    elif queue_id_for(queue) is None:
        raise errors.UnknownQueue()
    with transaction.atomic():
        call = _connected_call(call_id, user)
        if target_id is not None:
            status = AgentStatus.objects.filter(user_id=target_id).first()
            if status is None or status.state != AgentState.READY or status.call_id is not None:
                raise errors.AgentUnavailable()
        event = NewEvent(
            event_id=new_id("ag"),
            call_id=call.call_id,
            type=EventType.TRANSFERRED,
            ts=now,
            source=EventSource.AGENT,
            queue=queue or queue_code_for(call.queue_id),
            agent_id=target_id,
            data={"by": user.pk},
        )
        call, _ids = record(call.pk, [event], now=now)
        return call


@retry_on_conflict
def call_wrapup(
    *, call_id: str, user: AgentUser, disposition: str, note: str = "", ticket: dict[str, Any] | None = None
) -> Call:
    """The agent finishes after-call work with a disposition and a note; optionally records a
    consultation / complaint / suggestion (``tickets.services.contacts.ticket_create``) for the call."""
    now = timezone.now()
    if disposition not in Disposition.values:
        raise errors.InvalidInput(_("Unknown disposition."), code="invalid_disposition")
    with transaction.atomic():
        call = cast(Call, lock_call(call_by_id(call_id).pk))  # just read: the row exists
        if not any(leg.get("agent") == user.pk for leg in call.legs or []):
            raise errors.NotYourCall()
        if call.state != CallState.ENDED:
            raise errors.InvalidCallState(_("Hang up before wrapping up."), code="call_not_ended")
        if call.wrapup_at is not None:
            raise errors.AlreadyWrappedUp()
        event = _agent_event(
            call, user, EventType.WRAPUP, now=now, data={"disposition": disposition, "note": str(note or "")[:2000]}
        )
        call, _ids = record(call.pk, [event], now=now)
        # The contact recorded with the wrap-up, for the desktop's notice (工单号 / 登记号).
        call.wrapup_ticket = _ticket_for_call(call, user, ticket) if ticket else None
        return call


def _ticket_for_call(call: Call, user: AgentUser, ticket: dict[str, Any]) -> Any:
    """A consultation / complaint / suggestion for the call, when the tickets app offers it."""
    try:
        from tickets.services.contacts import ticket_create
    except ImportError:  # pragma: no cover - the tickets app ships with the project
        raise errors.InvalidInput(_("Work orders are not available."), code="tickets_unavailable") from None
    customer = None
    if call.customer_id:
        from banking.selectors import customer_get

        customer = customer_get(user=user, customer_id=call.customer_id)
    return ticket_create(
        actor=user,
        kind=ticket.get("kind", ""),
        category=ticket.get("category", ""),
        description=ticket.get("description", ""),
        customer=customer,
        call_id=call.call_id,
        received_at=call.answered_at or call.started_at,
    )


@retry_on_conflict
def call_customer_link(*, call_id: str, user: AgentUser, customer: Customer) -> Call:
    """Link "this is the caller": the agent links the customer they identified to their own call —
    connected, or ended and still in after-call work — and to the contacts already recorded for it
    (``tickets.services.contacts.tickets_customer_link_for_call``). An event on the call (the fold keeps the
    latest link, ``customer_source = "agent"``: not an IVR verification) and an audit row."""
    now = timezone.now()
    with transaction.atomic():
        call = cast(Call, lock_call(call_by_id(call_id).pk))  # just read: the row exists
        mine = call.agent_id == user.pk or any(leg.get("agent") == user.pk for leg in call.legs or [])
        if not mine:
            raise errors.NotYourCall()
        in_hand = call.state == CallState.CONNECTED or (call.state == CallState.ENDED and call.wrapup_at is None)
        if not in_hand:
            raise errors.InvalidCallState(_("The call is no longer being handled."), code="call_not_active")
        before = call.customer_id if call.customer_source == "agent" or call.verified else None
        event = _agent_event(call, user, EventType.CUSTOMER_LINKED, now=now, data={"customer_id": customer.pk})
        call, _ids = record(call.pk, [event], now=now)
        from audit.services import audit_record

        audit_record(
            actor=user,
            action="calls.customer_link",
            object_type="call",
            object_id=call.call_id,
            details={"customer": customer.pk, "before": before},
        )
        try:
            from tickets.services.contacts import tickets_customer_link_for_call
        except ImportError:  # pragma: no cover - the tickets app ships with the project
            return call
        tickets_customer_link_for_call(actor=user, call_id=call.call_id, customer=customer)
        return call
