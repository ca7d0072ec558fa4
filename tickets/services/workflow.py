"""The work order's state machine: dispatch to a unit, the unit's acceptance and reply, the
analyst's review, the agents' callback, closing, withdrawing, merging a repeat complaint, chasing.

Each function locks the ticket row (``locks.py``), asks ``policy`` on the locked row (who may do it
to this work order in this state; the transition is ``models.TRANSITIONS``), writes the ticket and
one ``TicketEvent``; a refusal raises a ``tickets.errors`` domain error and changes nothing. ``now``
lets tests and the demo seed place an action in time; it defaults to the present."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.db import transaction

from org.models import Unit

from .. import errors, policy
from ..events import snapshot, ticket_event_record
from ..locks import lock_ticket, lock_tickets
from ..models import (
    ADJUSTMENT_CATEGORIES,
    TRANSITIONS,
    AdjustmentStatus,
    State,
    Ticket,
    TicketAdjustment,
    TicketCallback,
    TicketCallbackStatus,
)
from ..sms_texts import CLOSED_SPEC
from .common import clean_text, deadline_of, refuse, resolve_now, sms_customer
from .pauses import end_pause

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


def _cancel_open_callbacks(ticket: Ticket, now: datetime) -> None:
    TicketCallback.objects.filter(ticket=ticket, status=TicketCallbackStatus.OPEN).update(
        status=TicketCallbackStatus.CANCELLED, done_at=now
    )


@transaction.atomic
def ticket_dispatch(*, ticket: Ticket, actor: User, unit_code: str, now: datetime | None = None) -> Ticket:
    """Send the work order to a unit (or on to another one); sets ``due_at`` and ``due_estimated``."""
    refuse(policy.role_refusal(actor, policy.DISPATCHERS))
    now = resolve_now(now)
    unit = Unit.objects.filter(code=str(unit_code or "").strip(), is_active=True).first()
    if unit is None:
        raise errors.UnknownUnit()
    ticket = lock_ticket(ticket.pk)
    refuse(policy.dispatch_refusal(actor, ticket))
    target = TRANSITIONS["dispatch"][ticket.state]
    if ticket.state != State.NEW and ticket.unit_id == unit.pk:
        raise errors.InvalidTransition("The work order is already with this unit.", details={"state": ticket.state})
    fields = ["state", "unit", "due_at", "due_estimated"]
    before = snapshot(ticket, fields)
    if ticket.paused_at is not None:
        end_pause(ticket, actor=actor, now=now)
    _cancel_open_callbacks(ticket, now)
    deadline = deadline_of(ticket)
    ticket.state, ticket.unit = target, unit
    ticket.dispatched_at, ticket.dispatched_by = now, actor
    ticket.first_dispatched_at = ticket.first_dispatched_at or now
    ticket.due_at, ticket.due_estimated = deadline.due_at, deadline.estimated
    ticket.original_due_at = ticket.original_due_at or deadline.due_at
    ticket.save()
    note = ""
    if deadline.estimated:
        years = ", ".join(str(year) for year in deadline.estimated_years)
        note = f"estimated: no calendar data for {years}"
        logger.warning("work order %s: due time estimated Monday-Friday (no calendar for %s)", ticket.pk, years)
    ticket_event_record(
        ticket=ticket, action="dispatch", actor=actor, before=before, after=snapshot(ticket, fields), note=note, at=now
    )
    return ticket


@transaction.atomic
def ticket_accept(*, ticket: Ticket, actor: User, now: datetime | None = None) -> Ticket:
    """The unit takes the work order in hand."""
    refuse(policy.role_refusal(actor, policy.UNIT_HANDLERS))
    now = resolve_now(now)
    ticket = lock_ticket(ticket.pk)
    refuse(policy.accept_refusal(actor, ticket))
    target = TRANSITIONS["accept"][ticket.state]
    before = snapshot(ticket, ["state"])
    ticket.state, ticket.accepted_at = target, now
    ticket.save(update_fields=["state", "accepted_at", "updated_at"])
    ticket_event_record(ticket=ticket, action="accept", actor=actor, before=before, after={"state": target}, at=now)
    return ticket


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    actor: User,
    result: str,
    resolved: bool,
    adjustment_fen: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The unit's reply with its result; opens the agents' callback task. For mis-posting and refund
    work orders the unit may confirm the amount to adjust (``adjustment_fen``)."""
    refuse(policy.role_refusal(actor, policy.UNIT_HANDLERS))
    now = resolve_now(now)
    result = clean_text(result, "result")
    if not isinstance(resolved, bool):
        raise errors.InvalidInput("resolved: true or false.")
    ticket = lock_ticket(ticket.pk)
    refuse(policy.reply_refusal(actor, ticket))
    target = TRANSITIONS["reply"][ticket.state]
    if adjustment_fen is not None:
        if ticket.category not in ADJUSTMENT_CATEGORIES:
            raise errors.AdjustmentNotApplicable()
        if isinstance(adjustment_fen, bool) or not isinstance(adjustment_fen, int):
            raise errors.InvalidInput("adjustment_fen: a whole number of fen.")
        if not resolved or adjustment_fen <= 0:
            raise errors.AdjustmentNeedsResolvedReply()
        if adjustment_fen > settings.TICKETS_ADJUSTMENT_MAX_FEN:
            from banking.money import fen_to_yuan

            raise errors.AdjustmentTooLarge(details={"max_amount": fen_to_yuan(settings.TICKETS_ADJUSTMENT_MAX_FEN)})
        adjustment = TicketAdjustment.objects.filter(ticket=ticket).first()
        if adjustment is not None and adjustment.status != AdjustmentStatus.REJECTED:
            raise errors.AdjustmentSettled()
    fields = ["state", "reply_resolved", "replied_on_time", "adjustment_confirmed_fen"]
    before = snapshot(ticket, fields)
    if ticket.paused_at is not None:
        end_pause(ticket, actor=actor, now=now)
    ticket.state = target
    ticket.replied_at, ticket.replied_by = now, actor
    ticket.reply_result, ticket.reply_resolved = result, resolved
    ticket.replied_on_time = now <= cast(datetime, ticket.due_at)  # set by the dispatch a reply follows
    ticket.reply_count += 1
    if adjustment_fen is not None:
        ticket.adjustment_confirmed_fen = adjustment_fen
    ticket.save()
    if not TicketCallback.objects.filter(ticket=ticket, status=TicketCallbackStatus.OPEN).exists():
        TicketCallback.objects.create(ticket=ticket, created_at=now)
    after = snapshot(ticket, fields)
    if adjustment_fen is not None and policy.needs_director_approval(adjustment_fen):
        # Flagged for everyone who reads the history: posting it will need the director.
        after["adjustment_needs_approval"] = True
    ticket_event_record(ticket=ticket, action="reply", actor=actor, before=before, after=after, note=result, at=now)
    return ticket


