"""Retention: files older than ``RECORDINGS_RETENTION_DAYS`` are purged; the rows stay.

Kept past the period: a recording on legal hold, one whose call is recorded on a work order or
contact that is not finished (any state but closed / withdrawn), one whose call or customer is
the subject of a risk alert that is not closed. Each purge deletes the file through the storage
API, sets ``purged_at`` and writes an audit event ``recording.purged``. ``purged_at`` is outside
the hash chain: the chain still proves what the file's hash was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.services import audit_record

from ..models import Recording
from . import storage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeResult:
    purged: int
    kept_open: int  # old enough, kept for a hold, an open work order or an open alert
    failed: int


def _open_ticket_calls() -> QuerySet:
    # A read of the work orders' states for a system job (no user, so not ``ticket_list``, which
    # scopes by the asking user): the states are tickets' definition.
    from tickets.models import TERMINAL_STATES, Ticket

    return Ticket.objects.exclude(state__in=sorted(TERMINAL_STATES)).exclude(call_id="").values("call_id")


def _open_alerts() -> Q:
    from banking.risk.selectors import alert_list

    active = alert_list(status="active").order_by()
    return Q(call__call_id__in=active.exclude(call_id="").values("call_id")) | Q(
        customer_id__in=active.filter(customer__isnull=False).values("customer_id")
    )


def kept_reasons() -> Q:
    """Why an old recording is kept (any of these)."""
    return Q(legal_hold=True) | Q(call__call_id__in=_open_ticket_calls()) | _open_alerts()


def due(now: datetime | None = None) -> QuerySet[Recording]:
    """Recordings whose retention ended and whose files are still stored."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RECORDINGS_RETENTION_DAYS)
    return Recording.objects.filter(purged_at__isnull=True, started_at__lt=cutoff)


def purge_candidates(now: datetime | None = None) -> QuerySet[Recording]:
    return due(now).exclude(kept_reasons()).order_by("started_at", "pk")


def recording_purge(*, recording_id: int, now: datetime | None = None) -> bool:
    """Purge one recording if it is still due and not kept; True if its file was deleted."""
    now = now or timezone.now()
    with transaction.atomic():
        recording = Recording.objects.select_for_update().filter(pk=recording_id).first()
        if recording is None or not purge_candidates(now).filter(pk=recording_id).exists():
            return False
        recording.purged_at = now
        recording.save(update_fields=["purged_at"])
        audit_record(
            actor=None,
            action="recording.purged",
            object_type="recording",
            object_id=recording.pk,
            details={
                "name": recording.storage_name,
                "started_at": recording.started_at.isoformat(),
                "retention_days": settings.RECORDINGS_RETENTION_DAYS,
            },
        )
        # After the commit: a file deleted for a row that then did not commit would be "missing";
        # a delete that fails after it leaves a file the integrity check lists as still present.
        name = recording.storage_name
        transaction.on_commit(lambda: storage.delete(name))
    return True


def purge_expired(*, now: datetime | None = None, limit: int = 10_000) -> PurgeResult:
    """The retention job: purge what is due and not kept (at most ``limit`` per run)."""
    now = now or timezone.now()
    purged = failed = 0
    for pk in list(purge_candidates(now).values_list("pk", flat=True)[:limit]):
        try:
            purged += recording_purge(recording_id=pk, now=now)
        except Exception:  # one failure must not stop the job; it is logged and counted
            failed += 1
            logger.exception("recordings: purging %s failed", pk)
    kept = due(now).filter(kept_reasons()).count()
    return PurgeResult(purged=purged, kept_open=kept, failed=failed)
