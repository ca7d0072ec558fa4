"""Reads of the recordings: the search (API and page), one recording, its audit trail.

Every read goes through ``access.visible``: a recording the user may not hear does not exist
for them (``RecordingNotFound``, 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound

from ..models import Recording
from . import access


class RecordingNotFound(NotFound):
    code = "recording_not_found"
    default_message = _("No such recording.")


@dataclass(frozen=True)
class RecordingFilter:
    call_id: str = ""
    date_from: date | None = None  # local dates (Asia/Shanghai), inclusive
    date_to: date | None = None
    agent: str = ""  # username
    ani: str = ""  # digits of the caller number
    customer: int | None = None
    queue: str = ""  # the queue code the call was served in (else its last queue)
    disposition: str = ""
    has_ticket: bool | None = None  # a contact or work order recorded for the call (that the user sees)
    include_purged: bool = True


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def _ticket_calls(user: Any) -> QuerySet:
    from tickets.selectors import ticket_list

    return ticket_list(user=user).exclude(call_id="").order_by().values("call_id")


def recordings_for(user: Any, filters: RecordingFilter | None = None) -> QuerySet[Recording]:
    """The recordings ``user`` may hear, filtered, newest first; call, queue and agent joined."""
    filters = filters or RecordingFilter()
    rows = access.visible(user)
    if filters.call_id:
        rows = rows.filter(call__call_id=filters.call_id)
    if filters.date_from:
        rows = rows.filter(started_at__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        rows = rows.filter(started_at__lt=_local_midnight(filters.date_to + timedelta(days=1)))
    if filters.agent:
        rows = rows.filter(agent__username=filters.agent)
    if filters.ani:
        digits = "".join(ch for ch in filters.ani if ch.isascii() and ch.isdigit())
        if digits:
            # The ANI is kept as the switch sent it: its digits match whatever separates them.
            rows = rows.filter(call__ani__regex="[^0-9]{0,3}".join(digits))
    if filters.customer is not None:
        rows = rows.filter(customer_id=filters.customer)
    if filters.queue:
        rows = rows.filter(
            Q(call__service_queue__code=filters.queue)
            | Q(call__service_queue__isnull=True, call__queue__code=filters.queue)
        )
    if filters.disposition:
        rows = rows.filter(call__disposition=filters.disposition)
    if filters.has_ticket is True:
        rows = rows.filter(call__call_id__in=_ticket_calls(user))
    elif filters.has_ticket is False:
        rows = rows.exclude(call__call_id__in=_ticket_calls(user))
    if not filters.include_purged:
        rows = rows.filter(purged_at__isnull=True)
    return rows.select_related("call", "call__service_queue", "call__queue", "agent").order_by("-started_at", "-pk")


def recording_get(*, user: Any, recording_id: int) -> Recording:
    """One recording ``user`` may hear, else ``RecordingNotFound``."""
    recording = access.visible(user, Recording.objects.select_related("call", "agent")).filter(pk=recording_id).first()
    if recording is None:
        raise RecordingNotFound()
    return recording


def recordings_of_call(*, user: Any, call_id: str) -> list[Recording]:
    """A call's recordings the user may hear (the call's page, a work order, a QA form)."""
    return list(recordings_for(user, RecordingFilter(call_id=call_id)))


def recording_audit(recording: Recording) -> QuerySet:
    """Playbacks, downloads, holds and the purge of a recording, newest first (its page)."""
    from audit.selectors import audit_event_list

    return audit_event_list(filters={"object_type": "recording", "object_id": str(recording.pk)}).order_by(
        "-created_at", "-pk"
    )