@transaction.atomic
def ticket_review(
    *, ticket: Ticket, actor: User, accepted: bool, note: str = "", now: datetime | None = None
) -> Ticket:
    """The analyst reviews the unit's reply: accepted → awaiting callback; else returned for rework."""
    refuse(policy.role_refusal(actor, policy.REVIEWERS))
    now = resolve_now(now)
    note = clean_text(note, "note", required=not accepted)
    ticket = lock_ticket(ticket.pk)
    refuse(policy.review_refusal(actor, ticket, accepted=accepted))
    target = TRANSITIONS[policy.review_action(accepted)][ticket.state]
    before = snapshot(ticket, ["state"])
    ticket.state = target
    ticket.save(update_fields=["state", "updated_at"])
    if not accepted:
        _cancel_open_callbacks(ticket, now)
    ticket_event_record(
        ticket=ticket,
        action="review_accept" if accepted else "return",
        actor=actor,
        before=before,
        after={"state": target},
        note=note,
        at=now,
    )
    return ticket


def close_notice(ticket: Ticket) -> int | None:
    """The customer is told a work order is closed; a contact settled during the call is not texted."""
    if ticket.first_dispatched_at is None:
        return None
    return sms_customer(ticket, CLOSED_SPEC.key)


@transaction.atomic
def ticket_callback(
    *, ticket: Ticket, actor: User, satisfied: bool, note: str = "", now: datetime | None = None
) -> Ticket:
    """The agent called the customer back: satisfied closes the work order (customer told by SMS);
    not satisfied reopens it for rework."""
    refuse(policy.role_refusal(actor, policy.CALLERS))
    now = resolve_now(now)
    if not isinstance(satisfied, bool):
        raise errors.InvalidInput("satisfied: true or false.")
    note = clean_text(note, "note", required=False)
    ticket = lock_ticket(ticket.pk)
    refuse(policy.callback_refusal(actor, ticket, satisfied=satisfied))
    target = TRANSITIONS[policy.callback_action(ticket, satisfied)][ticket.state]
    fields = ["state", "satisfied"]
    before = snapshot(ticket, fields)
    callback = TicketCallback.objects.filter(ticket=ticket, status=TicketCallbackStatus.OPEN).first()
    callback = callback or TicketCallback(ticket=ticket, created_at=now)
    callback.status, callback.done_at, callback.done_by = TicketCallbackStatus.DONE, now, actor
    callback.satisfied, callback.note = satisfied, note
    callback.save()
    ticket.state, ticket.satisfied, ticket.satisfaction_note = target, satisfied, note
    sms_id = None
    if target == State.CLOSED:
        ticket.closed_at, ticket.closed_by = now, actor
        sms_id = close_notice(ticket)
    ticket.save()
    ticket_event_record(
        ticket=ticket,
        action="callback",
        actor=actor,
        before=before,
        after={**snapshot(ticket, fields), "sms": sms_id},
        note=note,
        at=now,
    )
    return ticket


