"""Settlement batches (POS prize credits, ATM mis-posting adjustments, refund postings): upload with
a validation report, maker–checker approval, a run in chunks that posts every item exactly once,
and the reconciliation (``docs/banking-batches.md``).

Exactly once, three guards deep: an item is claimed ``FOR UPDATE SKIP LOCKED`` (a second worker
takes other items), its posting and its new state commit in one transaction (a worker killed
mid-chunk rolls both back: the items are pending again for the rerun), and its ledger
transaction carries the idempotency key ``batch-item:<id>`` (unique in the ledger).

Two implementations of a chunk, as for transfers: ``_chunk_post_plain`` posts item by item
through ``ledger_post`` (the ledger's one posting function, also the work orders' adjustments'),
on every database; on PostgreSQL ``banking_batch_post_chunk`` (``banking.batch_sql``) does the
same chunk set-based in one call. ``banking/tests/test_batches.py`` runs both on the same random
batches and compares the rows they write.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record
from core.errors import DomainError, Forbidden

from .. import batch_files, batch_policy, errors, sms_texts
from ..batch_errors import (  # noqa: F401 - the API and the pages catch them from here
    BatchExists,
    BatchNotFound,
    BatchStateConflict,
    EmptyFile,
    FileAlreadyUploaded,
    ReferenceConflict,
    TooManyItems,
)
from ..batch_sql import KEY_PREFIX, MEMO_PREFIXES
from ..locks import lock_accounts, retry_on_conflict
from ..models import Account, Batch, BatchItem, LedgerTransaction
from ..transfer_rules import LOST_STATUSES
from .accounts import internal_account
from .common import Actor, user_or_none
from .ledger import ledger_post

logger = logging.getLogger(__name__)

PERIOD_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}(-[0-9]{2})?")
STAGE_CHUNK = 10_000

# Reasons an item fails, as the validation report and the reconciliation show them. Validation
# adds the file's own (``banking.batch_files``); a run adds the ledger's (``account_lost``,
# ``account_blocked``, ``not_found``) for an account that changed after validation.
ACCOUNT_FROZEN = "account_frozen"
ACCOUNT_CLOSED = "account_closed"
ACCOUNT_LOST = "account_lost"
DUPLICATE_REFERENCE = "duplicate_reference"
REFERENCE_USED = "reference_used"
BATCH_REJECTED = "batch_rejected"
REASONS = {
    batch_files.BAD_ROW: _("Not 3 columns (account, amount, reference)"),
    batch_files.INVALID_AMOUNT: _("Amount not a positive number of yuan with at most 2 decimals"),
    batch_files.MISSING_REFERENCE: _("No reference"),
    batch_files.BAD_REFERENCE: _("Reference longer than 64 characters or not printable"),
    batch_files.UNKNOWN_ACCOUNT: _("Unknown account"),
    ACCOUNT_LOST: _("Account reported lost"),
    ACCOUNT_FROZEN: _("Account frozen"),
    ACCOUNT_CLOSED: _("Account closed"),
    "account_blocked": _("Account frozen or closed"),
    "not_found": _("Account not found"),
    DUPLICATE_REFERENCE: _("Reference repeated in the file"),
    REFERENCE_USED: _("Reference already in an earlier batch"),
    BATCH_REJECTED: _("Batch rejected"),
    "idempotency_conflict": _("Ledger key already used with other lines"),
}


# --- settings -----------------------------------------------------------------------------------


def settlement_account_code() -> str:
    """The internal account on the other side of every batch credit (``INT-SETTLEMENT``)."""
    return getattr(settings, "BANKING_BATCH_SETTLEMENT_ACCOUNT", "SETTLEMENT")


def chunk_size() -> int:
    return int(getattr(settings, "BANKING_BATCH_CHUNK", 5000))


def max_items() -> int:
    return int(getattr(settings, "BANKING_BATCH_MAX_ITEMS", 2_000_000))


def fast_path_available() -> bool:
    return connection.vendor == "postgresql" and bool(getattr(settings, "BANKING_BATCH_FAST_PATH", True))


# --- upload and validation ----------------------------------------------------------------------


def validate_period(period: Any) -> str:
    period = str(period or "").strip()
    if not PERIOD_PATTERN.fullmatch(period):
        raise errors.InvalidInput(_("The period is YYYY-MM, or YYYY-MM-DD for a day's batch."), code="invalid_period")
    try:
        year, month, *day = (int(part) for part in period.split("-"))
        date(year, month, day[0] if day else 1)
    except ValueError:
        raise errors.InvalidInput(_("The period is not a real month or day."), code="invalid_period") from None
    return period


def validate_kind(kind: Any) -> str:
    if kind not in Batch.Kind.values:
        raise errors.InvalidInput(_("The kind is pos_prize, atm_adjustment or refund."), code="invalid_kind")
    return kind


_STAGE_CREATE = (
    "CREATE TEMP TABLE IF NOT EXISTS banking_batch_stage (line integer NOT NULL, number varchar(32) NOT NULL, "
    "masked varchar(40) NOT NULL, amount_fen bigint, reference varchar(64) NOT NULL, reason varchar(32) NOT NULL)"
)
_STAGE_INSERT = (
    "INSERT INTO banking_batch_stage (line, number, masked, amount_fen, reference, reason) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
_STAGE_COPY = "COPY banking_batch_stage (line, number, masked, amount_fen, reference, reason) FROM STDIN"


def _sql_in(values: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


# Every check that needs the database, set-based, in the order the report gives one reason per
# line: the row's own problem, the account (unknown — internal accounts are not batch targets —,
# lost, frozen, closed), the reference repeated earlier in the file, the reference in an earlier
# batch of the kind (pending or posted there). Standard SQL: PostgreSQL and SQLite alike.
_VALIDATE = f"""
INSERT INTO banking_batchitem (batch_id, kind, line, account_id, account_masked, amount_fen, reference, status,
                               reason, transaction_id, posted_at)
