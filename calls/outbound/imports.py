"""Campaign lists from a file (issue 19): CSV (UTF-8 with or without a BOM, or GB18030 as Excel
writes it in China) or XLSX, read as a stream — never the whole file in memory.

``jobs.import_start`` stores the upload (a chunk at a time) under ``OUTBOUND_IMPORT_DIR`` and queues
the task ``outbound.import_list``; ``run_import(job_id)`` reads it: the first row is the header (the
columns are found by their names, ``HEADER_ALIASES``), every data row's phone is validated
(``phones``), rows repeating a number of the file or of the campaign are counted as duplicates,
rows whose number the do-not-call list blocks are counted and kept out; the rest are added, a
chunk of ``CHUNK_ROWS`` per transaction, and the job's counters are written after every chunk
(the campaign page shows them). The first ``MAX_PROBLEMS`` refused rows are kept with their row
number and code.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import IO, Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record

from . import errors, phones, selectors
from .models import CampaignContact, CampaignKind, ContactStatus, ImportJob

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
CHUNK_ROWS = 1000
MAX_PROBLEMS = 100
MAX_EXTRA_COLUMNS = 10
MAX_CELL = 200
XLSX_MAGIC = b"PK\x03\x04"

HEADER_ALIASES: dict[str, frozenset[str]] = {
    "phone": frozenset(
        {
            "电话",
            "手机",
            "手机号",
            "手机号码",
            "电话号码",
            "联系电话",
            "号码",
            "phone",
            "mobile",
            "tel",
            "telephone",
            "number",
        }
    ),
    "name": frozenset({"姓名", "客户姓名", "客户名称", "名字", "name", "customer_name"}),
    "customer_id": frozenset({"客户号", "客户编号", "客户id", "customer_id", "customer"}),
}

# Codes of refused rows.
INVALID_PHONE = "invalid_phone"
DUPLICATE_IN_FILE = "duplicate_in_file"
DUPLICATE_IN_CAMPAIGN = "duplicate_in_campaign"
ON_DNC_LIST = "do_not_call"


def import_dir() -> Path:
    path = Path(getattr(settings, "OUTBOUND_IMPORT_DIR", Path(settings.VAR_DIR) / "outbound-imports"))
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- reading --------------------------------------------------------------------------------------


def detect(raw: IO[bytes]) -> tuple[str, str]:
    """(``"csv"`` | ``"xlsx"``, encoding): UTF-8 (``utf-8-sig``, which drops a BOM) if the whole
    file decodes as UTF-8, else GB18030 if it decodes as that, else ``InvalidFile``. One pass,
    a chunk at a time."""
    raw.seek(0)
    head = raw.read(CHUNK_BYTES)
    if head.startswith(XLSX_MAGIC):
        raw.seek(0)
        return "xlsx", ""
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        raw.seek(0)
        try:
            for chunk in iter(lambda: raw.read(CHUNK_BYTES), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        raw.seek(0)
        return "csv", "utf-8-sig" if encoding == "utf-8" else encoding
    raise errors.InvalidFile()


def csv_rows(raw: IO[bytes], encoding: str) -> Generator[tuple[int, list[Any]], None, None]:
    """(line number, cells) of a CSV file: ``io.TextIOWrapper`` decodes a buffer at a time and the
    C ``csv`` reader splits it."""
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")  # type: ignore[arg-type]
    try:
        reader = csv.reader(text)
        for cells in reader:
            yield reader.line_num, cells
    finally:
        text.detach()


def xlsx_rows(raw: IO[bytes]) -> Generator[tuple[int, list[Any]], None, None]:
    """(row number, cells) of the first sheet, openpyxl's read-only (streaming) mode."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(raw, read_only=True, data_only=True)
    except Exception as exc:  # a broken workbook (BadZipFile, KeyError, …) is bad input
        raise errors.InvalidFile() from exc
    try:
        for index, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
            yield index, list(values)
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed into Excel: 13812345678.0
    return str(value).strip()


