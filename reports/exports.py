"""The reports' tables as CSV and XLSX, and the monthly report's workbook.

A table is a list of typed columns (``Column``) over rows of raw values (the selectors' dicts):
the page, the CSV and the workbook show the same columns under the same translated labels, each
in its own way — the page formatted (85.3%, 1:23), the CSV in values spreadsheets read back as
numbers (85.3%, 0:01:23), the workbook in native numbers with a number format (0.853 shown as
85.3%, seconds as a time). CSV is streamed with a UTF-8 byte-order mark so that Excel opens
Chinese text correctly; workbooks are written with openpyxl's write-only mode.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core import spreadsheets

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Kinds of column: how a value is shown and exported.
TEXT, COUNT, RATE, DURATION, DECIMAL = "text", "count", "rate", "duration", "decimal"
# Money: the value is integer fen, shown and exported as yuan with 2 decimals (never a float).
MONEY = "money"
NUMERIC = frozenset({COUNT, RATE, DURATION, DECIMAL, MONEY})
DASH = "—"


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # a translatable string, rendered in the request's language
    kind: str = COUNT
    # The call search's ``outcome`` a count links to ("" = every offered call); None: no link.
    drill: str | None = None


@dataclass
class Table:
    title: Any
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    total: Mapping[str, Any] | None = None
    caption: str = ""  # the period and filters, above the header in a sheet
    sheet: str = ""  # the sheet's name (default: the title)
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self) -> list[str]:
        return [str(column.label) for column in self.columns]


# --- how a value is shown -------------------------------------------------------------------


def duration_text(seconds: float | None, *, hours: bool = False) -> str:
    """``m:ss``, ``h:mm:ss`` from an hour (always with ``hours=True``); "—" for none."""
    if seconds is None:
        return DASH
    total = int(round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h or hours else f"{m}:{s:02d}"


def yuan_text(fen: int, *, grouped: bool = True) -> str:
    """Integer fen as yuan: ``123456`` → ``"1,234.56"`` (``"1234.56"`` ungrouped)."""
    sign = "-" if int(fen) < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}" if grouped else f"{sign}{whole}.{cents:02d}"


def display(kind: str, value: Any) -> str:
    """A value as the page shows it."""
    if value is None or value == "":
        return DASH if kind in NUMERIC else ""
    if kind == COUNT:
        return f"{int(value):,}"
    if kind == RATE:
        return f"{float(value) * 100:.1f}%"
    if kind == DURATION:
        return duration_text(float(value))
    if kind == DECIMAL:
        return f"{float(value):,.1f}"
    if kind == MONEY:
        return yuan_text(value)
    return str(value)


# Excel, LibreOffice and Numbers run a CSV cell starting with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_value(kind: str, value: Any) -> str | int:
    if value is None or value == "":
        return ""
    if kind == COUNT:
        return int(value)
    if kind == RATE:
        return f"{float(value) * 100:.1f}%"
    if kind == DURATION:
        return duration_text(float(value), hours=True)  # m:ss would read as h:mm
    if kind == DECIMAL:
        return f"{float(value):.1f}"
    if kind == MONEY:
        return yuan_text(value, grouped=False)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


NUMBER_FORMATS = {COUNT: "#,##0", RATE: "0.0%", DURATION: "[h]:mm:ss", DECIMAL: "#,##0.0", MONEY: "#,##0.00"}


def xlsx_value(kind: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if kind == COUNT:
        return int(value)
    if kind == RATE:
        return round(float(value), 6)
    if kind == DURATION:
        return float(value) / 86400  # Excel's times are fractions of a day
    if kind == DECIMAL:
        return float(value)
    if kind == MONEY:
        return Decimal(int(value)) / 100  # exact: openpyxl writes a Decimal as the number it is
    return str(value)


# --- CSV ------------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(table: Table, *, language: str | None = None) -> Iterator[str]:
    """The table as CSV lines, in ``language``: the response streams after the view returned,
    when the request's language is no longer active."""
    with translation.override(language or translation.get_language()):
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(table.headers())
        for row in [*table.rows, *([table.total] if table.total else [])]:
            yield writer.writerow([csv_value(column.kind, row.get(column.key)) for column in table.columns])


def csv_response(table: Table, filename: str) -> StreamingHttpResponse:
    lines = csv_lines(table, language=translation.get_language())
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


