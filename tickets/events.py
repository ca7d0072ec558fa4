"""The work-order history: one append-only ``TicketEvent`` per change (who, when, before/after)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Model
from django.utils import timezone

from org.scoping import user_role

from .models import Ticket, TicketEvent


def _plain(value: Any) -> Any:
    """JSON-safe form of a field value (times as ISO 8601 with offset, model instances by key)."""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, Model):
        return getattr(value, "code", None) or value.pk
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def snapshot(ticket: Ticket, fields: list[str]) -> dict[str, Any]:
    out = {}
    for name in fields:
        if name == "unit":
            out[name] = ticket.unit.code if ticket.unit is not None else None
        else:
            out[name] = _plain(getattr(ticket, name))
    return out


def ticket_event_record(
    *,
    ticket: Ticket,
    action: str,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
    at: datetime | None = None,
) -> TicketEvent:
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return TicketEvent.objects.create(
        ticket=ticket,
        action=action,
        actor=actor if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        actor_role=(user_role(actor) or "") if authenticated else "",
        before={key: _plain(value) for key, value in (before or {}).items()},
        after={key: _plain(value) for key, value in (after or {}).items()},
        note=note,
        created_at=at or timezone.now(),
    )
