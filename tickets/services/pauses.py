"""Pauses: waiting for an outside appraisal stops the clock; the paused days are not counted and
the due time moves when the pause ends."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction

from .. import policy
from ..calendar import WorkingCalendar
from ..deadlines import paused_days_for
from ..events import snapshot, ticket_event_record
from ..locks import lock_ticket
from ..models import Ticket, TicketPause
from .common import clean_text, deadline_of, refuse, resolve_now

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def end_pause(ticket: Ticket, *, actor: User, now: datetime, calendar: WorkingCalendar | None = None) -> None:
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
    deadline = deadline_of(ticket, calendar)
    ticket.due_at, ticket.due_estimated = deadline.due_at, deadline.estimated
    ticket_event_record(
        ticket=ticket,
        action="resume",
        actor=actor,
        before=before,
        after=snapshot(ticket, ["paused_at", "paused_days", "due_at", "due_estimated"]),
        at=now,
    )


@transaction.atomic
def ticket_pause(*, ticket: Ticket, actor: User, reason: str, now: datetime | None = None) -> Ticket:
    """Waiting for an outside appraisal: the clock stops until ``ticket_resume``."""
    refuse(policy.role_refusal(actor, policy.PAUSERS))
    now = resolve_now(now)
    reason = clean_text(reason, "reason")
    ticket = lock_ticket(ticket.pk)
    refuse(policy.pause_refusal(actor, ticket))
    TicketPause.objects.create(ticket=ticket, reason=reason, started_at=now, started_by=actor)
    ticket.paused_at = now
    ticket.save(update_fields=["paused_at", "updated_at"])
    ticket_event_record(ticket=ticket, action="pause", actor=actor, after={"paused_at": now}, note=reason, at=now)
    return ticket


@transaction.atomic
def ticket_resume(*, ticket: Ticket, actor: User, now: datetime | None = None) -> Ticket:
    refuse(policy.role_refusal(actor, policy.PAUSERS))
    now = resolve_now(now)
    ticket = lock_ticket(ticket.pk)
    refuse(policy.resume_refusal(actor, ticket))
    end_pause(ticket, actor=actor, now=now)
    ticket.save()
    return ticket