SELECT %s, %s, v.line, v.account_id, v.masked, v.amount_fen, v.reference,
       CASE WHEN v.why = '' THEN 'pending' ELSE 'failed' END, v.why, NULL, NULL
  FROM (SELECT s.line, s.masked, s.amount_fen, s.reference, a.id AS account_id,
               CASE WHEN s.reason <> '' THEN s.reason
                    WHEN a.id IS NULL THEN '{batch_files.UNKNOWN_ACCOUNT}'
                    WHEN a.status IN {_sql_in(LOST_STATUSES)} THEN '{ACCOUNT_LOST}'
                    WHEN a.status = 'frozen' THEN '{ACCOUNT_FROZEN}'
                    WHEN a.status = 'closed' THEN '{ACCOUNT_CLOSED}'
                    WHEN ROW_NUMBER() OVER (PARTITION BY s.reference ORDER BY s.line) > 1 THEN '{DUPLICATE_REFERENCE}'
                    WHEN EXISTS (SELECT 1 FROM banking_batchitem e
                                  WHERE e.kind = %s AND e.reference = s.reference
                                    AND e.status IN ('pending', 'posted')) THEN '{REFERENCE_USED}'
                    ELSE ''
               END AS why
          FROM banking_batch_stage s
          LEFT JOIN banking_account a ON a.number = s.number AND s.number <> '' AND a.is_internal = %s) v
 ORDER BY v.line
"""  # noqa: S608 - constants only; the values go as parameters


def _stage(rows: Iterable[batch_files.Row]) -> int:
    """Load the rows into the session's staging table (``COPY`` on PostgreSQL); returns the count."""
    limit = max_items()
    count = 0

    def counted() -> Iterator[batch_files.Row]:
        nonlocal count
        for row in rows:
            count += 1
            if count > limit:
                raise TooManyItems()
            yield row  # (line, number, masked, amount_fen, reference, reason): the staging columns

    with connection.cursor() as cursor:
        cursor.execute(_STAGE_CREATE)
        cursor.execute("DELETE FROM banking_batch_stage")
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(_STAGE_COPY) as copy:
                for values in counted():
                    copy.write_row(values)
        else:
            buffer: list[tuple] = []
            for values in counted():
                buffer.append(values)
                if len(buffer) >= STAGE_CHUNK:
                    cursor.executemany(_STAGE_INSERT, buffer)
                    buffer.clear()
            if buffer:
                cursor.executemany(_STAGE_INSERT, buffer)
    return count


