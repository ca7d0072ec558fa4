"""Reads of the SMS outbox for other apps (the agent's screen-pop: the SMS sent to the caller).

Plain dicts, not model instances, so a caller never reaches into the outbox's table. A text never
holds a full card or account number: ``sms_enqueue`` (and its PostgreSQL twin) refuse one, so the
text is shown as it was sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from .models import SmsOutbox


def recent_for_phones(phones: Iterable[str], *, limit: int = 5) -> list[dict[str, Any]]:
    """The latest ``limit`` messages to any of ``phones`` (newest first), in one query on the
    ``(phone, created_at)`` index: ``[{"id", "created_at", "kind", "kind_label", "status",
    "status_label", "text"}]`` — labels in the active language. No phone: no query, ``[]``."""
    numbers = sorted({str(phone).strip() for phone in phones if phone and str(phone).strip()})
    if not numbers or limit <= 0:
        return []

    def latest(queryset: QuerySet[SmsOutbox]) -> QuerySet[SmsOutbox]:
        # By time alone: the (phone, created_at) index gives exactly that order (a tie-break on
        # the id would need a sort and let the planner walk the time index instead).
        return queryset.order_by("-created_at").only("id", "kind", "status", "text", "created_at")

    if len(numbers) == 1:
        rows: QuerySet[SmsOutbox] = latest(SmsOutbox.objects.filter(phone=numbers[0]))[:limit]
    elif connection.features.supports_slicing_ordering_in_compound:
        # One backward range scan of the index per phone, merged (an IN list would let the planner
        # walk a busy phone's rows or the time index instead): still one statement.
        first, *others = [latest(SmsOutbox.objects.filter(phone=number))[:limit] for number in numbers]
        rows = first.union(*others, all=True).order_by("-created_at")[:limit]
    else:  # SQLite (the embedded default): small tables
        rows = latest(SmsOutbox.objects.filter(phone__in=numbers))[:limit]
    return [
        {
            "id": row.pk,
            "created_at": row.created_at.isoformat(),
            "kind": row.kind,
            "kind_label": str(row.get_kind_display()),
            "status": row.status,
            "status_label": str(row.get_status_display()),
            "text": row.text,
        }
        for row in rows
    ]
