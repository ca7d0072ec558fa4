"""Every write of the tickets app: contacts, the work-order state machine, extensions, pauses,
attachments, callbacks, adjustments, escalation and the working-day calendar.

Functions are keyword-only and atomic. A state change locks the ticket row (``locks.py``), checks
the transition against ``models.TRANSITIONS`` on the locked row, writes the ticket and one
``TicketEvent``; a refusal raises a ``tickets.errors`` domain error and changes nothing. ``now`` lets
tests and the demo seed place an action in time; it defaults to the present.

Who may do what is checked here as well as in the API permissions (pages call services directly):
unit staff act only on their own unit's work orders, and another unit's is ``TicketNotFound``.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from audit.services import audit_record
from contactcenter.errors import Forbidden
from org.models import Unit
from org.roles import Role
from org.scoping import user_role

from . import errors, policy
from .calendar import WorkingCalendar, package_days, package_years
from .deadlines import due_for, end_of_day, extension_cap, paused_days_for
from .events import snapshot, ticket_event_record
from .locks import lock_ticket, lock_tickets
from .models import (
    ADJUSTMENT_CATEGORIES,
    STATE_GUARDS,
    TERMINAL_STATES,
    TRANSITIONS,
    WORKING_STATES,
    AdjustmentStatus,
    CalendarDay,
    CalendarSource,
    CalendarYear,
    CallbackStatus,
    Category,
    ContactKind,
    EscalationKind,
    ExtensionStatus,
    State,
    Ticket,
    TicketAdjustment,
    TicketAttachment,
    TicketCallback,
    TicketEscalation,
    TicketExtension,
    TicketPause,
)

logger = logging.getLogger(__name__)

# Who may do what (the API's permission classes use the same tuples).
RECORDERS = (Role.AGENT, Role.TEAM_LEAD, Role.ANALYST)
DISPATCHERS = (Role.ANALYST, Role.AGENT, Role.TEAM_LEAD)
REVIEWERS = (Role.ANALYST, Role.DIRECTOR)
CALLERS = (Role.AGENT, Role.TEAM_LEAD, Role.ANALYST)
CLOSERS = policy.CLOSERS
EXTENSION_REQUESTERS = (Role.UNIT_STAFF, Role.ANALYST, Role.DIRECTOR)
# Stage 1 (to 30 days) is approved by the center; stage 2 (+30 days) needs head-office approval,
# given by the director on the head office's behalf.
EXTENSION_APPROVERS = {1: (Role.ANALYST, Role.DIRECTOR), 2: (Role.DIRECTOR,)}
PAUSERS = (Role.UNIT_STAFF, Role.ANALYST)
ATTACHERS = (Role.UNIT_STAFF, Role.ANALYST, Role.AGENT, Role.TEAM_LEAD)
ADJUSTERS = policy.ADJUSTMENT_POSTERS
ADJUSTMENT_APPROVERS = policy.ADJUSTMENT_APPROVERS
ADJUSTMENT_WAIVERS = policy.ADJUSTMENT_WAIVERS
CUSTOMER_LINKERS = policy.CUSTOMER_LINKERS
CALENDAR_EDITORS = (Role.MAINTAINER,)

TEXT_MAX = 4000
# A client clock slightly ahead of ours is not a complaint "from the future".
RECEIVED_CLOCK_TOLERANCE = timedelta(minutes=2)
ADJUSTMENT_MEMO = "工单{number}调账"  # ledger text, Chinese whatever the UI language


# --- helpers ---------------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _require_role(actor, roles) -> str:
    role = user_role(actor)
    if role not in roles:
        raise Forbidden()
    return role


def _require_own_unit(actor, ticket: Ticket) -> None:
    """Unit staff act only on their unit's work orders; another unit's does not exist for them."""
    if user_role(actor) == Role.UNIT_STAFF and ticket.unit_id != actor.profile.unit_id:
        raise errors.TicketNotFound()


def _text(value: Any, field: str, *, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise errors.InvalidInput(f"{field}: this field is required.")
    if len(text) > TEXT_MAX:
        raise errors.InvalidInput(f"{field}: at most {TEXT_MAX} characters.")
    return text


def _transition(ticket: Ticket, action: str) -> str:
    target = TRANSITIONS[action].get(ticket.state)
    if target is None:
        raise errors.InvalidTransition(
            f"Cannot {action.replace('_', ' ')} a work order that is {ticket.state}.",
            details={"state": ticket.state, "action": action},
        )
    return target


def _guard(ticket: Ticket, action: str) -> None:
    if ticket.state not in STATE_GUARDS[action]:
        raise errors.InvalidTransition(
            f"Cannot {action} a work order that is {ticket.state}.",
            details={"state": ticket.state, "action": action},
        )


def _deadline(ticket: Ticket, calendar: WorkingCalendar | None = None, *, extra_days: int | None = None):
    extensions = list(ticket.extension_days) + ([extra_days] if extra_days else [])
    return due_for(
        category=ticket.category,
        received_at=ticket.received_at,
        extension_days=extensions,
        paused_days=ticket.paused_days,
        calendar=calendar,
    )


def _is_mobile(phone: str) -> bool:
    return len(phone) == 11 and phone.startswith("1") and phone.isascii() and phone.isdigit()


def _sms_customer(ticket: Ticket, text: str) -> int | None:
    """Queue a service SMS to the ticket's customer in this transaction — the linked customer's
    mobile, else the caller's number when it is a mobile; ``None`` when there is nobody to tell."""
    phone = ticket.contact_phone
    if not _is_mobile(phone):
        return None
    from notifications.models import SmsOutbox
    from notifications.services import sms_enqueue

    signature = getattr(settings, "BANKING_SMS_SIGNATURE", "")
    return sms_enqueue(phone=phone, kind=SmsOutbox.Kind.SERVICE, text=f"{signature}{text}").pk


