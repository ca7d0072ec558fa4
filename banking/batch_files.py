"""Reading a settlement batch file as a stream of rows: CSV (UTF-8 with or without a BOM, or
GB18030 as Excel writes it in China, detected) or XLSX (openpyxl's read-only mode, which streams
the sheet), never read whole into memory.

Each data row becomes a ``Row``: the line number in the file, the account number as written, the
amount in fen (``banking.money.parse_amount``; ``None`` when it does not parse) and the reference,
with the first problem found in the row itself as a reason code. The checks that need the
database (accounts, references used before, duplicates in the file) are the service's
(``banking.services.batches``), set-based.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any, NamedTuple

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

from .masking import CARD_LENGTHS, mask_account, mask_card
from .money import AMOUNT_PATTERN, FEN_PER_YUAN, MAX_AMOUNT_FEN

CHUNK = 1 << 20
XLSX_MAGIC = b"PK\x03\x04"
HEADER_WORDS = frozenset({"account", "account_number", "账号", "帐号", "卡号", "账户"})
ACCOUNT_PATTERN = re.compile(r"[0-9A-Za-z-]{1,32}")
REFERENCE_MAX = 64

# Row problems (the codes of the validation report; the service adds the database's).
BAD_ROW = "bad_row"
INVALID_AMOUNT = "invalid_amount"
MISSING_REFERENCE = "missing_reference"
BAD_REFERENCE = "bad_reference"
UNKNOWN_ACCOUNT = "unknown_account"


class InvalidFile(DomainError):
    code = "invalid_file"
    status = 400
    default_message = _("The file is neither a CSV file (UTF-8 or GB18030) nor an XLSX workbook.")


class Row(NamedTuple):
    """A tuple (cheap to make a million of), in the staging table's column order."""

    line: int
    number: str
    masked: str
    amount_fen: int | None
    reference: str
    reason: str  # "" when the row itself is fine


@dataclass(frozen=True)
class FileFacts:
    digest: str
    file_format: str  # "csv" | "xlsx"
    encoding: str  # "utf-8-sig" | "utf-8" | "gb18030" | "" for xlsx


def inspect(raw: IO[bytes]) -> FileFacts:
    """One pass over the bytes, a chunk at a time: the SHA-256, the format, and for a CSV file the
    encoding (UTF-8 if the whole file decodes as UTF-8, else GB18030, else refused)."""
    digest = hashlib.sha256()
    raw.seek(0)
    head = raw.read(CHUNK)
    if head.startswith(XLSX_MAGIC):
        digest.update(head)
        for chunk in iter(lambda: raw.read(CHUNK), b""):
            digest.update(chunk)
        raw.seek(0)
        return FileFacts(digest.hexdigest(), "xlsx", "")
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    chunk = head
    while chunk:
        digest.update(chunk)
        if utf8_ok:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                utf8_ok = False
        chunk = raw.read(CHUNK)
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if utf8_ok:
        raw.seek(0)
        return FileFacts(digest.hexdigest(), "csv", "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8")
    if _gb_whole_file(raw):
        raw.seek(0)
        return FileFacts(digest.hexdigest(), "csv", "gb18030")
    raise InvalidFile()


