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