def _validate_into_items(batch: Batch) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE banking_batch_stage")  # a temp table has no statistics otherwise
            # One big statement: JIT compilation cost more than it saved, and the sorts (file order,
            # references) fit in memory with a little more of it. For this transaction only.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_VALIDATE, [batch.pk, batch.kind, batch.kind, False])
        cursor.execute("DELETE FROM banking_batch_stage")


def _item_totals(batch_id: int) -> dict[str, int]:
    """Counts and totals of a batch's items by state (the source of every figure on the batch)."""
    totals = BatchItem.objects.filter(batch_id=batch_id).aggregate(
        items=Count("id"),
        control=Sum("amount_fen"),
        pending=Count("id", filter=Q(status=BatchItem.Status.PENDING)),
        pending_fen=Sum("amount_fen", filter=Q(status=BatchItem.Status.PENDING)),
        posted=Count("id", filter=Q(status=BatchItem.Status.POSTED)),
        posted_fen=Sum("amount_fen", filter=Q(status=BatchItem.Status.POSTED)),
        failed=Count("id", filter=Q(status=BatchItem.Status.FAILED)),
        failed_fen=Sum("amount_fen", filter=Q(status=BatchItem.Status.FAILED)),
    )
    return {key: int(value or 0) for key, value in totals.items()}


def _reason_counts(batch_id: int) -> dict[str, int]:
    rows = (
        BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.FAILED)
        .values_list("reason")
        .annotate(n=Count("id"))
        .order_by("reason")
    )
    return dict(rows)


def batch_upload(
    *,
    kind: str,
    period: str,
    file: IO[bytes],
    file_name: str = "",
    actor: Actor,
    corrects: Batch | None = None,
    source: str = Batch.Source.UPLOAD,
) -> Batch:
    """Create a batch from a CSV or XLSX file of ``account,amount,reference`` lines, streamed, with
    its validation report: every line becomes an item, pending or failed with a reason; the
    control total (the sum of every readable amount) and count. One batch per kind and period
    unless ``corrects`` names the batch (same kind and period) this one corrects; the same file
    twice for one kind is refused. ``actor`` ``None``: the monthly job. Audited."""
    if actor is not None and not batch_policy.can_upload(actor):
        raise Forbidden(_("Your role cannot upload settlement batches."), code="permission_denied")
    kind, period = validate_kind(kind), validate_period(period)
    facts = batch_files.inspect(file)
    try:
        return _batch_upload(
            kind=kind,
            period=period,
            file=file,
            facts=facts,
            file_name=file_name,
            actor=actor,
            corrects=corrects,
            source=source,
        )
    except IntegrityError as exc:
        text = str(exc)
        if "banking_batch_one_per_kind_period" in text:
            raise BatchExists() from exc
        if "banking_batchitem_reference_once" in text:
            raise ReferenceConflict() from exc
        raise