def _refuse(refusal) -> None:
    if refusal is not None:
        raise refusal


def _caller_number_of(call_id: str) -> str:
    """The caller's number (ANI) of the call a contact came in on; blank for an unknown call."""
    if not call_id:
        return ""
    from calls.errors import CallNotFound
    from calls.selectors import call_get

    try:
        return call_get(call_id).ani or ""
    except CallNotFound:
        return ""


def _md(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.month}月{local.day}日"


def _cancel_open_callbacks(ticket: Ticket, now: datetime) -> None:
    TicketCallback.objects.filter(ticket=ticket, status=CallbackStatus.OPEN).update(
        status=CallbackStatus.CANCELLED, done_at=now
    )


def _end_pause(ticket: Ticket, *, actor, now: datetime, calendar: WorkingCalendar | None = None) -> None:
    """End the running pause: its days are not counted, so the due time moves. Caller saves."""
    pause = TicketPause.objects.filter(ticket=ticket, ended_at__isnull=True).first()
    if pause is None:
        ticket.paused_at = None
        return
    days = paused_days_for(pause.started_at, now)
    pause.ended_at, pause.ended_by, pause.days_counted = now, actor, days
    pause.save(update_fields=["ended_at", "ended_by", "days_counted"])
    before = snapshot(ticket, ["paused_at", "paused_days", "due_at", "due_estimated"])
    ticket.paused_at = None
    ticket.paused_days += days
    deadline = _deadline(ticket, calendar)
    ticket.due_at, ticket.due_estimated = deadline.due_at, deadline.estimated
    ticket_event_record(
        ticket=ticket,
        action="resume",
        actor=actor,
        before=before,
        after=snapshot(ticket, ["paused_at", "paused_days", "due_at", "due_estimated"]),
        at=now,
    )


# --- contacts ---------------------------------------------------------------------------------------