@transaction.atomic
def ticket_close(*, ticket: Ticket, actor: User, note: str = "", now: datetime | None = None) -> Ticket:
    """Close: a contact settled on the phone, or a replied work order closed without (or after an
    unsuccessful) callback. The customer is told by SMS."""
    refuse(policy.role_refusal(actor, policy.CLOSERS))
    now = resolve_now(now)
    note = clean_text(note, "note", required=False)
    ticket = lock_ticket(ticket.pk)
    refuse(policy.close_refusal(actor, ticket))
    target = TRANSITIONS["close"][ticket.state]
    before = snapshot(ticket, ["state"])
    _cancel_open_callbacks(ticket, now)
    ticket.state, ticket.closed_at, ticket.closed_by = target, now, actor
    sms_id = close_notice(ticket)
    ticket.save()
    ticket_event_record(
        ticket=ticket,
        action="close",
        actor=actor,
        before=before,
        after={"state": target, "sms": sms_id},
        note=note,
        at=now,
    )
    return ticket


@transaction.atomic
def ticket_withdraw(*, ticket: Ticket, actor: User, reason: str, now: datetime | None = None) -> Ticket:
    refuse(policy.role_refusal(actor, policy.DISPATCHERS))
    now = resolve_now(now)
    reason = clean_text(reason, "reason")
    ticket = lock_ticket(ticket.pk)
    refuse(policy.withdraw_refusal(actor, ticket))
    target = TRANSITIONS["withdraw"][ticket.state]
    before = snapshot(ticket, ["state"])
    if ticket.paused_at is not None:
        end_pause(ticket, actor=actor, now=now)
    _cancel_open_callbacks(ticket, now)
    ticket.state = target
    ticket.save()
    ticket_event_record(
        ticket=ticket, action="withdraw", actor=actor, before=before, after={"state": target}, note=reason, at=now
    )
    return ticket


@transaction.atomic
def ticket_merge(*, ticket: Ticket, actor: User, into: Ticket, now: datetime | None = None) -> Ticket:
    """A repeat complaint: ``ticket`` is withdrawn and points at ``into``, which carries on."""
    refuse(policy.role_refusal(actor, policy.DISPATCHERS))
    now = resolve_now(now)
    if ticket.pk == into.pk:
        raise errors.MergeNotAllowed("A work order cannot be merged into itself.")
    locked = lock_tickets(ticket.pk, into.pk)
    ticket, into = locked[ticket.pk], locked[into.pk]
    refuse(policy.merge_refusal(actor, ticket))
    target = TRANSITIONS["merge"][ticket.state]
    if into.state in (State.CLOSED, State.WITHDRAWN):
        raise errors.MergeNotAllowed("The work order to merge into is closed or withdrawn.")
    if ticket.customer_id and into.customer_id and ticket.customer_id != into.customer_id:
        raise errors.MergeNotAllowed("The two work orders are about different customers.")
    before = snapshot(ticket, ["state", "merged_into"])
    if ticket.paused_at is not None:
        end_pause(ticket, actor=actor, now=now)
    _cancel_open_callbacks(ticket, now)
    ticket.state, ticket.merged_into = target, into
    ticket.save()
    ticket_event_record(
        ticket=ticket,
        action="merge",
        actor=actor,
        before=before,
        after=snapshot(ticket, ["state", "merged_into"]),
        at=now,
    )
    ticket_event_record(ticket=into, action="merged_in", actor=actor, after={"repeat": ticket.pk}, at=now)
    return ticket


@transaction.atomic
def ticket_chase(*, ticket: Ticket, actor: User, note: str = "", now: datetime | None = None) -> Ticket:
    """The analyst chases the unit (督办): marked on the unit's inbox and in the history."""
    refuse(policy.role_refusal(actor, policy.REVIEWERS))
    now = resolve_now(now)
    note = clean_text(note, "note", required=False)
    ticket = lock_ticket(ticket.pk)
    refuse(policy.chase_refusal(actor, ticket))
    ticket.chased_at = now
    ticket.save(update_fields=["chased_at", "updated_at"])
    ticket_event_record(ticket=ticket, action="chase", actor=actor, after={"due_at": ticket.due_at}, note=note, at=now)
    return ticket
