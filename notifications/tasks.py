"""Thin Celery tasks of notifications; the work is in ``delivery``.

``notifications.deliver`` takes a small batch of outbox ids, scheduled after the commit that
wrote them (``services.sms_enqueue``) and by the sweep. ``acks_late`` with
``reject_on_worker_lost``: a worker killed mid-task gives the message back to the broker, and
the rows it had claimed are reconciled, never resent blindly (``delivery``).
``notifications.sweep`` (beat, every 15 s): due rows no task got, stale ``sending`` rows.
"""

from celery import shared_task
from django.conf import settings

from . import delivery


@shared_task(
    name="notifications.deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
    ignore_result=True,
)
def deliver(ids: list[int]) -> dict[str, int]:
    # Its own rows first, then the oldest others due up to a batch: under load each task takes a
    # batch, and later tasks find their rows sent already.
    return delivery.deliver(ids=ids, limit=max(len(ids), settings.SMS_BATCH), fill=True)


@shared_task(name="notifications.sweep", soft_time_limit=60, time_limit=90, ignore_result=True)
def sweep() -> dict[str, int]:
    return delivery.sweep()