@transaction.atomic
def ticket_create(
    *,
    actor,
    kind: str,
    category: str,
    description: str,
    customer=None,
    account=None,
    call_id: str = "",
    caller_number: str = "",
    received_at: datetime | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Record a consultation, complaint or suggestion (state ``new``). The caller's number is the
    call's (ANI) whenever the call is known; ``caller_number`` is for contacts without a call."""
    _require_role(actor, RECORDERS)
    now = _now(now)
    if kind not in ContactKind.values:
        raise errors.InvalidInput("Unknown kind of contact.", code="unknown_kind")
    if category not in Category.values:
        raise errors.InvalidInput("Unknown category.", code="unknown_category")
    description = _text(description, "description")
    if received_at is None:
        received_at = now
    elif timezone.is_naive(received_at):
        raise errors.InvalidInput("received_at: give a time with its UTC offset.")
    if received_at > now + RECEIVED_CLOCK_TOLERANCE:
        raise errors.ReceivedInFuture()
    received_at = min(received_at, now)
    if account is not None:
        if account.is_internal or (customer is not None and account.customer_id != customer.pk):
            raise errors.UnknownAccount()
        customer = customer or account.customer
    call_id = str(call_id or "")[:128]
    caller_number = (_caller_number_of(call_id) or str(caller_number or "").strip())[:255]
    ticket = Ticket.objects.create(
        kind=kind,
        category=category,
        description=description,
        customer=customer,
        account=account,
        call_id=call_id,
        caller_number=caller_number,
        received_at=received_at,
        created_at=now,
        created_by=actor,
    )
    ticket_event_record(
        ticket=ticket,
        action="create",
        actor=actor,
        after={
            **snapshot(ticket, ["state", "kind", "category", "received_at", "caller_number"]),
            "customer": str(customer) if customer is not None else None,
        },
        at=now,
    )
    return ticket


@transaction.atomic
def ticket_customer_link(*, ticket: Ticket, actor, customer, call_id: str = "", now: datetime | None = None) -> Ticket:
    """Link the contact to its customer (an unknown caller identified, or the wrong one corrected).
    The account concerned is kept only when it is the new customer's. Refused once an adjustment is
    posted or waiting for approval (the money goes to that customer's account)."""
    now = _now(now)
    ticket = lock_ticket(ticket.pk)
    _refuse(policy.customer_link_refusal(actor, ticket))
    if customer is None:
        raise errors.UnknownCustomer()
    if ticket.customer_id == customer.pk:
        return ticket
    before_id = ticket.customer_id
    before = {"customer": str(ticket.customer) if before_id else None}
    ticket.customer = customer
    if ticket.account_id is not None and ticket.account.customer_id != customer.pk:
        ticket.account = None
    ticket.save(update_fields=["customer", "account", "updated_at"])
    ticket_event_record(
        ticket=ticket,
        action="customer_link",
        actor=actor,
        before=before,
        after={"customer": str(customer)},
        note=f"call {call_id}" if call_id else "",
        at=now,
    )
    audit_record(
        actor=actor,
        action="tickets.customer_link",
        obj=ticket,
        object_type="ticket",
        details={"customer": customer.pk, "before": before_id, "call_id": call_id},
    )
    return ticket


def tickets_customer_link_for_call(*, actor, call_id: str, customer) -> list[Ticket]:
    """For "this is the caller" on the desktop: the contacts already recorded for the call and not
    linked to this customer yet are linked (each audited); closed or withdrawn ones are left alone."""
    linked = []
    if not call_id:
        return linked
    for ticket in Ticket.objects.filter(call_id=call_id).exclude(state__in=sorted(TERMINAL_STATES)).order_by("pk"):
        if ticket.customer_id != customer.pk:
            linked.append(ticket_customer_link(ticket=ticket, actor=actor, customer=customer, call_id=call_id))
    return linked


# --- the work order ------------------------------------------------------------------------------------


@transaction.atomic
def ticket_dispatch(*, ticket: Ticket, actor, unit_code: str, now: datetime | None = None) -> Ticket:
    """Send the work order to a unit (or on to another one); sets ``due_at`` and ``due_estimated``."""
    _require_role(actor, DISPATCHERS)
    now = _now(now)
    unit = Unit.objects.filter(code=str(unit_code or "").strip(), is_active=True).first()
    if unit is None:
        raise errors.UnknownUnit()
    ticket = lock_ticket(ticket.pk)
    target = _transition(ticket, "dispatch")
    if ticket.state != State.NEW and ticket.unit_id == unit.pk:
        raise errors.InvalidTransition("The work order is already with this unit.", details={"state": ticket.state})
    fields = ["state", "unit", "due_at", "due_estimated"]
    before = snapshot(ticket, fields)
    if ticket.paused_at is not None:
        _end_pause(ticket, actor=actor, now=now)
    _cancel_open_callbacks(ticket, now)
    deadline = _deadline(ticket)
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
def ticket_accept(*, ticket: Ticket, actor, now: datetime | None = None) -> Ticket:
    """The unit takes the work order in hand."""
    _require_role(actor, (Role.UNIT_STAFF,))
    now = _now(now)
    ticket = lock_ticket(ticket.pk)
    _require_own_unit(actor, ticket)
    target = _transition(ticket, "accept")
    before = snapshot(ticket, ["state"])
    ticket.state, ticket.accepted_at = target, now
    ticket.save(update_fields=["state", "accepted_at", "updated_at"])
    ticket_event_record(ticket=ticket, action="accept", actor=actor, before=before, after={"state": target}, at=now)
    return ticket


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    actor,
    result: str,
    resolved: bool,
    adjustment_fen: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """The unit's reply with its result; opens the agents' callback task. For mis-posting and refund
    work orders the unit may confirm the amount to adjust (``adjustment_fen``)."""
    _require_role(actor, (Role.UNIT_STAFF,))
    now = _now(now)
    result = _text(result, "result")
    if not isinstance(resolved, bool):
        raise errors.InvalidInput("resolved: true or false.")
    ticket = lock_ticket(ticket.pk)
    _require_own_unit(actor, ticket)
    target = _transition(ticket, "reply")
    if adjustment_fen is not None:
        if ticket.category not in ADJUSTMENT_CATEGORIES:
            raise errors.AdjustmentNotApplicable()
        if isinstance(adjustment_fen, bool) or not isinstance(adjustment_fen, int):
            raise errors.InvalidInput("adjustment_fen: a whole number of fen.")
        if not resolved or adjustment_fen <= 0:
            raise errors.InvalidInput("An adjustment is confirmed only with a resolved reply and a positive amount.")
        if adjustment_fen > settings.TICKETS_ADJUSTMENT_MAX_FEN:
            from banking.money import fen_to_yuan

            raise errors.AdjustmentTooLarge(details={"max_amount": fen_to_yuan(settings.TICKETS_ADJUSTMENT_MAX_FEN)})
        adjustment = TicketAdjustment.objects.filter(ticket=ticket).first()
        if adjustment is not None and adjustment.status != AdjustmentStatus.REJECTED:
            raise errors.AdjustmentSettled()
    fields = ["state", "reply_resolved", "replied_on_time", "adjustment_confirmed_fen"]
    before = snapshot(ticket, fields)
    if ticket.paused_at is not None:
        _end_pause(ticket, actor=actor, now=now)
    ticket.state = target
    ticket.replied_at, ticket.replied_by = now, actor
    ticket.reply_result, ticket.reply_resolved = result, resolved
    ticket.replied_on_time = now <= ticket.due_at
    ticket.reply_count += 1
    if adjustment_fen is not None:
        ticket.adjustment_confirmed_fen = adjustment_fen
    ticket.save()
    if not TicketCallback.objects.filter(ticket=ticket, status=CallbackStatus.OPEN).exists():
        TicketCallback.objects.create(ticket=ticket, created_at=now)
    after = snapshot(ticket, fields)
    if adjustment_fen is not None and policy.needs_director_approval(adjustment_fen):
        # Flagged for everyone who reads the history: posting it will need the director.
        after["adjustment_needs_approval"] = True
    ticket_event_record(ticket=ticket, action="reply", actor=actor, before=before, after=after, note=result, at=now)
    return ticket


@transaction.atomic
def ticket_review(*, ticket: Ticket, actor, accepted: bool, note: str = "", now: datetime | None = None) -> Ticket:
    """The analyst reviews the unit's reply: accepted → awaiting callback; else returned for rework."""
    _require_role(actor, REVIEWERS)
    now = _now(now)
    note = _text(note, "note", required=not accepted)
    ticket = lock_ticket(ticket.pk)
    target = _transition(ticket, "review_accept" if accepted else "return")
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


def _close_notice(ticket: Ticket) -> int | None:
    """The customer is told a work order is closed; a contact settled during the call is not texted."""
    if ticket.first_dispatched_at is None:
        return None
    return _sms_customer(
        ticket, f"您{_md(ticket.received_at)}反映的问题（工单号{ticket.number}）已办结，感谢您对我行工作的支持。"
    )


@transaction.atomic
def ticket_callback(*, ticket: Ticket, actor, satisfied: bool, note: str = "", now: datetime | None = None) -> Ticket:
    """The agent called the customer back: satisfied closes the work order (customer told by SMS);
    not satisfied reopens it for rework."""
    _require_role(actor, CALLERS)
    now = _now(now)
    if not isinstance(satisfied, bool):
        raise errors.InvalidInput("satisfied: true or false.")
    note = _text(note, "note", required=False)
    ticket = lock_ticket(ticket.pk)
    if satisfied:
        # Money still owed: the customer is satisfied, the work order waits for the posting.
        action = "callback_satisfied_owed" if policy.money_owed(ticket) else "callback_satisfied"
    else:
        action = "callback_not_satisfied"
    target = _transition(ticket, action)
    fields = ["state", "satisfied"]
    before = snapshot(ticket, fields)
    callback = TicketCallback.objects.filter(ticket=ticket, status=CallbackStatus.OPEN).first()
    callback = callback or TicketCallback(ticket=ticket, created_at=now)
    callback.status, callback.done_at, callback.done_by = CallbackStatus.DONE, now, actor
    callback.satisfied, callback.note = satisfied, note
    callback.save()
    ticket.state, ticket.satisfied, ticket.satisfaction_note = target, satisfied, note
    sms_id = None
    if target == State.CLOSED:
        ticket.closed_at, ticket.closed_by = now, actor
        sms_id = _close_notice(ticket)
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
def ticket_close(*, ticket: Ticket, actor, note: str = "", now: datetime | None = None) -> Ticket:
    """Close: a contact settled on the phone, or a replied work order closed without (or after an
    unsuccessful) callback. The customer is told by SMS."""
    _require_role(actor, CLOSERS)
    now = _now(now)
    note = _text(note, "note", required=False)
    ticket = lock_ticket(ticket.pk)
    target = _transition(ticket, "close")
    _refuse(policy.close_refusal(actor, ticket))
    before = snapshot(ticket, ["state"])
    _cancel_open_callbacks(ticket, now)
    ticket.state, ticket.closed_at, ticket.closed_by = target, now, actor
    sms_id = _close_notice(ticket)
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
def ticket_withdraw(*, ticket: Ticket, actor, reason: str, now: datetime | None = None) -> Ticket:
    _require_role(actor, DISPATCHERS)
    now = _now(now)
    reason = _text(reason, "reason")
    ticket = lock_ticket(ticket.pk)
    target = _transition(ticket, "withdraw")
    _refuse(policy.drop_refusal(ticket))
    before = snapshot(ticket, ["state"])
    if ticket.paused_at is not None:
        _end_pause(ticket, actor=actor, now=now)
    _cancel_open_callbacks(ticket, now)
    ticket.state = target
    ticket.save()
    ticket_event_record(
        ticket=ticket, action="withdraw", actor=actor, before=before, after={"state": target}, note=reason, at=now
    )
    return ticket


@transaction.atomic
def ticket_merge(*, ticket: Ticket, actor, into: Ticket, now: datetime | None = None) -> Ticket:
    """A repeat complaint: ``ticket`` is withdrawn and points at ``into``, which carries on."""
    _require_role(actor, DISPATCHERS)
    now = _now(now)
    if ticket.pk == into.pk:
        raise errors.MergeNotAllowed("A work order cannot be merged into itself.")
    locked = lock_tickets(ticket.pk, into.pk)
    ticket, into = locked[ticket.pk], locked[into.pk]
    target = _transition(ticket, "merge")
    _refuse(policy.drop_refusal(ticket))
    if into.state in (State.CLOSED, State.WITHDRAWN):
        raise errors.MergeNotAllowed("The work order to merge into is closed or withdrawn.")
    if ticket.customer_id and into.customer_id and ticket.customer_id != into.customer_id:
        raise errors.MergeNotAllowed("The two work orders are about different customers.")
    before = snapshot(ticket, ["state", "merged_into"])
    if ticket.paused_at is not None:
        _end_pause(ticket, actor=actor, now=now)
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
def ticket_chase(*, ticket: Ticket, actor, note: str = "", now: datetime | None = None) -> Ticket:
    """The analyst chases the unit (督办): marked on the unit's inbox and in the history."""
    _require_role(actor, REVIEWERS)
    now = _now(now)
    note = _text(note, "note", required=False)
    ticket = lock_ticket(ticket.pk)
    _guard(ticket, "chase")
    ticket.chased_at = now
    ticket.save(update_fields=["chased_at", "updated_at"])
    ticket_event_record(ticket=ticket, action="chase", actor=actor, after={"due_at": ticket.due_at}, note=note, at=now)
    return ticket


# --- pauses and extensions ---------------------------------------------------------------------------------


@transaction.atomic
def ticket_pause(*, ticket: Ticket, actor, reason: str, now: datetime | None = None) -> Ticket:
    """Waiting for an outside appraisal: the clock stops until ``ticket_resume``."""
    _require_role(actor, PAUSERS)
    now = _now(now)
    reason = _text(reason, "reason")
    ticket = lock_ticket(ticket.pk)
    _require_own_unit(actor, ticket)
    _guard(ticket, "pause")
    if ticket.paused_at is not None:
        raise errors.AlreadyPaused()
    TicketPause.objects.create(ticket=ticket, reason=reason, started_at=now, started_by=actor)
    ticket.paused_at = now
    ticket.save(update_fields=["paused_at", "updated_at"])
    ticket_event_record(ticket=ticket, action="pause", actor=actor, after={"paused_at": now}, note=reason, at=now)
    return ticket


@transaction.atomic
def ticket_resume(*, ticket: Ticket, actor, now: datetime | None = None) -> Ticket:
    _require_role(actor, PAUSERS)
    now = _now(now)
    ticket = lock_ticket(ticket.pk)
    _require_own_unit(actor, ticket)
    _guard(ticket, "resume")
    if ticket.paused_at is None:
        raise errors.NotPaused()
    _end_pause(ticket, actor=actor, now=now)
    ticket.save()
    return ticket


def _check_extension(ticket: Ticket, *, stage: int, days: int, calendar: WorkingCalendar) -> None:
    cap = extension_cap(received_at=ticket.received_at, stage=stage, paused_days=ticket.paused_days, calendar=calendar)
    proposed = _deadline(ticket, calendar, extra_days=days)
    if proposed.due_date > cap:
        raise errors.ExtensionTooLong(
            f"Stage {stage} may extend the due date to {cap.isoformat()} at the latest.",
            details={"latest_due_date": cap.isoformat(), "stage": stage},
        )


@transaction.atomic
def ticket_extension_request(
    *, ticket: Ticket, actor, days: int, reason: str, now: datetime | None = None
) -> TicketExtension:
    """Ask for more time. Stage 1 reaches at most 30 days after receipt, stage 2 at most 30 more.
    A request by someone who may approve its stage is approved at once."""
    role = _require_role(actor, EXTENSION_REQUESTERS)
    now = _now(now)
    reason = _text(reason, "reason")
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not 1 <= days <= 2 * settings.TICKETS_EXTENSION_STAGE_DAYS
    ):
        raise errors.InvalidInput("days: a whole number of days, at least 1.")
    ticket = lock_ticket(ticket.pk)
    _require_own_unit(actor, ticket)
    _guard(ticket, "extend")
    if TicketExtension.objects.filter(ticket=ticket, status=ExtensionStatus.PENDING).exists():
        raise errors.ExtensionPending()
    stage = len(ticket.extension_days) + 1
    if stage > 2:
        raise errors.ExtensionLimitReached()
    _check_extension(ticket, stage=stage, days=days, calendar=WorkingCalendar())
    extension = TicketExtension.objects.create(
        ticket=ticket,
        stage=stage,
        days=days,
        reason=reason,
        status=ExtensionStatus.PENDING,
        requested_by=actor,
        requested_at=now,
    )
    ticket_event_record(
        ticket=ticket,
        action="extension_request",
        actor=actor,
        after={"extension": extension.pk, "stage": stage, "days": days},
        note=reason,
        at=now,
    )
    if role in EXTENSION_APPROVERS[stage]:
        _extension_decide(extension=extension, ticket=ticket, actor=actor, approve=True, note="", now=now)
    return extension


