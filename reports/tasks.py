"""Thin Celery tasks of the reports app; the work is in ``rollups``.

``reports.refresh`` is scheduled by ``rollups.mark_dirty`` a few seconds after an interval
becomes dirty (coalesced: one task per interval that became dirty), and every minute by beat
(agent states and the IVR change with time). ``reports.sweep`` (beat, every 10 minutes) is the
safety net for marks lost with a killed process.
"""

from celery import shared_task

from . import rollups


@shared_task(name="reports.refresh", soft_time_limit=120, time_limit=150, ignore_result=True)
def refresh() -> dict[str, int]:
    return rollups.refresh()


@shared_task(name="reports.sweep", soft_time_limit=120, time_limit=150, ignore_result=True)
def sweep() -> int:
    return rollups.sweep_recent(minutes=15)