@transaction.atomic
def _batch_upload(
    *,
    kind: str,
    period: str,
    file: IO[bytes],
    facts: batch_files.FileFacts,
    file_name: str,
    actor: Actor,
    corrects: Batch | None,
    source: str,
) -> Batch:
    if corrects is not None:
        corrects = Batch.objects.select_for_update().get(pk=corrects.pk)
        if corrects.kind != kind or corrects.period != period:
            raise errors.InvalidInput(
                _("A correction has the kind and period of the batch it corrects."), code="invalid_correction"
            )
        if corrects.status == Batch.Status.REJECTED:
            raise BatchStateConflict(_("A rejected batch is not corrected: upload a new batch for the period."))
    elif (
        Batch.objects.filter(kind=kind, period=period, corrects__isnull=True)
        .exclude(status=Batch.Status.REJECTED)
        .exists()
    ):
        raise BatchExists()
    if Batch.objects.filter(kind=kind, file_digest=facts.digest).exclude(status=Batch.Status.REJECTED).exists():
        raise FileAlreadyUploaded()
    batch = Batch.objects.create(
        kind=kind,
        period=period,
        corrects=corrects,
        source=source,
        file_name=str(file_name)[:200],
        file_format=facts.file_format,
        file_encoding=facts.encoding,
        file_digest=facts.digest,
        uploaded_by=user_or_none(actor),
        uploaded_at=timezone.now(),
    )
    if _stage(batch_files.rows(file, facts)) == 0:
        raise EmptyFile()
    _validate_into_items(batch)
    totals = _item_totals(batch.pk)
    batch.items_count, batch.control_total_fen = totals["items"], totals["control"]
    batch.valid_count, batch.valid_total_fen = totals["pending"], totals["pending_fen"]
    batch.failed_count, batch.failed_total_fen = totals["failed"], totals["failed_fen"]
    batch.report = {"reasons": _reason_counts(batch.pk)}
    batch.status = Batch.Status.VALIDATED
    batch.save()
    audit_record(
        actor=actor,
        action="banking.batch_upload",
        obj=batch,
        details={
            "kind": kind,
            "period": period,
            "corrects": corrects.pk if corrects else None,
            "source": source,
            "sha256": facts.digest,
            "items": batch.items_count,
            "control_total_fen": batch.control_total_fen,
            "invalid": batch.failed_count,
        },
    )
    return batch


# --- maker–checker ------------------------------------------------------------------------------


def _locked(batch: Batch | int) -> Batch:
    pk = batch.pk if isinstance(batch, Batch) else batch
    try:
        return Batch.objects.select_for_update().get(pk=pk)
    except Batch.DoesNotExist:
        raise BatchNotFound() from None


@transaction.atomic
def batch_approve(*, batch: Batch, actor: Actor, note: str = "") -> Batch:
    """The checker (the director, not the uploader) approves a validated batch: it may run."""
    batch = _locked(batch)
    if (refusal := batch_policy.decide_refusal(actor, batch)) is not None:
        raise Forbidden(refusal, code="maker_checker")
    if batch.status != Batch.Status.VALIDATED:
        raise BatchStateConflict()
    batch.status = Batch.Status.APPROVED
    batch.decided_by, batch.decided_at, batch.decision_note = user_or_none(actor), timezone.now(), str(note)[:500]
    batch.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="banking.batch_approve",
        obj=batch,
        details={"items": batch.valid_count, "total_fen": batch.valid_total_fen, "note": batch.decision_note},
    )
    return batch


@transaction.atomic
def batch_reject(*, batch: Batch, actor: Actor, note: str) -> Batch:
    """The checker rejects a validated batch with a reason: nothing posts, its items fail
    (``batch_rejected``, which frees their references) and the period may be uploaded again."""
    batch = _locked(batch)
    if (refusal := batch_policy.decide_refusal(actor, batch)) is not None:
        raise Forbidden(refusal, code="maker_checker")
    note = str(note or "").strip()
    if not note:
        raise errors.InvalidInput(_("Say why the batch is rejected."), code="note_required")
    if batch.status != Batch.Status.VALIDATED:
        raise BatchStateConflict()
    BatchItem.objects.filter(batch=batch, status=BatchItem.Status.PENDING).update(
        status=BatchItem.Status.FAILED, reason=BATCH_REJECTED
    )
    totals = _item_totals(batch.pk)
    batch.failed_count, batch.failed_total_fen = totals["failed"], totals["failed_fen"]
    batch.status = Batch.Status.REJECTED
    batch.decided_by, batch.decided_at, batch.decision_note = user_or_none(actor), timezone.now(), note[:500]
    batch.save()
    audit_record(actor=actor, action="banking.batch_reject", obj=batch, details={"note": batch.decision_note})
    return batch