# --- XLSX -----------------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    clean = "".join(" " if char in "[]:*?/\\" else char for char in name).strip()[:31] or "Sheet"
    candidate, n = clean, 2
    while candidate.lower() in taken:
        candidate = f"{clean[:28]} {n}"
        n += 1
    taken.add(candidate.lower())
    return candidate


class Sheet:
    """A write-only sheet and the row numbers of what was written (charts refer to them)."""

    def __init__(self, workbook: Any, name: str) -> None:
        self.ws = workbook.create_sheet(name)
        self.title = name
        self.row = 0

    def print_setup(self, *, landscape: bool = False) -> None:
        """A4, as wide as the page, the header rows repeated (write-only: before the rows)."""
        self.ws.page_setup.paperSize = "9"  # A4 (Worksheet.PAPERSIZE_A4)
        self.ws.page_setup.orientation = "landscape" if landscape else "portrait"
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True

    def widths(self, widths: Sequence[int]) -> None:
        from openpyxl.utils import get_column_letter

        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = max(8, min(width + 2, 48))

    def append(self, cells: Iterable[Any]) -> int:
        self.ws.append(spreadsheets.row(cells))
        self.row += 1
        return self.row

    def cell(self, value: Any, *, kind: str = TEXT, bold: bool = False, size: int | None = None) -> Any:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        cell = WriteOnlyCell(self.ws, value=xlsx_value(kind, value) if kind != TEXT else spreadsheets.cell_value(value))
        if kind in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[kind]
        if bold or size:
            cell.font = Font(bold=bold, size=size or 11)
        return cell

    def table(self, table: Table, *, caption: bool = True) -> tuple[int, int]:
        """Writes the caption, the header and the rows; returns the first and last data rows
        (the total row excluded)."""
        if caption:
            if self.row == 0:
                # A write-only sheet writes its view with its first row: freeze before writing.
                self.ws.freeze_panes = f"B{(3 if table.caption else 2) + 2}"
            self.append([self.cell(str(table.title), bold=True, size=13)])
            if table.caption:
                self.append([table.caption])
            self.append([])
        self.append([self.cell(header, bold=True) for header in table.headers()])
        header_row = self.row
        for row in table.rows:
            self.append(self._cells(table, row))
        last = self.row
        if table.total:
            self.append(self._cells(table, table.total, bold=True))
        return header_row + 1, last

    def _cells(self, table: Table, row: Mapping[str, Any], *, bold: bool = False) -> list[Any]:
        cells = []
        for column in table.columns:
            value = row.get(column.key)
            if column.kind == TEXT and not bold:
                cells.append(None if value is None else str(value))
            else:
                cells.append(self.cell(value, kind=column.kind, bold=bold))
        return cells


def _table_widths(table: Table) -> list[int]:
    widths = [_width(header) for header in table.headers()]
    for index, column in enumerate(table.columns):
        if column.kind == TEXT:
            for row in table.rows[:200]:
                widths[index] = max(widths[index], _width(str(row.get(column.key) or "")))
        else:
            widths[index] = max(widths[index], 10)
    return widths


def workbook_bytes(workbook: Any) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def tables_workbook(tables: Sequence[Table], *, title: str = "") -> bytes:
    """One sheet per table: caption, header, rows, total."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    workbook.properties.title = title or (str(tables[0].title) if tables else "")
    taken: set[str] = set()
    for table in tables:
        sheet = Sheet(workbook, sheet_name(table.sheet or str(table.title), taken))
        sheet.print_setup(landscape=len(table.columns) > 9)
        sheet.widths(_table_widths(table))
        sheet.table(table)
    return workbook_bytes(workbook)


# --- the monthly report ---------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One line of the monthly summary: a KPI this month and the month before."""

    label: Any
    kind: str
    current: Any
    previous: Any
    better: int = 0  # 1: higher is better, -1: lower is better, 0: neither

    @property
    def change(self) -> float | None:
        """Rates: the difference (in points of 1.0); other figures: the relative change."""
        if self.current is None or self.previous is None:
            return None
        if self.kind == RATE:
            return float(self.current) - float(self.previous)
        if not self.previous:
            return None
        return (float(self.current) - float(self.previous)) / float(self.previous)

    def judgement(self) -> str:
        """``"good"``, ``"bad"`` or ``""``: how the change reads for the center."""
        change = self.change
        if not change or not self.better:
            return ""
        return "good" if (change > 0) == (self.better > 0) else "bad"

    def change_text(self) -> str:
        change = self.change
        if change is None:
            return DASH
        if self.kind == RATE:
            return _("%(sign)s%(points).1f pp") % {"sign": "+" if change >= 0 else "−", "points": abs(change) * 100}
        return f"{'+' if change >= 0 else '−'}{abs(change) * 100:.1f}%"