@transaction.atomic
def ticket_extension_decide(
    *, extension: TicketExtension, actor, approve: bool, note: str = "", now: datetime | None = None
) -> TicketExtension:
    role = user_role(actor)
    if role not in EXTENSION_APPROVERS[1] + EXTENSION_APPROVERS[2]:
        raise Forbidden()
    if role not in EXTENSION_APPROVERS[extension.stage]:
        raise errors.HeadOfficeApprovalRequired()
    note = _text(note, "note", required=not approve)
    ticket = lock_ticket(extension.ticket_id)
    extension = TicketExtension.objects.get(pk=extension.pk)
    return _extension_decide(extension=extension, ticket=ticket, actor=actor, approve=approve, note=note, now=_now(now))


def _extension_decide(
    *, extension: TicketExtension, ticket: Ticket, actor, approve: bool, note: str, now: datetime
) -> TicketExtension:
    if extension.status != ExtensionStatus.PENDING:
        raise errors.ExtensionNotPending()
    extension.decided_by, extension.decided_at, extension.decision_note = actor, now, note
    if not approve:
        extension.status = ExtensionStatus.REJECTED
        extension.save()
        ticket_event_record(
            ticket=ticket,
            action="extension_reject",
            actor=actor,
            after={"extension": extension.pk, "stage": extension.stage},
            note=note,
            at=now,
        )
        return extension
    _guard(ticket, "extend")
    calendar = WorkingCalendar()
    _check_extension(ticket, stage=extension.stage, days=extension.days, calendar=calendar)
    fields = ["due_at", "due_estimated", "extension_days"]
    before = snapshot(ticket, fields)
    ticket.extension_days = [*ticket.extension_days, extension.days]
    deadline = _deadline(ticket, calendar)
    extension.due_before, extension.due_after = ticket.due_at, deadline.due_at
    ticket.due_at, ticket.due_estimated = deadline.due_at, deadline.estimated
    extension.status = ExtensionStatus.APPROVED
    extension.save()
    sms_id = _sms_customer(
        ticket,
        f"您{_md(ticket.received_at)}反映的问题（工单号{ticket.number}）情况较为复杂，"
        f"办理时限延长至{_md(deadline.due_at)}，给您带来不便，敬请谅解。",
    )
    ticket.save()
    ticket_event_record(
        ticket=ticket,
        action="extension_approve",
        actor=actor,
        before=before,
        after={**snapshot(ticket, fields), "extension": extension.pk, "customer_told": sms_id is not None},
        note=note or ("" if sms_id else "customer not told by SMS: no mobile on record"),
        at=now,
    )
    return extension