# --- the run ------------------------------------------------------------------------------------


@transaction.atomic
def batch_run_start(*, batch: Batch, actor: Actor, enqueue: Callable[[int], None] | None = None) -> Batch:
    """Start (or resume) the run of an approved batch: it turns ``running`` and a task is queued
    after commit. Starting a running batch again queues another worker (safe: they share the items
    through ``SKIP LOCKED``; that is also how a run is resumed after its worker died); a done batch
    is left as it is."""
    if actor is not None and not batch_policy.can_run(actor):
        raise Forbidden(_("Your role cannot run settlement batches."), code="permission_denied")
    batch = _locked(batch)
    if batch.status in (Batch.Status.DONE, Batch.Status.FAILED):
        return batch
    if batch.status not in (Batch.Status.APPROVED, Batch.Status.RUNNING):
        raise BatchStateConflict(_("Only an approved batch runs."), code="batch_not_approved")
    if batch.status == Batch.Status.APPROVED:
        batch.status, batch.started_at = Batch.Status.RUNNING, timezone.now()
        batch.save(update_fields=["status", "started_at"])
    audit_record(actor=actor, action="banking.batch_run", obj=batch, details={"resume": batch.posted_count > 0})
    if enqueue is None:
        from ..tasks import batch_run_enqueue

        enqueue = batch_run_enqueue
    pk, queue = batch.pk, enqueue
    transaction.on_commit(lambda: queue(pk))
    return batch


@dataclass(frozen=True)
class ChunkResult:
    claimed: int
    posted: int
    posted_fen: int
    failed: int
    failed_fen: int
    last_id: int = 0  # the highest item id claimed (the next chunk starts after it)


_SQL_CHUNK = (
    "SELECT claimed, posted, posted_fen, failed, failed_fen, notices, last_id "
    "FROM banking_batch_post_chunk(%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _chunk_post_fast(batch: Batch, settlement: Account, limit: int, after_id: int = 0) -> ChunkResult:
    clock_offset = timezone.now() - datetime.now(tz=UTC)
    with connection.cursor() as cursor:
        params: list[Any] = [
            batch.pk,
            after_id,
            limit,
            settlement.pk,
            batch.decided_by_id,
            MEMO_PREFIXES[batch.kind],
            clock_offset,
            sms_texts.signature(),
            sms_texts.KIND_NAMES[Account.Kind.DEBIT_CARD],  # only debit main cards have SMS notice
        ]
        cursor.execute(_SQL_CHUNK, params)
        claimed, posted, posted_fen, failed, failed_fen, _notices, last_id = cursor.fetchone()
    return ChunkResult(claimed, posted, int(posted_fen), failed, int(failed_fen), int(last_id or 0))


def batch_item_post(*, item: BatchItem, batch: Batch, settlement: Account) -> LedgerTransaction:
    """Post one item through the ledger: credit the customer, debit the settlement account, under
    the key ``batch-item:<id>`` (a repeat answers with the first transaction)."""
    assert item.account is not None and item.amount_fen is not None  # pending items have both (constraint)
    return ledger_post(
        kind=LedgerTransaction.Kind.BATCH_CREDIT,
        lines=[(item.account, item.amount_fen), (settlement, -item.amount_fen)],
        idempotency_key=f"{KEY_PREFIX}{item.pk}",
        channel=LedgerTransaction.Channel.BATCH,
        memo=(MEMO_PREFIXES[batch.kind] + item.reference)[:200],
        actor=batch.decided_by,
    )


def _chunk_post_plain(batch: Batch, settlement: Account, limit: int, after_id: int = 0) -> ChunkResult:
    items = list(
        BatchItem.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(batch_id=batch.pk, status=BatchItem.Status.PENDING, id__gt=after_id)
        .select_related("account")
        .order_by("id")[:limit]
    )
    if items:
        # The chunk's accounts and the settlement account, all at once in primary-key order (as
        # the fast path): locking them item by item would let two workers deadlock.
        lock_accounts(settlement.pk, *(item.account_id for item in items if item.account_id))
    posted = posted_fen = failed = failed_fen = 0
    for item in items:
        amount = int(item.amount_fen or 0)
        try:
            txn = batch_item_post(item=item, batch=batch, settlement=settlement)
        except DomainError as exc:  # the ledger refused (account lost, frozen, closed...): a failed item
            item.status, item.reason = BatchItem.Status.FAILED, exc.code[:32]
            item.save(update_fields=["status", "reason"])
            failed, failed_fen = failed + 1, failed_fen + amount
            continue
        item.status, item.transaction, item.posted_at = BatchItem.Status.POSTED, txn, txn.created_at
        item.save(update_fields=["status", "transaction", "posted_at"])
        posted, posted_fen = posted + 1, posted_fen + amount
    return ChunkResult(len(items), posted, posted_fen, failed, failed_fen, items[-1].pk if items else 0)


@retry_on_conflict
@transaction.atomic
def batch_chunk_post(*, batch: Batch, settlement: Account, limit: int, fast: bool, after_id: int = 0) -> ChunkResult:
    """One chunk in one transaction: claim (items after ``after_id``), post, mark, count on the
    batch row."""
    result = (_chunk_post_fast if fast else _chunk_post_plain)(batch, settlement, limit, after_id)
    if result.posted or result.failed:
        # The counters move with the items in this transaction (the batch row is locked last).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE banking_batch SET posted_count = posted_count + %s, posted_total_fen = posted_total_fen + %s, "
                "failed_count = failed_count + %s, failed_total_fen = failed_total_fen + %s WHERE id = %s",
                [result.posted, result.posted_fen, result.failed, result.failed_fen, batch.pk],
            )
    return result


