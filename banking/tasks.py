"""Periodic banking work (Celery beat, see ``CELERY_BEAT_SCHEDULE``): thin wrappers over services."""

import logging

from celery import shared_task

from .services import loss_reports

logger = logging.getLogger(__name__)


@shared_task(name="banking.loss_reports_expire", soft_time_limit=120, time_limit=150)
def loss_reports_expire() -> int:
    """Mark verbal loss reports past their validity expired (the account stays blocked)."""
    expired = loss_reports.loss_reports_expire()
    if expired:
        logger.info("verbal loss reports expired: %d", expired)
    return expired


@shared_task(name="banking.loss_report_reminders_send", soft_time_limit=120, time_limit=150)
def loss_report_reminders_send() -> int:
    """SMS reminders to customers whose verbal loss report expires soon (outbox rows)."""
    return loss_reports.loss_report_reminders_send()


# --- settlement batches -------------------------------------------------------------------------

# A run longer than this hands over to a fresh task (its chunks are committed: nothing is lost).
BATCH_RUN_SOFT_LIMIT_S = 3300


@shared_task(
    name="banking.batch_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=BATCH_RUN_SOFT_LIMIT_S,
    time_limit=BATCH_RUN_SOFT_LIMIT_S + 300,
    max_retries=20,
)
def batch_run(self, batch_id: int) -> str:
    """Post a running batch's pending items in chunks, pushing progress to its page, then
    reconcile. Takes the id only (no account numbers in task arguments). A killed worker's message
    is redelivered (``acks_late`` + ``reject_on_worker_lost``) and its uncommitted chunk rolled
    back; two of these at once share the items (``SKIP LOCKED``)."""
    from celery.exceptions import SoftTimeLimitExceeded

    from . import realtime
    from .locks import is_retryable
    from .serializers import BatchProgressSerializer
    from .services import batches

    def progress(batch) -> None:
        realtime.push(realtime.batch_group(batch.pk), {"type": "batch.progress", **BatchProgressSerializer(batch).data})

    try:
        batch = batches.batch_run_process(batch_id=batch_id, progress=progress)
    except SoftTimeLimitExceeded:
        raise self.retry(countdown=0) from None
    except Exception as exc:
        if is_retryable(exc):
            raise self.retry(exc=exc, countdown=5) from exc
        raise
    logger.info("batch %s: %s", batch_id, batch.status)
    return batch.status


def batch_run_enqueue(batch_id: int) -> None:
    batch_run.delay(batch_id)


@shared_task(name="banking.pos_prize_batch_from_drop", soft_time_limit=600, time_limit=660)
def pos_prize_batch_from_drop() -> int | None:
    """Beat, hourly: the previous month's POS prize list from the card department's folder becomes
    a batch waiting for the director's approval (once)."""
    from .services import batches

    batch = batches.pos_prize_batch_from_drop()
    return batch.pk if batch is not None else None