# --- attachments ---------------------------------------------------------------------------------------

# Evidence a branch sends: documents, pictures, scans, sound. Anything else is refused.
ALLOWED_EXTENSIONS = frozenset(
    {".pdf", ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".txt", ".csv", ".doc", ".docx", ".xls"}
    | {".xlsx", ".wps", ".ofd", ".mp3", ".wav", ".amr", ".zip"}
)
# Magic bytes of programs and scripts (PE/DOS, ELF, Mach-O, Java class, shebang scripts, Windows
# shortcuts and HTML applications): refused whatever the file is called.
EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
    b"L\x00\x00\x00\x01\x14\x02\x00",
)
SCRIPT_MARKERS = (b"<script", b"<hta:", b"wscript.", b"powershell", b"<?php")
# Formats whose first bytes must match their extension.
EXPECTED_MAGIC = {
    ".pdf": (b"%PDF",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".zip": (b"PK\x03\x04",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
}


def _safe_name(name: str) -> str:
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    return name[-200:] or "file"


def attachment_check(*, name: str, head: bytes, size: int) -> str:
    """Refuse oversized, empty, executable or unexpected files; returns the cleaned file name."""
    name = _safe_name(name)
    if size > settings.TICKETS_ATTACHMENT_MAX_BYTES:
        raise errors.AttachmentTooLarge(
            f"The file is larger than {settings.TICKETS_ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB.",
            details={"max_bytes": settings.TICKETS_ATTACHMENT_MAX_BYTES},
        )
    if size == 0:
        raise errors.AttachmentEmpty()
    if head.startswith(EXECUTABLE_MAGIC) or any(marker in head[:4096].lower() for marker in SCRIPT_MARKERS):
        raise errors.AttachmentExecutable()
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if suffix not in ALLOWED_EXTENSIONS:
        raise errors.AttachmentNotAllowed(details={"allowed": sorted(ALLOWED_EXTENSIONS)})
    expected = EXPECTED_MAGIC.get(suffix)
    if expected and not head.startswith(expected):
        raise errors.AttachmentNotAllowed("The file's content does not match its extension.")
    return name


@transaction.atomic
def ticket_attachment_add(*, ticket: Ticket, actor, upload: UploadedFile, now: datetime | None = None):
    _require_role(actor, ATTACHERS)
    now = _now(now)
    upload.seek(0)
    head = upload.read(8192)
    name = attachment_check(name=upload.name, head=head, size=upload.size or 0)
    ticket = lock_ticket(ticket.pk)
    _require_own_unit(actor, ticket)
    _guard(ticket, "attach")
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    attachment = TicketAttachment(
        ticket=ticket,
        original_name=name,
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_by=actor,
        uploaded_at=now,
    )
    # Stored under a random name: the original name is only shown, never used as a path.
    suffix = name.rsplit(".", 1)[-1].lower()
    attachment.file.save(f"{ticket.pk}-{digest.hexdigest()[:16]}.{suffix}", upload, save=False)
    attachment.save()
    ticket_event_record(
        ticket=ticket,
        action="attach",
        actor=actor,
        after={"attachment": attachment.pk, "name": name, "size": attachment.size},
        at=now,
    )
    return attachment


# --- adjustments ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdjustmentResult:
    adjustment: TicketAdjustment
    created: bool


def ticket_adjustment_post(*, ticket: Ticket, actor, account=None, now: datetime | None = None) -> AdjustmentResult:
    """Post the amount the unit confirmed to an account of the work order's customer, once per work
    order: the ticket row is locked, a second request finds the first adjustment and returns it;
    the ledger transaction carries the key ``ticket-adjustment:<id>`` as a second guard. An amount
    above ``TICKETS_ADJUSTMENT_APPROVAL_FEN`` is not posted but waits for the director
    (``pending_approval``). A work order awaiting its adjustment is closed by the posting."""
    _require_role(actor, ADJUSTERS)
    with transaction.atomic():
        return _adjustment_post(ticket=ticket, actor=actor, account=account, now=_now(now))


def _adjustment_account(ticket: Ticket, account):
    account = account or ticket.account
    if account is None:
        raise errors.UnknownAccount("Choose the customer's account the adjustment goes to.")
    if account.is_internal or account.customer_id != ticket.customer_id:
        raise errors.UnknownAccount("The adjustment goes to an account of the work order's customer.")
    return account


def _adjustment_post(*, ticket: Ticket, actor, account, now: datetime) -> AdjustmentResult:
    ticket = lock_ticket(ticket.pk)
    existing = TicketAdjustment.objects.filter(ticket=ticket).select_related("account", "transaction").first()
    if existing is not None and existing.status in (AdjustmentStatus.POSTED, AdjustmentStatus.PENDING_APPROVAL):
        return AdjustmentResult(existing, created=False)
    _refuse(policy.adjustment_post_refusal(actor, ticket))
    account = _adjustment_account(ticket, account)
    amount = ticket.adjustment_confirmed_fen
    adjustment = existing or TicketAdjustment(ticket=ticket)
    adjustment.account, adjustment.amount_fen = account, amount
    adjustment.requested_by, adjustment.requested_at = actor, now
    adjustment.decided_by, adjustment.decided_at, adjustment.decision_note = None, None, ""
    if policy.needs_director_approval(amount):
        adjustment.status = AdjustmentStatus.PENDING_APPROVAL
        adjustment.save()
        details = {"amount_fen": amount, "account": account.pk}
        ticket_event_record(ticket=ticket, action="adjustment_request", actor=actor, after=details, at=now)
        audit_record(
            actor=actor, action="tickets.adjustment_request", obj=ticket, object_type="ticket", details=details
        )
        return AdjustmentResult(adjustment, created=True)
    _adjustment_book(ticket=ticket, adjustment=adjustment, actor=actor, now=now)
    return AdjustmentResult(adjustment, created=True)


def _adjustment_book(*, ticket: Ticket, adjustment: TicketAdjustment, actor, now: datetime) -> None:
    """Write the posting (on the locked ticket). A ledger refusal (account lost, frozen, closed)
    propagates: the transaction rolls back and the work order stays as it was, still owing."""
    from banking import services as banking

    account, amount = adjustment.account, adjustment.amount_fen
    txn = banking.ledger_post(
        kind="adjustment",
        lines=[(account, amount), (banking.internal_account(settings.TICKETS_ADJUSTMENT_ACCOUNT), -amount)],
        idempotency_key=f"ticket-adjustment:{ticket.pk}",
        channel="agent",
        memo=ADJUSTMENT_MEMO.format(number=ticket.number),
        actor=actor,
        call_id=ticket.call_id,
    )
    adjustment.status, adjustment.transaction = AdjustmentStatus.POSTED, txn
    adjustment.posted_by, adjustment.posted_at = actor, now
    adjustment.save()
    if ticket.account_id is None:
        ticket.account = account
        ticket.save(update_fields=["account", "updated_at"])
    details = {"amount_fen": amount, "account": account.pk, "transaction": txn.pk}
    ticket_event_record(ticket=ticket, action="adjustment", actor=actor, after=details, at=now)
    audit_record(actor=actor, action="tickets.adjustment_post", obj=ticket, object_type="ticket", details=details)
    _close_when_settled(ticket, actor=actor, now=now)


def _close_when_settled(ticket: Ticket, *, actor, now: datetime) -> None:
    """A work order that only waited for its money closes once the money is posted or waived (the
    history's event just before says which)."""
    if ticket.state != State.AWAITING_ADJUSTMENT:
        return
    target = State.CLOSED
    ticket.state, ticket.closed_at, ticket.closed_by = target, now, actor
    sms_id = _close_notice(ticket)
    ticket.save()
    ticket_event_record(
        ticket=ticket,
        action="close",
        actor=actor,
        before={"state": State.AWAITING_ADJUSTMENT},
        after={"state": target, "sms": sms_id},
        at=now,
    )


@transaction.atomic
def ticket_adjustment_decide(
    *, ticket: Ticket, actor, approve: bool, note: str = "", now: datetime | None = None
) -> TicketAdjustment:
    """The director approves (it is posted at once) or rejects (note required; the analyst may ask
    again, or waive) an adjustment above the approval threshold."""
    now = _now(now)
    if not isinstance(approve, bool):
        raise errors.InvalidInput("approve: true or false.")
    note = _text(note, "note", required=not approve)
    ticket = lock_ticket(ticket.pk)
    _refuse(policy.adjustment_decide_refusal(actor, ticket))
    adjustment = TicketAdjustment.objects.select_related("account").get(ticket=ticket)
    adjustment.decided_by, adjustment.decided_at, adjustment.decision_note = actor, now, note
    details = {"amount_fen": adjustment.amount_fen, "account": adjustment.account_id}
    if not approve:
        adjustment.status = AdjustmentStatus.REJECTED
        adjustment.save()
        ticket_event_record(ticket=ticket, action="adjustment_reject", actor=actor, after=details, note=note, at=now)
        audit_record(actor=actor, action="tickets.adjustment_reject", obj=ticket, object_type="ticket", details=details)
        return adjustment
    ticket_event_record(ticket=ticket, action="adjustment_approve", actor=actor, after=details, note=note, at=now)
    audit_record(actor=actor, action="tickets.adjustment_approve", obj=ticket, object_type="ticket", details=details)
    _adjustment_book(ticket=ticket, adjustment=adjustment, actor=actor, now=now)
    return adjustment


@transaction.atomic
def ticket_adjustment_waive(*, ticket: Ticket, actor, reason: str, now: datetime | None = None) -> Ticket:
    """The analyst or director decides the confirmed amount is not to be posted (paid another way,
    confirmed in error...), with a reason. A work order awaiting its adjustment is closed."""
    now = _now(now)
    reason = _text(reason, "reason")
    ticket = lock_ticket(ticket.pk)
    _refuse(policy.adjustment_waive_refusal(actor, ticket))
    ticket.adjustment_waived_at, ticket.adjustment_waived_by = now, actor
    ticket.adjustment_waiver_reason = reason
    ticket.save(
        update_fields=["adjustment_waived_at", "adjustment_waived_by", "adjustment_waiver_reason", "updated_at"]
    )
    details = {"amount_fen": ticket.adjustment_confirmed_fen}
    ticket_event_record(ticket=ticket, action="adjustment_waive", actor=actor, after=details, note=reason, at=now)
    audit_record(
        actor=actor,
        action="tickets.adjustment_waive",
        obj=ticket,
        object_type="ticket",
        details={**details, "reason": reason[:500]},
    )
    _close_when_settled(ticket, actor=actor, now=now)
    return ticket


# --- escalation ----------------------------------------------------------------------------------------


def _usernames(users) -> list[str]:
    return sorted({user.get_username() for user in users if user is not None})


def _escalate(ticket: Ticket, kind: str, recipients: list[str], now: datetime) -> bool:
    """Record one escalation; ``False`` when this breach was already escalated (also under a race:
    the unique constraint decides)."""
    try:
        with transaction.atomic():
            TicketEscalation.objects.create(
                ticket=ticket, kind=kind, due_at=ticket.due_at, recipients=recipients, created_at=now
            )
            ticket_event_record(
                ticket=ticket, action=f"escalation_{kind}", after={"due_at": ticket.due_at, "to": recipients}, at=now
            )
    except IntegrityError:
        return False
    logger.info("work order %s: %s sent to %s", ticket.pk, kind, ", ".join(recipients) or "-")
    return True


def _not_escalated(kind: str) -> Exists:
    return ~Exists(TicketEscalation.objects.filter(ticket=OuterRef("pk"), kind=kind, due_at=OuterRef("due_at")))


def tickets_escalate(*, now: datetime | None = None) -> dict[str, int]:
    """Reminders before the due time (to the unit's staff) and escalations after it (to the unit's
    head and the director), each once per deadline. Paused work orders are skipped."""
    now = _now(now)
    User = get_user_model()
    directors = _usernames(User.objects.filter(profile__role=Role.DIRECTOR, is_active=True))
    staff_by_unit: dict[int, list[str]] = {}
    for username, unit_id in User.objects.filter(profile__role=Role.UNIT_STAFF, is_active=True).values_list(
        "username", "profile__unit_id"
    ):
        staff_by_unit.setdefault(unit_id, []).append(username)
    working = Ticket.objects.filter(state__in=sorted(WORKING_STATES), paused_at__isnull=True).select_related(
        "unit__head"
    )
    counts = {EscalationKind.REMINDER: 0, EscalationKind.OVERDUE_HEAD: 0, EscalationKind.OVERDUE_DIRECTOR: 0}
    window = timedelta(hours=settings.TICKETS_REMIND_BEFORE_HOURS)
    for ticket in working.filter(due_at__gt=now, due_at__lte=now + window).filter(_not_escalated("reminder")):
        counts[EscalationKind.REMINDER] += _escalate(
            ticket, EscalationKind.REMINDER, sorted(staff_by_unit.get(ticket.unit_id, [])), now
        )
    overdue = working.filter(due_at__lte=now)
    for ticket in overdue.filter(_not_escalated(EscalationKind.OVERDUE_HEAD)):
        counts[EscalationKind.OVERDUE_HEAD] += _escalate(
            ticket, EscalationKind.OVERDUE_HEAD, _usernames([ticket.unit.head]), now
        )
    for ticket in overdue.filter(_not_escalated(EscalationKind.OVERDUE_DIRECTOR)):
        counts[EscalationKind.OVERDUE_DIRECTOR] += _escalate(ticket, EscalationKind.OVERDUE_DIRECTOR, directors, now)
    return {str(kind): count for kind, count in counts.items()}


# --- the calendar --------------------------------------------------------------------------------------


@transaction.atomic
def calendar_sync_from_package(*, actor=None, years: list[int] | None = None) -> int:
    """Load the ``chinese_calendar`` package's schedule for the years it knows. Years the maintainer
    has edited are left alone. Returns the number of days created or changed."""
    changed = 0
    for year in years or package_years():
        row = CalendarYear.objects.filter(year=year).first()
        if row is not None and row.source == CalendarSource.MAINTAINER:
            continue
        wanted = {day: (working, name) for day, working, name in package_days(year)}
        existing = {day.date: day for day in CalendarDay.objects.filter(date__year=year)}
        for day, current in existing.items():
            if day not in wanted:
                current.delete()
                changed += 1
        for day, (working, name) in wanted.items():
            current = existing.get(day)
            if current is None:
                CalendarDay.objects.create(date=day, is_working_day=working, name=name, source=CalendarSource.PACKAGE)
                changed += 1
            elif (current.is_working_day, current.name) != (working, name):
                current.is_working_day, current.name = working, name
                current.save(update_fields=["is_working_day", "name"])
                changed += 1
        CalendarYear.objects.update_or_create(
            year=year,
            defaults={"complete": True, "source": CalendarSource.PACKAGE, "updated_at": timezone.now(), "note": ""},
        )
    if changed and actor is not None:
        audit_record(actor=actor, action="tickets.calendar_sync", object_type="calendar", details={"changed": changed})
    return changed


def _maintainer_year(year: int, actor) -> CalendarYear:
    row, _created = CalendarYear.objects.get_or_create(
        year=year, defaults={"source": CalendarSource.MAINTAINER, "complete": False}
    )
    row.source, row.updated_at, row.updated_by = CalendarSource.MAINTAINER, timezone.now(), actor
    row.save(update_fields=["source", "updated_at", "updated_by"])
    return row


@transaction.atomic
def calendar_day_set(*, actor, day: date, is_working_day: bool, name: str = "", now: datetime | None = None) -> int:
    """Make ``day`` a rest day or a working day (the maintainer). A setting equal to the
    Monday–Friday default removes the exception. Returns how many open deadlines moved."""
    _require_role(actor, CALENDAR_EDITORS)
    if not isinstance(day, date) or not 2000 <= day.year <= 2100:
        raise errors.CalendarDayInvalid()
    name = str(name or "").strip()[:60]
    _maintainer_year(day.year, actor)
    default = day.weekday() < 5
    if is_working_day == default and not name:
        CalendarDay.objects.filter(date=day).delete()
    else:
        CalendarDay.objects.update_or_create(
            date=day, defaults={"is_working_day": is_working_day, "name": name, "source": CalendarSource.MAINTAINER}
        )
    audit_record(
        actor=actor,
        action="tickets.calendar_day_set",
        object_type="calendar_day",
        object_id=day.isoformat(),
        details={"working": is_working_day, "name": name},
    )
    return tickets_due_recompute(actor=actor, affected=day, now=now)


@transaction.atomic
def calendar_year_set_complete(*, actor, year: int, complete: bool, now: datetime | None = None) -> int:
    """Declare a year's schedule complete (deadlines then use it) or not. Returns how many open
    deadlines moved."""
    _require_role(actor, CALENDAR_EDITORS)
    if not 2000 <= int(year) <= 2100:
        raise errors.CalendarDayInvalid("Unknown year.")
    row = _maintainer_year(int(year), actor)
    row.complete = bool(complete)
    row.save(update_fields=["complete"])
    audit_record(
        actor=actor,
        action="tickets.calendar_year",
        object_type="calendar_year",
        object_id=year,
        details={"complete": complete},
    )
    return tickets_due_recompute(actor=actor, year=int(year), now=now)


def tickets_due_recompute(*, actor=None, affected: date | None = None, year: int | None = None, now=None) -> int:
    """Recompute the due time of working work orders the calendar change can touch: those whose
    period (receipt day to due day) contains ``affected`` or meets ``year``, and those estimated."""
    now = _now(now)
    queryset = Ticket.objects.filter(state__in=sorted(WORKING_STATES))
    touched = Q(due_estimated=True)
    if affected is not None:
        touched |= Q(received_at__lt=end_of_day(affected), due_at__gte=end_of_day(affected) - timedelta(days=1))
    if year is not None:
        touched |= Q(received_at__lt=end_of_day(date(year, 12, 31)), due_at__gte=end_of_day(date(year, 1, 1)))
    moved = 0
    calendar = WorkingCalendar()
    for ticket_id in queryset.filter(touched).values_list("pk", flat=True):
        ticket = lock_ticket(ticket_id)
        deadline = _deadline(ticket, calendar)
        if (deadline.due_at, deadline.estimated) == (ticket.due_at, ticket.due_estimated):
            continue
        before = snapshot(ticket, ["due_at", "due_estimated"])
        ticket.due_at, ticket.due_estimated = deadline.due_at, deadline.estimated
        ticket.save(update_fields=["due_at", "due_estimated", "updated_at"])
        ticket_event_record(
            ticket=ticket,
            action="due_recompute",
            actor=actor,
            before=before,
            after=snapshot(ticket, ["due_at", "due_estimated"]),
            note="calendar changed",
            at=now,
        )
        moved += 1
    return moved