def batch_run_process(
    *,
    batch_id: int,
    fast: bool | None = None,
    limit: int | None = None,
    max_chunks: int | None = None,
    progress: Callable[[Batch], None] | None = None,
    progress_every_s: float = 1.0,
) -> Batch:
    """The worker's loop: chunks until no pending item is left to claim, then the reconciliation.
    Safe in several workers at once and after a killed one (``max_chunks``: stop early, for
    tests and for a task that hands over to the next one)."""
    batch = Batch.objects.select_related("decided_by").get(pk=batch_id)
    if batch.status != Batch.Status.RUNNING:
        return batch
    fast = fast_path_available() if fast is None else fast
    limit = limit or chunk_size()
    settlement = internal_account(settlement_account_code())
    chunks, last_push, after_id = 0, 0.0, 0
    while max_chunks is None or chunks < max_chunks:
        result = batch_chunk_post(batch=batch, settlement=settlement, limit=limit, fast=fast, after_id=after_id)
        chunks += 1
        if result.claimed == 0:
            if after_id == 0:
                break
            # One pass from the start for items skipped while another worker held them (and
            # rolled back, or is still on them: then SKIP LOCKED skips them again).
            after_id = 0
            continue
        after_id = result.last_id
        if progress is not None and time.monotonic() - last_push >= progress_every_s:
            last_push = time.monotonic()
            progress(Batch.objects.get(pk=batch_id))
    finished = batch_finalize(batch_id=batch_id)
    if progress is not None:
        progress(finished)
    return finished


