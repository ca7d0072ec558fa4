"""Reads of settlement batches for the pages and the API (``banking.services.batches`` writes)."""

from __future__ import annotations

from django.db.models import QuerySet

from .batch_errors import BatchNotFound
from .models import Batch, BatchItem


def batch_list() -> QuerySet[Batch]:
    return Batch.objects.select_related("uploaded_by", "decided_by", "corrects").order_by("-uploaded_at", "-id")


def batch_get(*, batch_id: int) -> Batch:
    try:
        return batch_list().get(pk=batch_id)
    except Batch.DoesNotExist:
        raise BatchNotFound() from None


def batch_items(*, batch: Batch, status: str | None = None) -> QuerySet[BatchItem]:
    """The batch's items in file order (``iterator()`` them: a batch may hold a million)."""
    items = BatchItem.objects.filter(batch=batch).order_by("line")
    return items.filter(status=status) if status else items


def batch_problems(*, batch: Batch) -> QuerySet[BatchItem]:
    """The validation report's lines: the items that failed validation, in file order."""
    return batch_items(batch=batch, status=BatchItem.Status.FAILED)
