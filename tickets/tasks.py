"""Thin Celery tasks of the tickets app; the work is in ``services``.

``tickets.escalate`` is scheduled every 15 minutes by ``CELERY_BEAT_SCHEDULE`` (settings; beat
writes it into django-celery-beat's tables at start, resetting its timing — a maintainer's
"disabled" under "Scheduled tasks" in the admin stays). Running it twice, or on two
workers at once, sends nothing twice: each escalation is unique per (work order, kind, due time).
"""

from celery import shared_task

from .services.escalation import tickets_escalate


@shared_task(name="tickets.escalate", soft_time_limit=240, time_limit=300, acks_late=True)
def escalate() -> dict[str, int]:
    return tickets_escalate()
