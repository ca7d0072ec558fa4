"""Thin Celery tasks of the recordings (scheduled in ``CELERY_BEAT_SCHEDULE``):

* ``recordings.verify`` nightly: the integrity check (``integrity.verify``), an ``IntegrityCheck``
  row the maintainer's health page shows;
* ``recordings.purge`` nightly: the retention job (``retention.purge_expired``).
"""

from __future__ import annotations

from celery import shared_task

from . import integrity, retention


@shared_task(name="recordings.verify", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300, ignore_result=True)
def verify() -> dict[str, object]:
    check = integrity.verify(trigger="nightly")
    return {"check": check.pk, "ok": check.ok, "rows": check.rows, "files": check.files, "mb_per_s": check.mb_per_s}


@shared_task(name="recordings.purge", soft_time_limit=3600, time_limit=3900, ignore_result=True)
def purge() -> dict[str, int]:
    result = retention.purge_expired()
    return {"purged": result.purged, "kept": result.kept_open, "failed": result.failed}
