"""Campaign lists built from customers (issue 19): a segment of the ledger and the profile,
read through ``banking.selectors.customers_in_segment`` (calls never reads banking's tables).

One segment today, ``card_balance_sms``: customers with an active debit card holding at least a
balance, with (or without) 短信通 SMS notices on. The build (queued by ``jobs.segment_build``) runs
as the task ``outbound.build_segment`` on an ``ImportJob`` (source ``segment``, its criteria in
``params``), through the same checks as a file (phone validation, duplicates, the do-not-call list).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record

from .imports import _Importer
from .models import ImportJob

if TYPE_CHECKING:
    pass

SEGMENTS = {"card_balance_sms": _("Card customers with a balance of at least X, SMS notices on or off")}
MAX_SEGMENT = 200_000
FEN_PER_YUAN = 100


def run_segment(job_id: int) -> ImportJob:
    """The task's body: stream the segment's customers into the campaign."""
    from banking.selectors import customers_in_segment

    job = ImportJob.objects.select_related("campaign").get(pk=job_id)
    if job.status != ImportJob.Status.RUNNING:
        return job
    params = job.params
    importer = _Importer(job)
    columns = {"phone": 0, "name": 1, "customer_id": 2}
    try:
        rows = customers_in_segment(
            min_balance_fen=int(params.get("min_balance_fen", 0)),
            sms_notice=params.get("sms_notice"),
            limit=int(params.get("limit") or MAX_SEGMENT),
        )
        for line, (customer_id, name, mobile) in enumerate(rows, start=1):
            importer.row(line, [mobile, name, str(customer_id)], columns, ref=f"customer:{customer_id}")
        importer.flush()
    except Exception:
        importer.save_progress(status=ImportJob.Status.FAILED, error="internal_error", finished_at=timezone.now())
        raise
    importer.save_progress(status=ImportJob.Status.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    audit_record(actor=job.created_by, action="outbound.segment_done", obj=job, details=importer.counts)
    return job
