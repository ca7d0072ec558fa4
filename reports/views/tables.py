"""The team leads' and the analyst's report tables (agents, queues, intervals, the IVR's nodes,
work orders by unit and category), their CSV and XLSX exports, and the monthly report
(月度运营报告): a workbook with a summary, charts and the detail tables, and a print-ready page
of the same.

Every figure comes from ``reports.selectors``; a page only arranges it. Every count of calls
links to the call search (``calls:search``) with the parameters that select exactly the calls it
counts. Who: team leads the agent, queue and interval tables; the analyst and the director
everything; other roles 403.

The tables are built in ``reports.call_tables`` (agents, queues, intervals, the IVR's nodes),
``ticket_tables``, ``service_tables``, ``quality``, ``adherence`` and ``outbound``, from the
filters and with the links of ``reports.table_common``; this module holds the list of reports,
the filter form and the pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from audit.services import audit_record
from calls.selectors import queue_list
from org.models import Unit
from org.navigation import display_name
from org.permissions import role_required
from org.roles import Role
from org.scoping import user_role

from .. import exports
from ..call_tables import build_agents, build_intervals, build_ivr, build_queues
from ..exports import TEXT, Table
from ..forms import PRESETS, ReportFilterForm, preset_range
from ..outbound import build_outbound
from ..quality import build_quality
from ..service_tables import build_service
from ..table_common import ANALYSTS, TEAM, Filters, _base, _call_links
from ..ticket_tables import build_tickets

# --- the filters ----------------------------------------------------------------------------


def _queue_choices() -> list[tuple[str, str]]:
    return [(queue.code, queue.display_name) for queue in queue_list(active_only=False)]


def _agent_choices() -> list[tuple[str, str]]:
    users = (
        get_user_model()
        .objects.filter(profile__role__in=[Role.AGENT, Role.TEAM_LEAD])
        .order_by("username")
        .only("username", "first_name", "last_name")
    )
    return [(user.username, f"{display_name(user)} ({user.username})") for user in users]


def _unit_choices() -> list[tuple[str, str]]:
    return [
        (unit.code, f"{unit.code} {unit.name}") for unit in Unit.objects.filter(is_active=True).order_by("kind", "code")
    ]


def _filter_form(request: HttpRequest, fields: Sequence[str], default_period: str) -> ReportFilterForm:
    choices: dict[str, Any] = {}
    if "queue" in fields:
        choices["queues"] = _queue_choices()
    if "agent" in fields:
        choices["agents"] = _agent_choices()
    if "unit" in fields:
        choices["units"] = _unit_choices()
    return ReportFilterForm(request.GET, fields=fields, default_period=default_period, **choices)


def _filters(form: ReportFilterForm) -> Filters:
    data = form.cleaned_data
    names = {name: dict(form.fields[name].choices) for name in ("queue", "agent", "unit") if name in form.fields}  # type: ignore[attr-defined]
    parts = [f"{data['date_from']:%Y-%m-%d} – {data['date_to']:%Y-%m-%d}"]
    for name in ("queue", "agent", "unit"):
        if name in names:
            value = names[name].get(data.get(name) or "", "")
            parts.append(_("%(label)s: %(value)s") % {"label": form.fields[name].label, "value": value})
    filters = Filters(
        date_from=data["date_from"],
        date_to=data["date_to"],
        period=data.get("period") or "",
        queue=data.get("queue") or "",
        agent=data.get("agent") or "",
        unit=data.get("unit") or "",
        by=data.get("by") or "interval",
        caption=" · ".join(parts),
    )
    # The date inputs show the dates a preset named (a bound form shows what was sent).
    date_from, date_to = filters.query_dates()
    form.data = {**dict(form.data.items()), "date_from": date_from, "date_to": date_to}
    filters.query = {
        "date_from": filters.date_from.isoformat(),
        "date_to": filters.date_to.isoformat(),
        **{name: getattr(filters, name) for name in ("queue", "agent", "unit", "by") if name in form.fields},
    }
    return filters


# --- the reports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    name: str  # url name and file name
    title: Any
    description: Any
    roles: tuple[str, ...]
    fields: tuple[str, ...]
    default_period: str
    build: Callable[[Filters], list[Table]]


REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            "agents",
            pgettext_lazy("report", "Agents"),
            gettext_lazy("Calls each agent took, handle times, time ready and not ready by reason, occupancy."),
            TEAM,
            ("queue", "agent"),
            "today",
            build_agents,
        ),
        Report(
            "queues",
            pgettext_lazy("report", "Queues"),
            gettext_lazy("Offered, answered and abandoned calls, service level and waits per queue."),
            TEAM,
            ("queue", "agent"),
            "today",
            build_queues,
        ),
        Report(
            "intervals",
            pgettext_lazy("report", "Intervals"),
            gettext_lazy("The same figures per 30 minutes, day, week or month."),
            TEAM,
            ("by", "queue", "agent"),
            "today",
            build_intervals,
        ),
        Report(
            "ivr",
            pgettext_lazy("report", "IVR nodes"),
            gettext_lazy("How callers move through the voice menu and where they leave it."),
            ANALYSTS,
            (),
            "this_month",
            build_ivr,
        ),
        Report(
            "tickets",
            pgettext_lazy("report", "Work orders"),
            gettext_lazy("Work orders dispatched and closed per unit and category, on time, satisfaction, overdue."),
            ANALYSTS,
            ("unit",),
            "this_month",
            build_tickets,
        ),
        Report(
            "service",
            pgettext_lazy("report", "Self-service and callbacks"),
            gettext_lazy(
                "Callbacks made and reached per agent; verbal loss reports by channel; transfers customers "
                "made in the IVR and why refused ones were refused."
            ),
            TEAM,
            (),
            "this_month",
            build_service,
        ),
        Report(
            "quality",
            pgettext_lazy("report", "Quality scoring"),
            gettext_lazy(
                "Average quality (QA) score of the recorded calls per agent and per team; fatal items failed."
            ),
            TEAM,
            ("agent",),
            "this_month",
            build_quality,
        ),
        Report(
            "outbound",
            pgettext_lazy("report", "Outbound campaigns"),
            gettext_lazy("Dials, contact rate, conversion and handle time per campaign."),
            TEAM,
            (),
            "this_month",
            build_outbound,
        ),
    )
}


# --- pages ----------------------------------------------------------------------------------


def _cells(table: Table) -> dict[str, Any]:
    """The table as the template shows it: formatted text, a link, numeric alignment."""
    columns = table.columns
    base = _base("calls:search", "/calls/")

    def line(row: Mapping[str, Any]) -> list[dict[str, Any]]:
        links = {**(row.get("_links") or {}), **_call_links(row, columns, base)}
        return [
            {
                "text": exports.display(column.kind, row.get(column.key)),
                "url": links.get(column.key) if row.get(column.key) else None,
                "num": column.kind != TEXT,
            }
            for column in columns
        ]

    return {
        "title": table.title,
        "headers": [{"text": column.label, "num": column.kind != TEXT} for column in columns],
        "rows": [line(row) for row in table.rows],
        "total": line(table.total) if table.total else None,
    }


def _tabs(request: HttpRequest, current: str) -> list[dict[str, Any]]:
    role = user_role(request.user)
    tabs = [
        {"url": reverse(f"reports:{report.name}"), "label": report.title, "active": name == current}
        for name, report in REPORTS.items()
        if role in report.roles
    ]
    if role in ANALYSTS:
        tabs.append(
            {
                "url": reverse("reports:monthly"),
                "label": pgettext_lazy("report", "Monthly report"),
                "active": current == "monthly",
            }
        )
    return tabs


def _presets(request: HttpRequest, form: ReportFilterForm, filters: Filters | None) -> list[dict[str, Any]]:
    """The period presets as links keeping the other filters; the one whose dates are shown is
    marked, however they were chosen."""
    params = request.GET.copy()
    for name in ("period", "date_from", "date_to", "format"):
        params.pop(name, None)
    presets = []
    for value, text in PRESETS:
        params["period"] = value
        active = filters is not None and preset_range(value, form.today) == (filters.date_from, filters.date_to)
        presets.append({"url": f"?{params.urlencode()}", "label": text, "active": active})
    return presets


def _export(request: HttpRequest, report: Report, tables: list[Table], filters: Filters, fmt: str) -> HttpResponseBase:
    audit_record(
        actor=request.user,
        action="reports.export",
        object_type="report",
        object_id=report.name,
        details={"format": fmt, "query": urlencode(filters.query)[:500]},
        request=request,
    )
    filename = f"{report.name}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}"
    if fmt == "csv":
        return exports.csv_response(tables[0], filename)
    return exports.xlsx_response(exports.tables_workbook(tables, title=str(report.title)), filename)


def _report_view(report: Report) -> Callable[[HttpRequest], HttpResponseBase]:
    @role_required(*report.roles)
    def view(request: HttpRequest) -> HttpResponseBase:
        form = _filter_form(request, report.fields, report.default_period)
        tables: list[Table] = []
        filters = None
        if form.is_valid():
            filters = _filters(form)
            filters.role = user_role(request.user) or ""
            tables = report.build(filters)
            fmt = request.GET.get("format", "")
            if fmt in ("csv", "xlsx"):
                return _export(request, report, tables, filters, fmt)
        query = urlencode(filters.query) if filters else ""
        return render(
            request,
            "reports/table.html",
            {
                "report": report,
                "form": form,
                "filters": filters,
                "tables": [_cells(table) for table in tables],
                "calls_note": report.name in ("agents", "queues", "intervals"),
                "tabs": _tabs(request, report.name),
                "presets": _presets(request, form, filters),
                "csv_url": f"?{query}&format=csv" if filters else "",
                "xlsx_url": f"?{query}&format=xlsx" if filters else "",
                "thresholds": {"t": settings.CALLS_SERVICE_LEVEL_T_S, "s": settings.CALLS_SHORT_ABANDON_S},
            },
            status=200 if form.is_valid() else 400,
        )

    view.__name__ = f"report_{report.name}"
    return view


@role_required(*TEAM)
def index(request: HttpRequest) -> HttpResponse:
    role = user_role(request.user)
    reports = [
        {"url": reverse(f"reports:{report.name}"), "title": report.title, "description": report.description}
        for report in REPORTS.values()
        if role in report.roles
    ]
    if role in ANALYSTS:
        reports.append(
            {
                "url": reverse("reports:monthly"),
                "title": pgettext_lazy("report", "Monthly report"),
                "description": gettext_lazy(
                    "The month's operations report for the director: the KPIs against the previous month, "
                    "charts and the detail tables, as a workbook or a page to print."
                ),
            }
        )
    return render(request, "reports/index.html", {"reports": reports, "tabs": _tabs(request, "")})


urlpatterns = [
    path("", index, name="index"),
    *(path(f"{name}/", _report_view(report), name=name) for name, report in REPORTS.items()),
]
