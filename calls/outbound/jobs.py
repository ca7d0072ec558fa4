"""Starting a list import or a segment build: the job row, then its task queued on commit (the
Celery tasks in ``tasks`` run ``imports.run_import`` / ``segments.run_segment``; those modules never
queue anything themselves, so no module imports round a circle)."""

from __future__ import annotations

import os
import uuid
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from django.db import transaction

from audit.services import audit_record

from . import errors
from .imports import CHUNK_BYTES, import_dir
from .models import Campaign, CampaignStatus, ContactSource, ImportJob
from .segments import FEN_PER_YUAN, MAX_SEGMENT
from .tasks import build_segment, import_list

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def import_start(*, campaign: Campaign, upload: IO[bytes], file_name: str, actor: User | None) -> ImportJob:
    """Store ``upload`` and queue its import. Returns the job (status running)."""
    if campaign.status == CampaignStatus.FINISHED:
        raise errors.CampaignState("A finished campaign takes no more contacts.")
    suffix = ".xlsx" if file_name.lower().endswith(".xlsx") else ".csv"
    target = import_dir() / f"{uuid.uuid4().hex}{suffix}"
    size = 0
    with open(target, "wb") as out:
        chunks = upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(CHUNK_BYTES), b"")
        for chunk in chunks:
            size += len(chunk)
            out.write(chunk)
    if size == 0:
        target.unlink(missing_ok=True)
        raise errors.InvalidFile("The file is empty.", code="empty_file")
    with transaction.atomic():
        job = ImportJob.objects.create(
            campaign=campaign,
            source=ContactSource.IMPORT,
            file_name=os.path.basename(file_name)[:200],
            stored_path=str(target),
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="outbound.import_start",
            obj=job,
            details={"campaign": campaign.code, "file": job.file_name, "bytes": size},
        )
        transaction.on_commit(lambda: import_list.delay(job.pk))
    return job


def segment_build(
    *,
    campaign: Campaign,
    min_balance: Decimal,
    sms_notice: bool | None = True,
    limit: int | None = None,
    actor: User | None,
) -> ImportJob:
    """Queue the build of ``campaign``'s list from the ``card_balance_sms`` segment (balance in
    yuan, at most 2 decimals)."""
    if campaign.status == CampaignStatus.FINISHED:
        raise errors.CampaignState("A finished campaign takes no more contacts.")
    fen = min_balance * FEN_PER_YUAN
    if fen != fen.to_integral_value() or fen < 0:
        raise errors.CampaignInvalid("The balance must be yuan with at most 2 decimals.", code="invalid_amount")
    params: dict[str, Any] = {
        "segment": "card_balance_sms",
        "min_balance_fen": int(fen),
        "sms_notice": sms_notice,
        "limit": min(limit or MAX_SEGMENT, MAX_SEGMENT),
    }
    with transaction.atomic():
        job = ImportJob.objects.create(campaign=campaign, source=ContactSource.SEGMENT, params=params, created_by=actor)
        audit_record(
            actor=actor, action="outbound.segment_build", obj=job, details={"campaign": campaign.code, **params}
        )
        transaction.on_commit(lambda: build_segment.delay(job.pk))
    return job
