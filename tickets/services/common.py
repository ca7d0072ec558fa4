"""Helpers the work-order services share: the present moment, text fields, the deadline of a
work order as it stands, refusals raised, and the service SMS to the customer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from .. import errors
from ..calendar import WorkingCalendar
from ..deadlines import Deadline, due_for
from ..models import Ticket

if TYPE_CHECKING:
    from core.errors import DomainError

TEXT_MAX = 4000


def resolve_now(now: datetime | None) -> datetime:
    return now or timezone.now()


def clean_text(value: Any, field: str, *, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise errors.InvalidInput(f"{field}: this field is required.")
    if len(text) > TEXT_MAX:
        raise errors.InvalidInput(f"{field}: at most {TEXT_MAX} characters.")
    return text


def deadline_of(ticket: Ticket, calendar: WorkingCalendar | None = None, *, extra_days: int | None = None) -> Deadline:
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


def sms_customer(ticket: Ticket, key: str, **values: str) -> int | None:
    """Queue the service SMS ``key`` (``tickets.sms_texts``) to the ticket's customer in this
    transaction — the linked customer's mobile, else the caller's number when it is a mobile;
    ``None`` when there is nobody to tell. The signature, the day received and the work order's
    number are filled in here; ``values`` the rest."""
    phone = ticket.contact_phone
    if not _is_mobile(phone):
        return None
    from banking.sms_texts import signature
    from notifications import texts

    common = {"signature": signature(), "received": month_day(ticket.received_at), "ticket_number": ticket.number}
    return texts.enqueue(key=key, phone=phone, values={**common, **values}).pk


def refuse(refusal: DomainError | None) -> None:
    if refusal is not None:
        raise refusal


def month_day(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.month}月{local.day}日"