def header_columns(cells: list[Any]) -> dict[str, int]:
    """Column index of each known field (``phone``, ``name``, ``customer_id``) by its header name;
    other named columns are ``extra:<name>``."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        label = _cell_text(cell).lstrip("\ufeff").strip().lower()
        if not label:
            continue
        for field_name, aliases in HEADER_ALIASES.items():
            if label in aliases and field_name not in columns:
                columns[field_name] = index
                break
        else:
            if sum(1 for key in columns if key.startswith("extra:")) < MAX_EXTRA_COLUMNS:
                columns.setdefault(f"extra:{label[:40]}", index)
    return columns


# --- the import -----------------------------------------------------------------------------------


class _Pending(NamedTuple):
    line: int
    phone: str
    name: str
    customer_id: int | None
    source_ref: str
    data: dict[str, str]


def _insert_contacts(campaign_id: int, source: str, rows: list[_Pending]) -> None:
    """One ``INSERT`` per chunk of plain values, not the ORM's ``bulk_create`` (which spent most
    of an import building its statement): on PostgreSQL the chunk travels as five arrays
    (``unnest``), elsewhere as ``executemany``. Columns from the model; a number already in the
    campaign is skipped (``ON CONFLICT DO NOTHING``)."""
    if not rows:
        return
    meta = CampaignContact._meta
    by_name = {field.name: field.column for field in meta.concrete_fields}
    fixed = ["campaign", "source", "status", "attempts", "last_outcome", "created_at", "updated_at"]
    varying = ["phone", "name", "customer_id", "source_ref", "data"]
    columns = ", ".join(connection.ops.quote_name(by_name[name]) for name in fixed + varying)
    table = connection.ops.quote_name(meta.db_table)
    now = timezone.now()
    constants: list[Any] = [campaign_id, source, str(ContactStatus.PENDING), 0, "", now, now]
    datas = [json.dumps(row.data, ensure_ascii=False) for row in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, %s, %s, %s, %s, %s, %s, r.*"  # noqa: S608
                " FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], %s::jsonb[]) AS r"
                " ON CONFLICT DO NOTHING",
                [
                    *constants,
                    [row.phone for row in rows],
                    [row.name for row in rows],
                    [row.customer_id for row in rows],
                    [row.source_ref for row in rows],
                    datas,
                ],
            )
        else:
            one = ", ".join(["%s"] * (len(fixed) + len(varying)))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({one}) ON CONFLICT DO NOTHING",  # noqa: S608
                [
                    (*constants, row.phone, row.name, row.customer_id, row.source_ref, data)
                    for row, data in zip(rows, datas, strict=True)
                ],
            )


class _Importer:
    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.campaign = job.campaign
        self.marketing = self.campaign.kind == CampaignKind.MARKETING
        self.seen: set[str] = set()
        self.pending: list[_Pending] = []
        self.problems: list[dict[str, Any]] = list(job.problems or [])
        self.counts = {"rows_read": 0, "rows_added": 0, "rows_duplicate": 0, "rows_invalid": 0, "rows_dnc": 0}

    def problem(self, line: int, code: str, value: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"row": line, "code": code, "value": value[:40]})

    def row(self, line: int, cells: list[Any], columns: dict[str, int], *, ref: str = "") -> None:
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            return  # blank lines are not rows
        self.counts["rows_read"] += 1
        index = columns["phone"]
        raw = _cell_text(cells[index]) if index < len(cells) else ""
        number = phones.normalize(raw)
        if number is None:
            self.counts["rows_invalid"] += 1
            self.problem(line, INVALID_PHONE, raw)
            return
        if number in self.seen:
            self.counts["rows_duplicate"] += 1
            self.problem(line, DUPLICATE_IN_FILE, number)
            return
        self.seen.add(number)

        def cell(key: str) -> str:
            position = columns.get(key)
            return _cell_text(cells[position])[:MAX_CELL] if position is not None and position < len(cells) else ""

        customer = cell("customer_id")
        extra = {key[6:]: cell(key) for key in columns if key.startswith("extra:") and cell(key)}
        customer_id = int(customer) if customer.isascii() and customer.isdigit() and len(customer) < 18 else None
        self.pending.append(
            _Pending(line, number, cell("name")[:100], customer_id, ref or f"import:{self.job.pk}:{line}", extra)
        )
        if len(self.pending) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        rows, self.pending = self.pending, []
        if rows:
            numbers = [row.phone for row in rows]
            with transaction.atomic():
                existing = selectors.phones_in_campaign(self.campaign.pk, numbers)
                blocked = selectors.dnc_phones(numbers, marketing=self.marketing)
                fresh = []
                for row in rows:
                    if row.phone in existing:
                        self.counts["rows_duplicate"] += 1
                        self.problem(row.line, DUPLICATE_IN_CAMPAIGN, row.phone)
                    elif row.phone in blocked:
                        self.counts["rows_dnc"] += 1
                        self.problem(row.line, ON_DNC_LIST, row.phone)
                    else:
                        fresh.append(row)
                _insert_contacts(self.campaign.pk, self.job.source, fresh)
                self.counts["rows_added"] += len(fresh)
        self.save_progress()

    def save_progress(self, **extra: Any) -> None:
        ImportJob.objects.filter(pk=self.job.pk).update(**self.counts, problems=self.problems, **extra)


def run_import(job_id: int) -> ImportJob:
    """Read the job's stored file into its campaign (the task's body; see the module's text)."""
    job = ImportJob.objects.select_related("campaign").get(pk=job_id)
    if job.status != ImportJob.Status.RUNNING or not job.stored_path:
        return job
    importer = _Importer(job)
    path = Path(job.stored_path)
    try:
        with open(path, "rb") as raw:
            file_format, encoding = detect(raw)
            rows = xlsx_rows(raw) if file_format == "xlsx" else csv_rows(raw, encoding)
            columns: dict[str, int] | None = None
            with closing(rows):  # the reader lets go of the file before it closes
                for line, cells in rows:
                    if columns is None:
                        if not any(_cell_text(cell) for cell in cells):
                            continue
                        columns = header_columns(cells)
                        if "phone" not in columns:
                            raise errors.InvalidFile(
                                "No phone column (电话, 手机, phone …) in the first row.", code="no_phone_column"
                            )
                        continue
                    importer.row(line, cells, columns)
            if columns is None:
                raise errors.InvalidFile("The file has no rows.", code="empty_file")
            importer.flush()
    except (errors.InvalidFile, UnicodeDecodeError, csv.Error) as exc:
        message = getattr(exc, "message", str(exc))
        code = getattr(exc, "code", "invalid_file")
        importer.save_progress(
            status=ImportJob.Status.FAILED, error=f"{code}: {message}"[:200], finished_at=timezone.now()
        )
    except Exception:
        importer.save_progress(status=ImportJob.Status.FAILED, error="internal_error", finished_at=timezone.now())
        raise
    else:
        importer.save_progress(status=ImportJob.Status.DONE, finished_at=timezone.now())
    finally:
        path.unlink(missing_ok=True)
        ImportJob.objects.filter(pk=job.pk).update(stored_path="")
    job.refresh_from_db()
    audit_record(
        actor=job.created_by,
        action="outbound.import_done",
        obj=job,
        details={**importer.counts, "status": job.status, "error": job.error},
    )
    return job