@dataclass
class MonthlyReport:
    title: str
    month_label: str
    previous_label: str
    caption: str
    summary: Sequence[Comparison]
    days: Table  # per day: columns "label", "offered", "answered", "service_level" at least
    details: Sequence[Table]  # per queue, per agent, work orders by unit…


def monthly_workbook(report: MonthlyReport) -> bytes:
    """The summary sheet (the month's KPIs against the previous month, two native charts), the
    per-day sheet the charts draw from, and the detail tables."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference

    workbook = Workbook(write_only=True)
    workbook.properties.title = f"{report.title} {report.month_label}"
    taken: set[str] = set()
    summary = Sheet(workbook, sheet_name(_("Summary"), taken))
    days = Sheet(workbook, sheet_name(report.days.sheet or str(report.days.title), taken))
    details = [(Sheet(workbook, sheet_name(t.sheet or str(t.title), taken)), t) for t in report.details]

    # The per-day sheet first: the charts need its row numbers.
    days.print_setup()
    days.widths(_table_widths(report.days))
    first, last = days.table(report.days)
    keys = [column.key for column in report.days.columns]

    def day_column(key: str) -> int:
        return keys.index(key) + 1

    summary.print_setup()
    summary.widths([34, 14, 14, 14])
    summary.append([summary.cell(f"{report.title} · {report.month_label}", bold=True, size=14)])
    summary.append([report.caption])
    summary.append([])
    summary.append(
        [
            summary.cell(header, bold=True)
            for header in (_("Indicator"), report.month_label, report.previous_label, pgettext("report", "Change"))
        ]
    )
    points = '+0.0" {pp}";-0.0" {pp}";0.0" {pp}"'.format(pp=_("pp"))
    for line in report.summary:
        change = None
        if line.change is not None:
            change = summary.cell(line.change * 100 if line.kind == RATE else line.change)
            change.number_format = points if line.kind == RATE else "+0.0%;-0.0%;0.0%"
        summary.append(
            [
                str(line.label),
                summary.cell(line.current, kind=line.kind),
                summary.cell(line.previous, kind=line.kind),
                change,
            ]
        )
    summary.append([])

    if last >= first:
        categories = Reference(days.ws, min_col=day_column("label"), min_row=first, max_row=last)
        bars = BarChart()
        bars.type = "col"
        bars.grouping = "clustered"
        bars.title = _("Calls offered and answered per day")
        bars.y_axis.title = pgettext("report", "Calls")
        bars.height, bars.width = 7.5, 17  # cm: the width of A4 inside its margins
        for key in ("offered", "answered"):
            data = Reference(days.ws, min_col=day_column(key), min_row=first - 1, max_row=last)
            bars.add_data(data, titles_from_data=True)
        bars.set_categories(categories)
        line = LineChart()
        line.title = _("Service level per day")
        line.y_axis.title = pgettext("report", "Service level")
        line.y_axis.number_format = "0%"
        line.y_axis.scaling.min, line.y_axis.scaling.max = 0, 1
        line.height, line.width = 7.5, 17
        line.add_data(
            Reference(days.ws, min_col=day_column("service_level"), min_row=first - 1, max_row=last),
            titles_from_data=True,
        )
        line.set_categories(categories)
        for series in line.series:
            series.smooth = False  # a day's figure, not a curve between days
        for chart in (bars, line):
            # Newer Excel hides axes openpyxl leaves to its default.
            chart.x_axis.delete = False
            chart.y_axis.delete = False
            chart.legend.position = "b"
        anchor = summary.row + 2
        summary.ws.add_chart(bars, f"A{anchor}")
        summary.ws.add_chart(line, f"A{anchor + 16}")

    for sheet, table in details:
        sheet.print_setup(landscape=len(table.columns) > 9)
        sheet.widths(_table_widths(table))
        sheet.table(table)
    return workbook_bytes(workbook)
