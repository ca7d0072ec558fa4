"""Thin Celery tasks of campaigns and lists (take ids, re-fetch, call the module that works).

``outbound.import_list`` reads an uploaded list (queued on commit by ``jobs.import_start``;
eager in embedded mode). ``outbound.feed_revisits`` is scheduled by ``CELERY_BEAT_SCHEDULE``
(every 10 minutes): closed work orders and open work-order callbacks become contacts of the
running revisit campaigns, idempotently (``feeds``).

Pacing and re-sent commands (h6's dialer) are ``calls.outbound.pacing`` and
``calls.outbound.sweep``, run by ``calls.dispatch.sweep`` (the ``calls.sweep`` task and each
process's ticker), not by a task here.
"""

from celery import shared_task


@shared_task(name="outbound.import_list", soft_time_limit=1800, time_limit=1900, ignore_result=True)
def import_list(job_id: int) -> None:
    from .imports import run_import

    run_import(job_id)


@shared_task(name="outbound.build_segment", soft_time_limit=600, time_limit=660, ignore_result=True)
def build_segment(job_id: int) -> None:
    from .segments import run_segment

    run_segment(job_id)


@shared_task(name="outbound.feed_revisits", soft_time_limit=120, time_limit=150, ignore_result=True)
def feed_revisits() -> dict[str, int]:
    from .feeds import feed_revisit_campaigns

    return feed_revisit_campaigns()
