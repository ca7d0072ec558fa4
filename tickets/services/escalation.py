"""Reminders before a work order's due time and escalations after it, each once per deadline; each
also by SMS to the recipients with a mobile number in their profile (``tickets.staff_sms``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.expressions import Combinable

from org.roles import Role
from org.selectors import staff_mobiles

from ..events import ticket_event_record
from ..models import WORKING_STATES, EscalationKind, Ticket, TicketEscalation
from ..staff_sms import escalation_enqueue, escalation_text
from .common import resolve_now

logger = logging.getLogger(__name__)


def _usernames(users: Iterable[AbstractBaseUser | None]) -> list[str]:
    return sorted({user.get_username() for user in users if user is not None})


def _escalate(ticket: Ticket, kind: str, recipients: list[str], now: datetime) -> bool:
    """Record one escalation and queue its SMS to the recipients with a mobile, in one transaction;
    ``False`` when this breach was already escalated (also under a race: the unique constraint
    decides, and the loser's SMS roll back with its row)."""
    try:
        with transaction.atomic():
            TicketEscalation.objects.create(
                ticket=ticket, kind=kind, due_at=cast(datetime, ticket.due_at), recipients=recipients, created_at=now
            )
            texted = _text(ticket, kind, recipients, now)
            ticket_event_record(
                ticket=ticket,
                action=f"escalation_{kind}",
                after={"due_at": ticket.due_at, "to": recipients, "sms_to": texted},
                at=now,
            )
    except IntegrityError:
        return False
    logger.info(
        "work order %s: %s sent to %s (SMS to %s)",
        ticket.pk,
        kind,
        ", ".join(recipients) or "-",
        ", ".join(texted) or "-",
    )
    return True


def _text(ticket: Ticket, kind: str, recipients: list[str], now: datetime) -> list[str]:
    """Queue the staff notice to each recipient's mobile (one SMS per number: two accounts sharing a
    phone get it once); returns the usernames texted."""
    mobiles = staff_mobiles(usernames=recipients)
    if not mobiles:
        return []
    text = escalation_text(ticket, kind)
    queued: set[str] = set()
    for username in sorted(mobiles):
        phone = mobiles[username]
        if phone not in queued:
            escalation_enqueue(ticket, kind, phone=phone, text=text, created_at=now)
            queued.add(phone)
    return sorted(mobiles)


def _not_escalated(kind: str) -> Combinable:
    return ~Exists(TicketEscalation.objects.filter(ticket=OuterRef("pk"), kind=kind, due_at=OuterRef("due_at")))


def tickets_escalate(*, now: datetime | None = None) -> dict[str, int]:
    """Reminders before the due time (to the unit's staff) and escalations after it (to the unit's
    head and the director), each once per deadline. Paused work orders are skipped."""
    now = resolve_now(now)
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
