"""Thin Celery tasks of the tickets app; the work is in ``services``.

``tickets.escalate`` is scheduled by django-celery-beat (migration ``0004_escalation_schedule``:
every 15 minutes, editable under "Scheduled tasks" in the admin). Running it twice, or on two
workers at once, sends nothing twice: each escalation is unique per (work order, kind, due time).
"""

from celery import shared_task

from . import services


@shared_task(name="tickets.escalate", soft_time_limit=240, time_limit=300, acks_late=True)
def escalate() -> dict[str, int]:
    return services.tickets_escalate()
