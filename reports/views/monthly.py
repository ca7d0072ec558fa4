"""The monthly report (月度运营报告) the analyst hands the director: the page (A4 print) and the
workbook, from the same tables as the report pages (``reports.call_tables``, ``ticket_tables``,
``service_tables``; shown with the cells and tabs of ``tables``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from audit.services import audit_record
from org.permissions import role_required

from .. import exports
from .. import selectors as rs
from .. import service_figures as sf
from ..call_tables import MONTHLY_CALL_KEYS, _agent_columns, _agent_rows, _agent_total, _call_columns, _total_row
from ..exports import COUNT, DECIMAL, DURATION, MONEY, RATE, TEXT, Column, Comparison, MonthlyReport, Table
from ..forms import MonthForm, month_end, previous_month
from ..kpi import occupancy_from
from ..service_tables import _callback_table, _loss_report_table, _refusal_table
from ..table_common import ANALYSTS, Filters, _link_calls
from ..ticket_tables import _ticket_columns
from .tables import _cells, _tabs


def _month_filters(first: date, today: date) -> Filters:
    last = min(month_end(first), today)
    return Filters(date_from=first, date_to=last, caption=f"{first:%Y-%m-%d} – {last:%Y-%m-%d}")


def _team_occupancy(rows: Sequence[dict[str, Any]]) -> float | None:
    return occupancy_from(
        int(sum(row.get("handling_s") or 0 for row in rows) * 1000),
        int(sum(row.get("ready_s") or 0 for row in rows) * 1000),
    )


def _day_chart(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Geometry of the print page's chart (an inline SVG, no script): offered and answered bars
    per day on the left scale, the service level as a line on the right (0–100%)."""
    width, height, left, right, top, bottom = 760, 260, 44, 44, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(rows), 1)
    peak = max([row.get("offered") or 0 for row in rows] + [1])
    step = 10 ** max(len(str(peak)) - 1, 0)
    top_value = ((peak + step - 1) // step) * step
    slot = plot_w / n
    bar = max(slot * 0.38, 1)
    bars, points, labels = [], [], []
    for index, row in enumerate(rows):
        x = left + index * slot
        for offset, key in ((0.1, "offered"), (0.1 + 0.38, "answered")):
            value = row.get(key) or 0
            h = plot_h * value / top_value
            bars.append(
                {
                    "x": round(x + slot * offset, 1),
                    "y": round(top + plot_h - h, 1),
                    "w": round(bar, 1),
                    "h": round(h, 1),
                    "cls": key,
                    "title": f"{row['label']} {value}",
                }
            )
        if row.get("service_level") is not None:
            points.append(f"{x + slot / 2:.1f},{top + plot_h * (1 - float(row['service_level'])):.1f}")
        if n <= 16 or index % 2 == 0:
            labels.append({"x": round(x + slot / 2, 1), "text": str(row["label"])[-2:]})
    ticks = [
        {"y": round(top + plot_h * (1 - f), 1), "left": f"{int(top_value * f):,}", "right": f"{int(f * 100)}%"}
        for f in (0, 0.25, 0.5, 0.75, 1)
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "bottom": top + plot_h,
        "bars": bars,
        "line": " ".join(points),
        "labels": labels,
        "ticks": ticks,
        "label_y": height - 8,
    }


def _days_table(first: date, last: date, caption: str) -> Table:
    days = (last - first).days + 1
    rows = rs.trend_days(days=days, today=last)
    columns = [Column("label", pgettext_lazy("report", "Day"), TEXT), *_call_columns(*MONTHLY_CALL_KEYS)]
    _link_calls(rows, columns, lambda row: {"date_from": row["key"], "date_to": row["key"]})
    return Table(pgettext_lazy("report", "Per day"), columns, rows, caption=caption)


def monthly_report(first: date, *, today: date | None = None) -> MonthlyReport:
    """The figures of the month that starts on ``first`` and of the month before it."""
    today = today or timezone.localdate()
    current = _month_filters(first, today)
    before_first = previous_month(first)
    before = _month_filters(before_first, today)
    calls_now = rs.call_figures(current.date_from, current.date_to)
    calls_before = rs.call_figures(before.date_from, before.date_to)
    ivr_now = rs.ivr_figures(current.date_from, current.date_to)
    ivr_before = rs.ivr_figures(before.date_from, before.date_to)
    tickets_now = rs.ticket_figures(current.date_from, current.date_to)
    tickets_before = rs.ticket_figures(before.date_from, before.date_to)
    agents_now = rs.agent_table(current.date_from, current.date_to)
    agents_before = rs.agent_table(before.date_from, before.date_to)

    def calls(text: Any, kind: str, key: str, better: int = 0) -> Comparison:
        return Comparison(text, kind, calls_now.get(key), calls_before.get(key), better)

    def tickets(text: Any, kind: str, key: str, better: int = 0) -> Comparison:
        return Comparison(text, kind, tickets_now["total"].get(key), tickets_before["total"].get(key), better)

    t = settings.CALLS_SERVICE_LEVEL_T_S
    summary = [
        calls(pgettext_lazy("report", "Offered"), COUNT, "offered"),
        calls(pgettext_lazy("report", "Answered"), COUNT, "answered"),
        calls(pgettext_lazy("report", "Abandoned"), COUNT, "abandoned", -1),
        calls(_("Service level (answered within %(t)s s)") % {"t": t}, RATE, "service_level", 1),
        calls(pgettext_lazy("report", "Abandon rate"), RATE, "abandon_rate", -1),
        calls(pgettext_lazy("report", "ASA"), DURATION, "asa_s", -1),
        calls(pgettext_lazy("report", "AHT"), DURATION, "aht_s"),
        calls(pgettext_lazy("report", "Transferred"), COUNT, "transferred"),
        calls(pgettext_lazy("report", "Callbacks offered"), COUNT, "callback_offered"),
        Comparison(
            pgettext_lazy("report", "Occupancy"), RATE, _team_occupancy(agents_now), _team_occupancy(agents_before)
        ),
        Comparison(pgettext_lazy("report", "IVR calls"), COUNT, ivr_now["calls"], ivr_before["calls"]),
        Comparison(pgettext_lazy("report", "Containment"), RATE, ivr_now["containment"], ivr_before["containment"], 1),
        tickets(pgettext_lazy("report", "Work orders dispatched"), COUNT, "dispatched"),
        tickets(pgettext_lazy("report", "Work orders closed"), COUNT, "closed"),
        tickets(pgettext_lazy("report", "On-time rate"), RATE, "on_time_rate", 1),
        tickets(pgettext_lazy("report", "Median time to resolve (h)"), DECIMAL, "median_resolution_hours", -1),
        tickets(pgettext_lazy("report", "Satisfaction rate"), RATE, "satisfaction_rate", 1),
    ]

    service_now = sf.service_figures(current.date_from, current.date_to)
    service_before = sf.service_figures(before.date_from, before.date_to)
    summary += _service_summary(service_now, service_before)

    queues = rs.call_figures(current.date_from, current.date_to, group_by="queue")
    queue_columns = [Column("label", pgettext_lazy("report", "Queue"), TEXT), *_call_columns(*MONTHLY_CALL_KEYS)]
    month_params = {"date_from": current.date_from.isoformat(), "date_to": current.date_to.isoformat()}
    _link_calls(queues, queue_columns, lambda row: {**month_params, "queue": row["key"]} if row["key"] else None)
    rows, reasons = _agent_rows(agents_now)
    agent_columns = _agent_columns(reasons, short=True)
    _link_calls(rows, agent_columns, lambda row: {**month_params, "agent": row["agent"]} if row["agent"] else None)
    units = tickets_now["by_unit"]
    for row in units:
        row["label"] = f"{row['unit']} {row['name']}"
    caption = current.caption
    return MonthlyReport(
        title=_("Monthly operations report"),
        month_label=f"{first:%Y-%m}",
        previous_label=f"{before_first:%Y-%m}",
        caption=caption,
        summary=summary,
        days=_days_table(current.date_from, current.date_to, caption),
        details=[
            Table(pgettext_lazy("report", "Per queue"), queue_columns, queues, _total_row(calls_now), caption=caption),
            Table(
                pgettext_lazy("report", "Per agent"),
                agent_columns,
                rows,
                _agent_total(rows, calls_now, reasons),
                caption=caption,
            ),
            Table(
                pgettext_lazy("report", "Work orders by unit"),
                _ticket_columns(Column("label", pgettext_lazy("report", "Unit"), TEXT), overdue=False),
                units,
                {**tickets_now["total"], "label": _("Total")},
                caption=caption,
            ),
            _callback_table(service_now["callbacks"], caption),
            _loss_report_table(service_now["loss_reports"], caption),
            _refusal_table(service_now["ivr_transfers"], caption),
        ],
    )


def _service_summary(now: Mapping[str, Any], before: Mapping[str, Any]) -> list[Comparison]:
    """The monthly summary's lines of the self-service and callback figures."""

    def line(text: Any, kind: str, part: str, key: str, better: int = 0) -> Comparison:
        return Comparison(text, kind, now[part].get(key), before[part].get(key), better)

    return [
        line(pgettext_lazy("report", "Callbacks reached"), COUNT, "callbacks", "reached", 1),
        line(pgettext_lazy("report", "Callback reach rate"), RATE, "callbacks", "reach_rate", 1),
        line(pgettext_lazy("report", "Verbal loss reports"), COUNT, "loss_reports", "reported"),
        line(pgettext_lazy("report", "IVR transfers executed"), COUNT, "ivr_transfers", "executed"),
        line(pgettext_lazy("report", "IVR transfer amount (yuan)"), MONEY, "ivr_transfers", "amount_fen"),
        line(pgettext_lazy("report", "IVR transfers refused"), COUNT, "ivr_transfers", "refused", -1),
    ]


def _month_form(request: HttpRequest) -> MonthForm:
    return MonthForm(request.GET)


@role_required(*ANALYSTS)
def monthly(request: HttpRequest) -> HttpResponse:
    form = _month_form(request)
    context: dict[str, Any] = {"form": form, "tabs": _tabs(request, "monthly")}
    if form.is_valid():
        first = form.cleaned_data["month"]
        report = monthly_report(first)
        context.update(
            {
                "monthly": report,
                "summary": [
                    {
                        "label": line.label,
                        "current": exports.display(line.kind, line.current),
                        "previous": exports.display(line.kind, line.previous),
                        "change": line.change_text(),
                        "trend": line.judgement(),
                    }
                    for line in report.summary
                ],
                "chart": _day_chart(report.days.rows),
                "sections": [_cells(report.days), *(_cells(table) for table in report.details)],
                "xlsx_url": f"{reverse('reports:monthly-xlsx')}?month={first:%Y-%m}",
                "month": f"{first:%Y-%m}",
                "generated": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            }
        )
    return render(request, "reports/monthly.html", context, status=200 if form.is_valid() else 400)


@role_required(*ANALYSTS)
def monthly_xlsx(request: HttpRequest) -> HttpResponse:
    form = _month_form(request)
    if not form.is_valid():
        return render(request, "reports/monthly.html", {"form": form, "tabs": _tabs(request, "monthly")}, status=400)
    first = form.cleaned_data["month"]
    report = monthly_report(first)
    audit_record(
        actor=request.user,
        action="reports.export",
        object_type="report",
        object_id="monthly",
        details={"format": "xlsx", "month": f"{first:%Y-%m}"},
        request=request,
    )
    return exports.xlsx_response(exports.monthly_workbook(report), f"monthly-report-{first:%Y%m}")


urlpatterns = [
    path("monthly/", monthly, name="monthly"),
    path("monthly.xlsx", monthly_xlsx, name="monthly-xlsx"),
]
