"""Extensions of a complex case's time limit: stage 1 to 30 days after receipt, stage 2 once more
by 30 days with head-office approval (the director); the customer is told by SMS."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from .. import errors, policy
from ..calendar import WorkingCalendar
from ..deadlines import extension_cap
from ..events import snapshot, ticket_event_record
from ..locks import lock_ticket
from ..models import ExtensionStatus, Ticket, TicketExtension
from ..sms_texts import EXTENSION_SPEC
from .common import clean_text, deadline_of, month_day, refuse, resolve_now, sms_customer

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _check_extension(ticket: Ticket, *, stage: int, days: int, calendar: WorkingCalendar) -> None:
    cap = extension_cap(received_at=ticket.received_at, stage=stage, paused_days=ticket.paused_days, calendar=calendar)
    proposed = deadline_of(ticket, calendar, extra_days=days)
    if proposed.due_date > cap:
        raise errors.ExtensionTooLong(
            f"Stage {stage} may extend the due date to {cap.isoformat()} at the latest.",
            details={"latest_due_date": cap.isoformat(), "stage": stage},
        )


@transaction.atomic
def ticket_extension_request(
    *, ticket: Ticket, actor: User, days: int, reason: str, now: datetime | None = None
) -> TicketExtension:
    """Ask for more time. Stage 1 reaches at most 30 days after receipt, stage 2 at most 30 more.
    A request by someone who may approve its stage is approved at once."""
    refuse(policy.role_refusal(actor, policy.EXTENSION_REQUESTERS))
    now = resolve_now(now)
    reason = clean_text(reason, "reason")
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not 1 <= days <= 2 * settings.TICKETS_EXTENSION_STAGE_DAYS
    ):
        raise errors.InvalidInput("days: a whole number of days, at least 1.")
    ticket = lock_ticket(ticket.pk)
    refuse(policy.extension_request_refusal(actor, ticket))
    stage = len(ticket.extension_days) + 1
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
    if policy.extension_approvable_by(actor, stage):
        _extension_decide(extension=extension, ticket=ticket, actor=actor, approve=True, note="", now=now)
    return extension


@transaction.atomic
def ticket_extension_decide(
    *, extension: TicketExtension, actor: User, approve: bool, note: str = "", now: datetime | None = None
) -> TicketExtension:
    refuse(policy.extension_decider_refusal(actor, extension.stage))
    note = clean_text(note, "note", required=not approve)
    ticket = lock_ticket(extension.ticket_id)
    extension = TicketExtension.objects.get(pk=extension.pk)
    refuse(policy.extension_decide_refusal(actor, ticket, extension, approve=approve))
    return _extension_decide(
        extension=extension, ticket=ticket, actor=actor, approve=approve, note=note, now=resolve_now(now)
    )


def _extension_decide(
    *, extension: TicketExtension, ticket: Ticket, actor: User, approve: bool, note: str, now: datetime
) -> TicketExtension:
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
    calendar = WorkingCalendar()
    _check_extension(ticket, stage=extension.stage, days=extension.days, calendar=calendar)
    fields = ["due_at", "due_estimated", "extension_days"]
    before = snapshot(ticket, fields)
    ticket.extension_days = [*ticket.extension_days, extension.days]
    deadline = deadline_of(ticket, calendar)
    extension.due_before, extension.due_after = ticket.due_at, deadline.due_at
    ticket.due_at, ticket.due_estimated = deadline.due_at, deadline.estimated
    extension.status = ExtensionStatus.APPROVED
    extension.save()
    sms_id = sms_customer(ticket, EXTENSION_SPEC.key, due=month_day(deadline.due_at))
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
