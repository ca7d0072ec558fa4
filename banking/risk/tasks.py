"""Risk monitoring's periodic work (Celery beat, ``CELERY_BEAT_SCHEDULE``): a thin wrapper."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="risk.evaluate", soft_time_limit=60, time_limit=90)
def risk_evaluate() -> dict[str, int]:
    """Run the risk rules over the events since the last run (every few seconds; two workers at
    once share the sources out, nothing is evaluated twice)."""
    done = services.risk_evaluate()
    if any(done.values()):
        logger.info("risk rules evaluated: %s", done)
    return done