@transaction.atomic
def batch_finalize(*, batch_id: int) -> Batch:
    """Reconcile a running batch whose items are all posted or failed: the counters are recomputed
    from the items, and the batch is ``done`` only when posted + failed = items, posted total +
    failed total = control total, and the ledger holds exactly the posted total under the batch's
    items; otherwise ``failed`` (an invariant broke: nothing more posts, somebody looks). With
    items still pending (another worker has them) it stays ``running``."""
    batch = _locked(batch_id)
    if batch.status != Batch.Status.RUNNING:
        return batch
    totals = _item_totals(batch.pk)
    batch.posted_count, batch.posted_total_fen = totals["posted"], totals["posted_fen"]
    batch.failed_count, batch.failed_total_fen = totals["failed"], totals["failed_fen"]
    if totals["pending"]:
        batch.save(update_fields=["posted_count", "posted_total_fen", "failed_count", "failed_total_fen"])
        return batch
    ledger = LedgerTransaction.objects.filter(batch_item__batch_id=batch.pk).aggregate(
        n=Count("id"), fen=Sum("amount_fen")
    )
    reconciled = (
        totals["posted"] + totals["failed"] == batch.items_count == totals["items"]
        and totals["posted_fen"] + totals["failed_fen"] == batch.control_total_fen
        and int(ledger["n"] or 0) == totals["posted"]
        and int(ledger["fen"] or 0) == totals["posted_fen"]
    )
    batch.status = Batch.Status.DONE if reconciled else Batch.Status.FAILED
    batch.finished_at = timezone.now()
    batch.report = {**batch.report, "run_reasons": _reason_counts(batch.pk)}
    batch.save()
    audit_record(
        actor=None,
        action="banking.batch_done" if reconciled else "banking.batch_unreconciled",
        obj=batch,
        details={
            "posted": batch.posted_count,
            "posted_total_fen": batch.posted_total_fen,
            "failed": batch.failed_count,
            "failed_total_fen": batch.failed_total_fen,
            "control_total_fen": batch.control_total_fen,
            "ledger_transactions": int(ledger["n"] or 0),
            "ledger_total_fen": int(ledger["fen"] or 0),
        },
    )
    return batch


# --- progress -----------------------------------------------------------------------------------


def batch_progress(batch: Batch, *, now: datetime | None = None) -> dict[str, Any]:
    """Items done / total, rate and ETA of a batch (the page's progress bar; pushed while it runs)."""
    now = now or timezone.now()
    done = batch.posted_count + batch.failed_count
    run_done = max(0, done - batch.items_count + batch.valid_count)  # items settled by the run itself
    remaining = batch.items_count - done
    elapsed = (now - batch.started_at).total_seconds() if batch.started_at else 0.0
    if batch.finished_at and batch.started_at:
        elapsed = (batch.finished_at - batch.started_at).total_seconds()
    rate = run_done / elapsed if elapsed > 0 else 0.0
    return {
        "id": batch.pk,
        "status": batch.status,
        "items": batch.items_count,
        "done": done,
        "posted": batch.posted_count,
        "failed": batch.failed_count,
        "rate": round(rate, 1),
        "eta_s": round(remaining / rate) if rate > 0 and remaining else (0 if not remaining else None),
    }


# --- the monthly POS prize batch ------------------------------------------------------------------


def previous_month(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def pos_prize_batch_from_drop(*, today: date | None = None) -> Batch | None:
    """The card department drops the previous month's prize list in ``BANKING_PRIZE_DROP_DIR`` as
    ``pos_prize_<YYYY-MM>.csv`` or ``.xlsx``; this creates its batch (uploaded by the system,
    waiting for the director's approval). Nothing when the file is not there yet or the batch
    exists (beat runs it hourly: a list dropped late is picked up)."""
    from pathlib import Path

    folder = getattr(settings, "BANKING_PRIZE_DROP_DIR", "")
    if not folder:
        return None
    period = previous_month(today or timezone.localdate())
    if (
        Batch.objects.filter(kind=Batch.Kind.POS_PRIZE, period=period, corrects__isnull=True)
        .exclude(status=Batch.Status.REJECTED)
        .exists()
    ):
        return None
    for suffix in ("csv", "xlsx"):
        path = Path(folder) / f"pos_prize_{period}.{suffix}"
        if path.is_file():
            with path.open("rb") as handle:
                try:
                    return batch_upload(
                        kind=Batch.Kind.POS_PRIZE,
                        period=period,
                        file=handle,
                        file_name=path.name,
                        actor=None,
                        source=Batch.Source.DROP_FOLDER,
                    )
                except (BatchExists, FileAlreadyUploaded):
                    return None
    return None
