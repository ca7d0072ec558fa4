"""Integrity of the recordings: the hash chain over the rows and the SHA-256 of every file.

Chain: rows are numbered ``seq`` = 1, 2, 3 … in the order they were ingested; each stores the
previous row's ``row_hash`` (``GENESIS`` for the first) and its own, a SHA-256 over the fields that
never change after ingest plus ``prev_hash`` (``row_digest``). Appending takes one lock
(``chain_lock``: a PostgreSQL advisory lock held to the end of the transaction; SQLite's
``BEGIN IMMEDIATE`` serialises writers already), so parallel uploads never share a ``seq`` or a
``prev_hash``. An altered row no longer matches its hash, a deleted row leaves a gap in ``seq``
and a broken link, reordered rows break the links; rows removed from the end are found through
the previous check's ``last_seq`` / ``last_hash``.

``verify`` re-hashes every kept file through the storage API and lists every file the storage
holds that no row claims; it stores an ``IntegrityCheck`` with what it found.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ..models import IntegrityCheck, Recording
from . import storage

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
_LOCK_KEY = (70160, 0)  # advisory-lock key space of the recordings (see reports/notifications)
MAX_PROBLEMS = 1000  # listed in a check's row (the count is always complete)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def row_digest(
    *,
    seq: int,
    prev_hash: str,
    call_pk: int,
    agent_pk: int | None,
    customer_id: int | None,
    started_at: datetime,
    duration_ms: int,
    size: int,
    fmt: str,
    sha256: str,
    storage_name: str,
    masked_segments: list[dict[str, Any]],
) -> str:
    payload = {
        "seq": seq,
        "prev": prev_hash,
        "call": call_pk,
        "agent": agent_pk,
        "customer": customer_id,
        "started_at": _iso(started_at),
        "duration_ms": duration_ms,
        "size": size,
        "format": fmt,
        "sha256": sha256,
        "name": storage_name,
        "masked": masked_segments,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def digest_of(recording: Recording) -> str:
    return row_digest(
        seq=recording.seq,
        prev_hash=recording.prev_hash,
        call_pk=recording.call_id,
        agent_pk=recording.agent_id,
        customer_id=recording.customer_id,
        started_at=recording.started_at,
        duration_ms=recording.duration_ms,
        size=recording.size,
        fmt=recording.format,
        sha256=recording.sha256,
        storage_name=recording.storage_name,
        masked_segments=recording.masked_segments,
    )


def chain_lock() -> None:
    """Hold the chain's lock to the end of the current transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(_LOCK_KEY))


def chain_append(recording: Recording) -> Recording:
    """Give an unsaved row its place at the end of the chain and insert it. Call inside a
    transaction that holds ``chain_lock()``."""
    assert transaction.get_connection().in_atomic_block, "chain_append needs the caller's transaction"
    last = Recording.objects.order_by("-seq").values_list("seq", "row_hash").first()
    recording.seq, recording.prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    recording.row_hash = digest_of(recording)
    recording.save(force_insert=True)
    return recording


def _hash_file(name: str) -> tuple[str, int]:
    digest, total = hashlib.sha256(), 0
    for chunk in storage.iter_bytes(name):
        digest.update(chunk)
        total += len(chunk)
    return digest.hexdigest(), total


def verify(*, trigger: str = "command", check_files: bool = True) -> IntegrityCheck:
    """Check the chain and every file; store and return the ``IntegrityCheck``."""
    started_at, clock = timezone.now(), time.perf_counter()
    problems: list[dict[str, Any]] = []
    count = 0

    def problem(kind: str, **facts: Any) -> None:
        nonlocal count
        count += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append({"kind": kind, **facts})

    rows = files = hashed = 0
    expected_seq, prev_hash = 1, GENESIS
    kept: set[str] = set()
    purged: set[str] = set()
    fields = (
        "pk",
        "seq",
        "prev_hash",
        "row_hash",
        "call_id",
        "agent_id",
        "customer_id",
        "started_at",
        "duration_ms",
        "size",
        "format",
        "sha256",
        "storage_name",
        "masked_segments",
        "purged_at",
    )
    last_seq, last_hash = None, ""
    for rec in Recording.objects.order_by("seq").only(*fields).iterator(chunk_size=2000):
        rows += 1
        if rec.seq != expected_seq:
            problem("chain", recording=rec.pk, seq=rec.seq, detail=f"expected position {expected_seq}")
        if rec.prev_hash != prev_hash:
            problem("chain", recording=rec.pk, seq=rec.seq, detail="previous hash does not link")
        if digest_of(rec) != rec.row_hash:
            problem("chain", recording=rec.pk, seq=rec.seq, detail="row altered")
        expected_seq, prev_hash = rec.seq + 1, rec.row_hash
        last_seq, last_hash = rec.seq, rec.row_hash
        if rec.purged_at is not None:
            purged.add(rec.storage_name)
            continue
        kept.add(rec.storage_name)
        if not check_files:
            continue
        try:
            sha, size = _hash_file(rec.storage_name)
        except FileNotFoundError:  # storage.iter_bytes: on disk and in S3 alike
            problem("missing", recording=rec.pk, name=rec.storage_name)
            continue
        files += 1
        hashed += size
        if sha != rec.sha256 or size != rec.size:
            problem("altered", recording=rec.pk, name=rec.storage_name, sha256=sha, size=size)

    previous = IntegrityCheck.objects.filter(last_seq__isnull=False).order_by("-started_at", "-pk").first()
    if previous is not None and previous.last_seq is not None:
        anchor = Recording.objects.filter(seq=previous.last_seq).values_list("row_hash", flat=True).first()
        if anchor != previous.last_hash:
            problem("chain", seq=previous.last_seq, detail="the chain's end of the previous check is gone or changed")

    if check_files:
        for name in storage.all_names():
            if name in kept:
                continue
            problem("extra", name=name, detail="purged file still present" if name in purged else "no recording row")

    seconds = time.perf_counter() - clock
    check = IntegrityCheck.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        rows=rows,
        files=files,
        bytes=hashed,
        problems=problems,
        ok=count == 0,
        trigger=trigger,
        last_seq=last_seq,
        last_hash=last_hash,
        seconds=round(seconds, 3),
    )
    check.problem_count = count  # type: ignore[attr-defined]  # the full count (the row lists 1000)
    if count:
        logger.warning("recordings: integrity check %s found %s problem(s)", check.pk, count)
    return check


def summary(check: IntegrityCheck) -> str:
    count = getattr(check, "problem_count", len(check.problems))
    return (
        f"{check.rows} rows, {check.files} files, {check.bytes / 1e6:.1f} MB in {check.seconds:.2f} s "
        f"({check.mb_per_s} MB/s): {'OK' if check.ok else f'{count} problem(s)'}"
    )


def last_check() -> IntegrityCheck | None:
    return IntegrityCheck.objects.order_by("-started_at", "-pk").first()


def health_panel() -> dict[str, Any]:
    """The maintainer's health page (``core.health.register_panel``): the last check."""
    from django.utils.translation import gettext as _

    check = last_check()
    if check is None:
        return {"title": _("Recordings integrity"), "status": "not_configured", "text": _("Never checked")}
    text = _("%(when)s: %(rows)s rows, %(files)s files, %(problems)s problem(s), %(speed)s MB/s") % {
        "when": timezone.localtime(check.started_at).strftime("%Y-%m-%d %H:%M"),
        "rows": check.rows,
        "files": check.files,
        "problems": len(check.problems),
        "speed": check.mb_per_s,
    }
    return {"title": _("Recordings integrity"), "status": "ok" if check.ok else "error", "text": text}
