"""Thin Celery tasks of the calls app; the work is in ``dispatch``.

``calls.sweep`` is scheduled every second by ``CELERY_BEAT_SCHEDULE`` (settings; beat writes
it into django-celery-beat's tables at start). Overlapping runs are harmless: each step re-checks its rows under
their locks, and ``sweep_if_due`` runs at most one sweep per second across processes.
"""

from celery import shared_task

from . import dispatch


@shared_task(name="calls.sweep", soft_time_limit=20, time_limit=30, ignore_result=True)
def sweep() -> dict[str, int] | None:
    return dispatch.sweep_if_due()
