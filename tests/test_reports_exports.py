"""The reports' CSV and XLSX exports and the monthly report's workbook (reports/exports.py): the
same columns under the same translated labels as the pages, values as numbers a spreadsheet can
compute with, native charts, audited."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from django.utils import translation
from openpyxl import load_workbook

from audit.models import AuditEvent
from org.roles import Role
from reports import exports
from reports.exports import COUNT, DURATION, RATE, TEXT, Column, Comparison, Table
from reports.models import CallInterval
from tests.factories import make_staff
from tests.test_reports_tables import DAY, at, build_center, interval

pytest_plugins = ["calls.tests.fixtures"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def center(queues):
    return build_center(queues)


RANGE = {"date_from": DAY.isoformat(), "date_to": DAY.isoformat()}


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads the file as UTF-8
    return list(csv.reader(io.StringIO(body[1:])))


def workbook(response):
    assert response["Content-Type"] == exports.XLSX_TYPE
    return load_workbook(io.BytesIO(response.content))


def page_headers(columns_of) -> list[str]:
    with translation.override("zh-hans"):
        return [str(column.label) for column in columns_of()]


def test_the_queue_table_as_csv(client_for, center):
    response = client_for(make_staff(Role.ANALYST)).get("/reports/queues/", {**RANGE, "format": "csv"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="queues-20261103-20261103.csv"'
    rows = csv_rows(response)
    from reports.call_tables import QUEUE_KEYS, _call_columns

    # The page's column labels, in the Chinese UI's language.
    header = page_headers(
        lambda: [Column("label", translation.pgettext("report", "Queue")), *_call_columns(*QUEUE_KEYS)]
    )
    assert rows[0] == header
    general = next(row for row in rows if row[0] == center["general"].display_name)
    # counts as integers, rates as percentages, durations as h:mm:ss (Excel reads "1:23" as h:mm)
    assert general[1:10] == ["10", "8", "6", "2", "1", "66.7%", "11.1%", "0:00:10", "0:02:05"]
    assert rows[-1][0] == translation.gettext("Total") and rows[-1][1] == "14"


def test_a_csv_export_is_audited(client_for, center):
    analyst = make_staff(Role.ANALYST)
    response = client_for(analyst).get("/reports/agents/", {**RANGE, "queue": "general", "format": "csv"})
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action="reports.export")
    assert event.actor_id == analyst.pk and event.object_id == "agents"
    assert event.details["format"] == "csv" and "queue=general" in event.details["query"]


def test_the_headers_follow_the_users_language(client_for, center):
    client = client_for(make_staff(Role.TEAM_LEAD))
    client.cookies["django_language"] = "en"
    rows = csv_rows(client.get("/reports/queues/", {**RANGE, "format": "csv"}))
    assert rows[0][:3] == ["Queue", "Offered", "Answered"]
    assert "Answered within 20 s" in rows[0]
    sheet = workbook(client.get("/reports/queues/", {**RANGE, "format": "xlsx"})).worksheets[0]
    assert [cell.value for cell in sheet[4]][:3] == ["Queue", "Offered", "Answered"]


def test_the_agent_table_as_xlsx_has_numbers_with_formats(client_for, center):
    response = client_for(make_staff(Role.TEAM_LEAD)).get("/reports/agents/", {**RANGE, "format": "xlsx"})
    assert response["Content-Disposition"] == 'attachment; filename="agents-20261103-20261103.xlsx"'
    sheet = workbook(response).worksheets[0]
    # Title, the period and filters, a blank line, then the header.
    assert "2026-11-03" in sheet["A2"].value
    header = [cell.value for cell in sheet[4]]
    assert header[:3] == page_headers(
        lambda: [
            Column("name", translation.pgettext("report", "Agent")),
            Column("agent", translation.pgettext("report", "Username")),
            Column("answered", translation.pgettext("report", "Answered")),
        ]
    )
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=5) if row[1].value}
    a1 = dict(zip(header, rows["agent01"], strict=False))
    with translation.override("zh-hans"):
        answered, aht, occupancy = (translation.pgettext("report", key) for key in ("Answered", "AHT", "Occupancy"))
    assert a1[answered].value == 8 and a1[answered].number_format == "#,##0"
    # A duration is an Excel time (openpyxl reads it back as one).
    assert a1[aht].value == timedelta(seconds=125) and a1[aht].number_format == "[h]:mm:ss"
    assert a1[occupancy].value == pytest.approx(0.6591, abs=1e-4) and a1[occupancy].number_format == "0.0%"
    total = list(sheet.iter_rows(min_row=sheet.max_row))[0]
    assert total[0].value == translation.gettext("Total") and total[0].font.bold
    assert sheet.freeze_panes == "B5"


def test_the_ivr_export_has_the_nodes_and_the_calls(client_for, center):
    book = workbook(client_for(make_staff(Role.ANALYST)).get("/reports/ivr/", {**RANGE, "format": "xlsx"}))
    nodes, calls = book.worksheets
    assert [(row[1].value, row[2].value, row[3].value) for row in nodes.iter_rows(min_row=5)] == [
        ("main", 20, 3),
        ("balance", 9, 9),
    ]
    assert [cell.value for cell in calls[5]][:5] == [20, 12, 7, 1, 0.6]


def test_the_work_order_export(client_for, staff):
    book = workbook(client_for(staff[Role.DIRECTOR]).get("/reports/tickets/", {**RANGE, "format": "xlsx"}))
    by_unit, by_category = book.worksheets
    units = [row[0].value for row in by_unit.iter_rows(min_row=5)]
    assert units[:3] == ["B01 B01行社", "B02 B02行社", "B03 B03行社"] and units[-1] == translation.gettext("Total")
    assert by_category.max_row > 5


def test_a_csv_cell_is_never_a_formula(client_for, center):
    center["card"].name = '=HYPERLINK("http://x")'
    center["card"].save()
    rows = csv_rows(client_for(make_staff(Role.ANALYST)).get("/reports/queues/", {**RANGE, "format": "csv"}))
    assert ['\'=HYPERLINK("http://x")'] == [row[0] for row in rows if "HYPERLINK" in row[0]]


def test_empty_ratios_are_blank_cells_not_zero(client_for, queues):
    response = client_for(make_staff(Role.ANALYST)).get("/reports/queues/", {**RANGE, "format": "xlsx"})
    sheet = workbook(response).worksheets[0]
    total = [cell.value for cell in sheet[5]]
    assert total[1] == 0 and total[6] is None  # no calls: offered 0, service level null


# --- the monthly report ---------------------------------------------------------------------


@pytest.fixture
def two_months(center):
    interval(at(date(2026, 10, 15), 10), center["general"], center["agent01"], offered=7, answered=7, answered_in_t=7)
    interval(at(date(2026, 11, 30), 23, 30), center["card"], center["agent02"], offered=1, answered=1, handled=1)
    return center


def test_the_monthly_workbook(client_for, two_months):
    response = client_for(make_staff(Role.ANALYST)).get("/reports/monthly.xlsx", {"month": "2026-11"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="monthly-report-202611.xlsx"'
    book = workbook(response)
    with translation.override("zh-hans"):
        names = [
            translation.gettext("Summary"),
            *(translation.pgettext("report", name) for name in ("Per day", "Per queue", "Per agent")),
            translation.pgettext("report", "Work orders by unit"),
            *(
                translation.pgettext("report", name)
                for name in ("Callbacks per agent", "Verbal loss reports", "IVR transfers refused by reason")
            ),
        ]
    assert book.sheetnames == names
    summary, days, queues, agents, units, *_service = book.worksheets
    assert "2026-11" in summary["A1"].value
    assert [cell.value for cell in summary[4]] == [
        translation.gettext("Indicator"),
        "2026-11",
        "2026-10",
        summary["D4"].value,
    ]
    offered = [cell.value for cell in summary[5]]
    assert offered[1:] == [15, 7, pytest.approx(15 / 7 - 1)]
    assert summary["D5"].number_format == "+0.0%;-0.0%;0.0%"
    service_level = [cell.value for cell in summary[8]]
    # 10 within 20 s ÷ (15 − 1) against 7 ÷ 7: the change in percentage points
    assert service_level[1] == pytest.approx(10 / 14, abs=1e-4) and service_level[2] == 1.0
    assert service_level[3] == pytest.approx((10 / 14 - 1) * 100, abs=0.01)
    assert summary["D8"].number_format.startswith('+0.0"') and summary["D8"].number_format.count(";") == 2
    # One row a day of the month, the 30th with its late call.
    day_rows = list(days.iter_rows(min_row=5, values_only=True))
    assert len(day_rows) == 30 and day_rows[2][:3] == ("2026-11-03", 14, 12) and day_rows[29][:2] == ("2026-11-30", 1)
    assert [row[0] for row in queues.iter_rows(min_row=5, values_only=True)][-1] == translation.gettext("Total")
    assert {row[1] for row in agents.iter_rows(min_row=5, values_only=True)} >= {"agent01", "agent02"}
    assert units.max_row >= 5


def test_the_monthly_workbook_has_native_charts_drawn_from_the_daily_sheet(client_for, two_months):
    content = client_for(make_staff(Role.DIRECTOR)).get("/reports/monthly.xlsx", {"month": "2026-11"}).content
    archive = zipfile.ZipFile(io.BytesIO(content))
    charts = sorted(name for name in archive.namelist() if name.startswith("xl/charts/chart"))
    assert len(charts) == 2
    xml = [archive.read(name).decode() for name in charts]
    assert "<barChart>" in xml[0] and "<lineChart>" in xml[1]
    with translation.override("zh-hans"):
        sheet = translation.pgettext("report", "Per day")
    # The bars: offered and answered of the per-day sheet's 30 days (header in row 4); the line:
    # the service level; both over the days as categories.
    refs = [re.findall(r"<f>([^<]+)</f>", chart) for chart in xml]
    assert refs[0] == [
        f"'{sheet}'!{ref}" for ref in ("B4", "$A$5:$A$34", "$B$5:$B$34", "C4", "$A$5:$A$34", "$C$5:$C$34")
    ]
    assert refs[1] == [f"'{sheet}'!{ref}" for ref in ("E4", "$A$5:$A$34", "$E$5:$E$34")]
    book = load_workbook(io.BytesIO(content))
    assert len(book.worksheets[0]._charts) == 2


def test_a_month_without_calls_still_makes_a_workbook(client_for, queues):
    response = client_for(make_staff(Role.ANALYST)).get("/reports/monthly.xlsx", {"month": "2020-02"})
    book = workbook(response)
    assert book.worksheets[1].max_row == 4 + 29  # every day of February 2020, zeros


def test_the_monthly_export_is_audited(client_for, queues):
    client_for(make_staff(Role.ANALYST)).get("/reports/monthly.xlsx", {"month": "2020-02"})
    assert AuditEvent.objects.get(action="reports.export").details == {"format": "xlsx", "month": "2020-02"}


# --- the writers on their own ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "shown", "in_csv"),
    [
        (COUNT, 1234, "1,234", 1234),
        (COUNT, None, "—", ""),
        (RATE, 0.8534, "85.3%", "85.3%"),
        (RATE, None, "—", ""),
        (RATE, 0, "0.0%", "0.0%"),
        (DURATION, 83.4, "1:23", "0:01:23"),
        (DURATION, 3725, "1:02:05", "1:02:05"),
        (DURATION, None, "—", ""),
        (TEXT, "-1", "-1", "'-1"),
    ],
)
def test_how_a_value_is_shown_and_exported(kind, value, shown, in_csv):
    assert exports.display(kind, value) == shown
    assert exports.csv_value(kind, value) == in_csv


def test_sheet_names_are_valid_and_unique():
    taken: set[str] = set()
    assert exports.sheet_name("a/b:c", taken) == "a b c"
    assert exports.sheet_name("A B C", taken) == "A B C 2"
    assert len(exports.sheet_name("x" * 40, taken)) == 31


def test_a_change_in_a_rate_is_in_points_and_of_a_count_relative():
    assert Comparison("SL", RATE, 0.8, 0.75).change == pytest.approx(0.05)
    with translation.override("en"):
        assert Comparison("SL", RATE, 0.8, 0.75).change_text() == "+5.0 pp"
    assert Comparison("SL", RATE, 0.8, 0.75).change_text() == "+5.0 个百分点"
    assert Comparison("n", COUNT, 90, 100).change_text() == "−10.0%"
    assert Comparison("n", COUNT, 5, 0).change is None  # nothing to compare with
    assert Comparison("ASA", DURATION, 30, 20, better=-1).judgement() == "bad"


def test_a_workbook_of_an_empty_table():
    content = exports.tables_workbook([Table("T", [Column("a", "A", COUNT)], [])])
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert [cell.value for cell in sheet[3]] == ["A"] and sheet.max_row == 3


def test_rollup_rows_of_other_months_are_left_out(client_for, two_months):
    assert CallInterval.objects.count() == 5
    rows = csv_rows(client_for(make_staff(Role.ANALYST)).get("/reports/intervals/", {**RANGE, "format": "csv"}))
    assert len(rows) == 1 + 2 + 1  # header, two intervals, total


def test_a_name_with_a_character_a_worksheet_cannot_hold_still_exports(client_for, center):
    # A vertical tab pasted into a staff name: openpyxl refuses such a cell, and the export was a 500.
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="agent01")
    user.last_name, user.first_name = "张\x0b", "\x1b伟"
    user.save(update_fields=["last_name", "first_name"])
    response = client_for(make_staff(Role.TEAM_LEAD)).get("/reports/agents/", {**RANGE, "format": "xlsx"})
    assert response.status_code == 200
    sheet = workbook(response).worksheets[0]
    names = [row[0].value for row in sheet.iter_rows(min_row=5) if row[1].value == "agent01"]
    assert names and "\x0b" not in names[0] and "\x1b" not in names[0] and "张" in names[0] and "伟" in names[0]