def _gb_whole_file(raw: IO[bytes]) -> bool:
    raw.seek(0)
    decoder = codecs.getincrementaldecoder("gb18030")()
    try:
        for chunk in iter(lambda: raw.read(CHUNK), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_cells(raw: IO[bytes], encoding: str) -> Iterator[tuple[int, list[Any]]]:
    """Rows of cells, decoded a buffer at a time (``io.TextIOWrapper``: C, no line generator of ours)."""
    stream = getattr(raw, "file", raw)  # Django's uploaded files wrap the real file
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        reader = csv.reader(text)
        for cells in reader:
            yield reader.line_num, cells
    finally:
        text.detach()  # leave the caller's file open


def _xlsx_cells(raw: IO[bytes]) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(raw, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InvalidFile() from exc
    except Exception as exc:  # zipfile.BadZipFile and the like: a broken workbook is bad input
        raise InvalidFile() from exc
    try:
        sheet = workbook.worksheets[0]
        for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield index, list(values)
    finally:
        workbook.close()


def mask(number: str) -> str:
    return mask_card(number) if len(number) in CARD_LENGTHS else mask_account(number)


def _amount_fen(value: Any) -> int | None:
    """A cell → fen, or ``None``. Text follows ``parse_amount``'s strict grammar (surrounding
    spaces dropped); a workbook's number cell (openpyxl gives ``int`` or ``float``) is taken by its
    shortest decimal form (``repr``), which is what Excel shows, and must be a whole number of fen."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        match = AMOUNT_PATTERN.fullmatch(value.strip())
        if match is None:
            return None
        fen = int(match["yuan"]) * FEN_PER_YUAN + int((match["fen"] or "0").ljust(2, "0"))
    elif isinstance(value, int):
        fen = value * FEN_PER_YUAN
    elif isinstance(value, float | Decimal):
        try:
            scaled = Decimal(repr(value) if isinstance(value, float) else value) * FEN_PER_YUAN
            if not scaled.is_finite() or scaled != scaled.to_integral_value():
                return None
        except InvalidOperation:
            return None
        fen = int(scaled)
    else:
        return None
    return fen if 0 < fen <= MAX_AMOUNT_FEN else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # A long number typed into Excel is a float and has lost digits: not an account number.
        return "" if not value.is_integer() or abs(value) >= 1e15 else str(int(value))
    return str(value).strip()


def _row(line: int, cells: list[Any]) -> Row | None:
    if len(cells) == 3 and all(type(cell) is str for cell in cells):
        return _text_row(line, cells[0].strip(), cells[1].strip(), cells[2].strip())
    if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
        return None  # an empty line is not an item
    while len(cells) > 3 and (cells[-1] is None or cells[-1] == ""):
        cells = cells[:-1]
    number = _text(cells[0])
    if len(cells) != 3:
        masked = mask(number) if number else ""
        return Row(line, "", masked, None, _text(cells[2])[:REFERENCE_MAX] if len(cells) > 2 else "", BAD_ROW)
    if isinstance(cells[1], str):
        return _text_row(line, number, cells[1].strip(), _text(cells[2]))
    return _checked(line, number, _amount_fen(cells[1]), _text(cells[2]))


def _text_row(line: int, number: str, amount: str, reference: str) -> Row | None:
    """The common case, a CSV line of three cells: inline for speed (a million of them)."""
    if not (number or amount or reference):
        return None
    match = AMOUNT_PATTERN.fullmatch(amount)
    fen = None
    if match is not None:
        fen = int(match["yuan"]) * FEN_PER_YUAN + int((match["fen"] or "0").ljust(2, "0"))
        if not 0 < fen <= MAX_AMOUNT_FEN:
            fen = None
    return _checked(line, number, fen, reference)


def _checked(line: int, number: str, fen: int | None, reference: str) -> Row:
    reason = ""
    if fen is None:
        reason = INVALID_AMOUNT
    elif not reference:
        reason = MISSING_REFERENCE
    elif len(reference) > REFERENCE_MAX or not reference.isprintable():
        reason, reference = BAD_REFERENCE, reference[:REFERENCE_MAX]
    well_formed = ACCOUNT_PATTERN.fullmatch(number) is not None
    if not well_formed and not reason:
        reason = UNKNOWN_ACCOUNT
    masked = (mask_card(number) if len(number) in CARD_LENGTHS else mask_account(number)) if number else ""
    return Row(line, number if well_formed else "", masked, fen, reference, reason)


def rows(raw: IO[bytes], facts: FileFacts) -> Iterator[Row]:
    """The file's data rows in order, streamed (a header row naming the account column skipped)."""
    raw.seek(0)
    cells: Iterable[tuple[int, list[Any]]] = (
        _xlsx_cells(raw) if facts.file_format == "xlsx" else _csv_cells(raw, facts.encoding)
    )
    first = True
    try:
        for line, values in cells:
            if first and values and isinstance(values[0], str) and values[0].strip().lower() in HEADER_WORDS:
                first = False
                continue
            row = _row(line, values)
            if row is not None:
                first = False
                yield row
    except csv.Error as exc:
        raise InvalidFile() from exc
