"""Reads of the notifications app: the maintainer's SMS page (``notifications.views``) — the outbox
search, one message with its history, the dead letters and the gateway's health.

Every read is one query and each one walks an index: the outbox's ``(status, created_at)`` and
``(phone, created_at)``, the events' ``(message, at)`` and their primary key (events are appended
in time order, so "the latest" and "the last hour" are the end of the primary key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from .models import SmsEvent, SmsOutbox

Status = SmsOutbox.Status

# An event that says a send went wrong: a temporary error put the row back for a retry
# (``delivery.send_claimed``: status pending, detail "retry: …") or the row failed.
ERROR_EVENTS = Q(status=Status.FAILED) | Q(status=Status.PENDING, detail__startswith="retry")


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def sms_search(
    *,
    phone: str = "",
    kind: str = "",
    status: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[SmsOutbox]:
    """The outbox, newest first: one phone (the number as stored), kind, status, local dates
    (both inclusive)."""
    rows = SmsOutbox.objects.all()
    if phone:
        rows = rows.filter(phone=phone)
    if kind:
        rows = rows.filter(kind=kind)
    if status:
        rows = rows.filter(status=status)
    if date_from:
        rows = rows.filter(created_at__gte=_local_midnight(date_from))
    if date_to:
        rows = rows.filter(created_at__lt=_local_midnight(date_to + timedelta(days=1)))
    return rows.order_by("-created_at", "-id")


def sms_dead_letters() -> QuerySet[SmsOutbox]:
    """The failed messages, oldest first: the maintainer requeues or cancels each."""
    return SmsOutbox.objects.filter(status=Status.FAILED).order_by("created_at", "id")


def sms_get(pk: int) -> SmsOutbox | None:
    return SmsOutbox.objects.filter(pk=pk).first()


def sms_history(message: SmsOutbox) -> QuerySet[SmsEvent]:
    """Every move of one message, oldest first, with who made it (the maintainer's requeue or
    cancel; delivery's own moves have no actor)."""
    return SmsEvent.objects.filter(message=message).select_related("actor").order_by("at", "pk")


@dataclass(frozen=True)
class QueueDepth:
    pending: int
    sending: int
    failed: int
    oldest_pending_at: datetime | None


def sms_queue_depth() -> QueueDepth:
    """Rows waiting (``pending``, retries not yet due included), being sent, and dead letters;
    the oldest pending row's time. One query on the ``(status, created_at)`` index."""
    figures = SmsOutbox.objects.filter(status__in=[Status.PENDING, Status.SENDING, Status.FAILED]).aggregate(
        pending=Count("pk", filter=Q(status=Status.PENDING)),
        sending=Count("pk", filter=Q(status=Status.SENDING)),
        failed=Count("pk", filter=Q(status=Status.FAILED)),
        oldest_pending_at=Min("created_at", filter=Q(status=Status.PENDING)),
    )
    return QueueDepth(**figures)


def sms_last_success() -> datetime | None:
    """When the gateway last took a message (``sent_at`` of the message of the latest ``sent``
    event): read backwards along the events' primary key, it stops at the first one."""
    return (
        SmsEvent.objects.filter(status=Status.SENT).order_by("-pk").values_list("message__sent_at", flat=True).first()
    )


def sms_errors_since(since: datetime) -> int:
    """Retries and failures recorded since ``since`` (the ``at`` index)."""
    return SmsEvent.objects.filter(at__gte=since).filter(ERROR_EVENTS).count()


@dataclass(frozen=True)
class GatewayHealth:
    gateway: str
    last_success_at: datetime | None
    errors_last_hour: int
    queue: QueueDepth
    now: datetime

    @property
    def last_success_age(self) -> timedelta | None:
        return self.now - self.last_success_at if self.last_success_at else None

    @property
    def oldest_pending_age(self) -> timedelta | None:
        at = self.queue.oldest_pending_at
        return self.now - at if at else None


def sms_gateway_health(*, now: datetime | None = None) -> GatewayHealth:
    """The configured gateway, its last success, errors in the last hour, the queue (3 queries)."""
    now = now or timezone.now()
    return GatewayHealth(
        gateway=settings.SMS_GATEWAY,
        last_success_at=sms_last_success(),
        errors_last_hour=sms_errors_since(now - timedelta(hours=1)),
        queue=sms_queue_depth(),
        now=now,
    )
