"""The team leads' and the analyst's report tables (agents, queues, intervals, the IVR's nodes,
work orders by unit and category), their CSV and XLSX exports, and the monthly report
(月度运营报告): a workbook with a summary, charts and the detail tables, and a print-ready page
of the same.

Every figure comes from ``reports.selectors``; a page only arranges it. Every count of calls
links to the call search (``calls:search``) with the parameters that select exactly the calls it
counts. Who: team leads the agent, queue and interval tables; the analyst and the director
everything; other roles 403.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from agents.quality.selectors import qa_averages
from audit.services import audit_record
from calls.selectors import queue_list
from org.models import Unit
from org.navigation import display_name
from org.permissions import role_required
from org.roles import Role
from org.scoping import user_role
from tickets.models import Category

from .. import exports
from .. import selectors as rs
from .. import service_figures as sf
from ..adherence import adherence_table
from ..exports import COUNT, DECIMAL, DURATION, MONEY, RATE, TEXT, Column, Table
from ..forms import PRESETS, ReportFilterForm, month_end, preset_range
from ..kpi import occupancy_from
from ..outbound import build_outbound

TEAM = (Role.TEAM_LEAD, Role.ANALYST, Role.DIRECTOR)
ANALYSTS = (Role.ANALYST, Role.DIRECTOR)


# --- columns --------------------------------------------------------------------------------


def _call_columns(*keys: str) -> list[Column]:
    t, s = settings.CALLS_SERVICE_LEVEL_T_S, settings.CALLS_SHORT_ABANDON_S
    every = {
        "offered": Column("offered", pgettext_lazy("report", "Offered"), COUNT, drill=""),
        "answered": Column("answered", pgettext_lazy("report", "Answered"), COUNT, drill="answered"),
        "answered_in_t": Column("answered_in_t", _("Answered within %(t)s s") % {"t": t}, COUNT, drill="answered_in_t"),
        "abandoned": Column("abandoned", pgettext_lazy("report", "Abandoned"), COUNT, drill="abandoned"),
        "short_abandoned": Column(
            "short_abandoned", _("Short abandons (under %(s)s s)") % {"s": s}, COUNT, drill="short_abandoned"
        ),
        "service_level": Column("service_level", pgettext_lazy("report", "Service level"), RATE),
        "abandon_rate": Column("abandon_rate", pgettext_lazy("report", "Abandon rate"), RATE),
        "asa_s": Column("asa_s", pgettext_lazy("report", "ASA"), DURATION),
        "aht_s": Column("aht_s", pgettext_lazy("report", "AHT"), DURATION),
        "avg_talk_s": Column("avg_talk_s", pgettext_lazy("report", "Average talk"), DURATION),
        "avg_hold_s": Column("avg_hold_s", pgettext_lazy("report", "Average hold"), DURATION),
        "avg_acw_s": Column("avg_acw_s", pgettext_lazy("report", "Average after-call work"), DURATION),
        "avg_abandon_wait_s": Column(
            "avg_abandon_wait_s", pgettext_lazy("report", "Average wait of abandons"), DURATION
        ),
        "max_wait_s": Column("max_wait_s", pgettext_lazy("report", "Longest wait"), DURATION),
        "handle_s": Column("handle_s", pgettext_lazy("report", "Handle time"), DURATION),
        "held": Column("held", pgettext_lazy("report", "Calls held"), COUNT),
        "transferred": Column("transferred", pgettext_lazy("report", "Transferred"), COUNT),
        "callback_offered": Column("callback_offered", pgettext_lazy("report", "Callbacks offered"), COUNT),
    }
    return [every[key] for key in keys]


QUEUE_KEYS = (
    "offered",
    "answered",
    "answered_in_t",
    "abandoned",
    "short_abandoned",
    "service_level",
    "abandon_rate",
    "asa_s",
    "aht_s",
    "avg_talk_s",
    "avg_hold_s",
    "avg_acw_s",
    "avg_abandon_wait_s",
    "max_wait_s",
    "transferred",
    "callback_offered",
)
INTERVAL_KEYS = (
    "offered",
    "answered",
    "answered_in_t",
    "abandoned",
    "short_abandoned",
    "service_level",
    "abandon_rate",
    "asa_s",
    "aht_s",
    "max_wait_s",
)
MONTHLY_CALL_KEYS = ("offered", "answered", "abandoned", "service_level", "abandon_rate", "asa_s", "aht_s")


def _agent_columns(reasons: Sequence[str], *, short: bool = False) -> list[Column]:
    """The agent table's columns; one column per not-ready reason that has time in the period."""
    columns = [
        Column("name", pgettext_lazy("report", "Agent"), TEXT),
        Column("agent", pgettext_lazy("report", "Username"), TEXT),
        *_call_columns("answered", "aht_s", "avg_talk_s", "avg_hold_s", "avg_acw_s"),
    ]
    if not short:
        columns += _call_columns("handle_s", "held", "transferred")
    columns += [
        Column("logged_in_s", pgettext_lazy("report", "Logged in"), DURATION),
        Column("ready_s", pgettext_lazy("report", "Ready"), DURATION),
        Column("handling_s", pgettext_lazy("report", "Busy"), DURATION),
        Column("not_ready_s", pgettext_lazy("report", "Not ready"), DURATION),
    ]
    if not short:
        reason_labels = rs.REASON_LABELS
        columns += [
            Column(
                f"reason:{reason}",
                _("Not ready: %(reason)s") % {"reason": reason_labels.get(reason, reason or "—")},
                DURATION,
            )
            for reason in reasons
        ]
    columns.append(Column("occupancy", pgettext_lazy("report", "Occupancy"), RATE))
    return columns


def _ticket_columns(first: Column, *, overdue: bool) -> list[Column]:
    columns = [
        first,
        Column("dispatched", pgettext_lazy("report", "Dispatched"), COUNT),
        Column("closed", pgettext_lazy("work orders", "Closed"), COUNT),
        Column("on_time_rate", pgettext_lazy("report", "On-time rate"), RATE),
        Column("median_resolution_hours", pgettext_lazy("report", "Median time to resolve (h)"), DECIMAL),
        Column("satisfaction_rate", pgettext_lazy("report", "Satisfaction rate"), RATE),
    ]
    if overdue:
        columns.append(Column("overdue_now", pgettext_lazy("report", "Overdue now"), COUNT))
    return columns


# --- links ----------------------------------------------------------------------------------


def _base(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def _url(base: str, params: Mapping[str, Any]) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{base}?{query}" if query else base


def _link_calls(rows: Sequence[dict[str, Any]], columns: Sequence[Column], params_of: Callable[[dict], dict | None]):
    """Notes on each row the call search's parameters of its calls (``_drill``); the page links
    each count column to them with the column's ``outcome`` (``Column.drill``)."""
    for row in rows:
        row["_drill"] = params_of(row)


def _call_links(row: Mapping[str, Any], columns: Sequence[Column], base: str) -> dict[str, str]:
    params = row.get("_drill")
    if params is None:
        return {}
    prefix = _url(base, params)
    joint = "&" if "?" in prefix else "?"
    return {
        column.key: f"{prefix}{joint}outcome={column.drill}" if column.drill else prefix
        for column in columns
        if column.drill is not None
    }


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


@dataclass
class Filters:
    date_from: date
    date_to: date
    period: str = ""
    queue: str = ""
    agent: str = ""
    unit: str = ""
    by: str = "interval"
    caption: str = ""
    query: dict[str, str] = field(default_factory=dict)  # the filters as query parameters
    role: str = ""  # the viewer's role (a report may show a team lead less)

    def query_dates(self) -> tuple[str, str]:
        return self.date_from.isoformat(), self.date_to.isoformat()


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


def _total_row(figures: dict[str, Any], key: str = "label") -> dict[str, Any]:
    return {**figures, key: _("Total")}


def build_queues(filters: Filters) -> list[Table]:
    agent = filters.agent or None
    rows = rs.call_figures(
        filters.date_from, filters.date_to, queue=filters.queue or None, agent=agent, group_by="queue"
    )
    total = _total_row(rs.call_figures(filters.date_from, filters.date_to, queue=filters.queue or None, agent=agent))
    columns = [Column("label", pgettext_lazy("report", "Queue"), TEXT), *_call_columns(*QUEUE_KEYS)]
    common = {
        "date_from": filters.date_from.isoformat(),
        "date_to": filters.date_to.isoformat(),
        "agent": filters.agent,
    }
    _link_calls(rows, columns, lambda row: {**common, "queue": row["key"]} if row["key"] else None)
    _link_calls([total], columns, lambda row: {**common, "queue": filters.queue})
    return [Table(pgettext_lazy("report", "Queues"), columns, rows, total, caption=filters.caption)]


def _period_params(key: str, by: str, filters: Filters) -> dict[str, Any]:
    if by == "interval":
        return {"date_from": key[:10], "date_to": key[:10], "interval": key[:16]}
    if by == "day":
        return {"date_from": key, "date_to": key}
    if by == "week":
        start = date.fromisoformat(key)
        end = start + timedelta(days=6)
    else:  # month
        start = date.fromisoformat(f"{key}-01")
        end = month_end(start)
    return {"date_from": max(start, filters.date_from).isoformat(), "date_to": min(end, filters.date_to).isoformat()}


BY_LABELS = {
    "interval": pgettext_lazy("report", "Interval"),
    "day": pgettext_lazy("report", "Day"),
    "week": pgettext_lazy("report", "Week of"),
    "month": pgettext_lazy("report", "Month"),
}


def build_intervals(filters: Filters) -> list[Table]:
    by = filters.by
    queue, agent = filters.queue or None, filters.agent or None
    rows = rs.call_figures(filters.date_from, filters.date_to, queue=queue, agent=agent, group_by=by)
    total = _total_row(rs.call_figures(filters.date_from, filters.date_to, queue=queue, agent=agent))
    columns = [Column("label", BY_LABELS[by], TEXT), *_call_columns(*INTERVAL_KEYS)]
    common = {"queue": filters.queue, "agent": filters.agent}
    _link_calls(rows, columns, lambda row: {**common, **_period_params(row["key"], by, filters)})
    _link_calls(
        [total],
        columns,
        lambda row: {**common, "date_from": filters.date_from.isoformat(), "date_to": filters.date_to.isoformat()},
    )
    title = (
        pgettext_lazy("report", "Intervals (30 minutes)")
        if by == "interval"
        else pgettext_lazy("report", "Calls by period")
    )
    return [Table(title, columns, rows, total, caption=filters.caption)]


def _agent_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Flattens the not-ready reasons into ``reason:<code>`` keys; returns the reasons seen."""
    reasons: set[str] = set()
    for row in rows:
        for reason, seconds in (row.get("not_ready_by_reason") or {}).items():
            if seconds:
                reasons.add(reason)
                row[f"reason:{reason}"] = seconds
    order = list(rs.REASON_LABELS)
    return rows, sorted(reasons, key=lambda reason: (order.index(reason) if reason in order else len(order), reason))


def _agent_total(rows: Sequence[dict[str, Any]], figures: dict[str, Any], reasons: Sequence[str]) -> dict[str, Any]:
    total: dict[str, Any] = {**figures, "name": _("Total"), "agent": ""}
    for key in ("logged_in_s", "ready_s", "handling_s", "not_ready_s", *(f"reason:{r}" for r in reasons)):
        total[key] = round(sum(row.get(key) or 0 for row in rows), 1)
    total["occupancy"] = occupancy_from(int(total["handling_s"] * 1000), int(total["ready_s"] * 1000))
    return total


def build_agents(filters: Filters, *, short: bool = False) -> list[Table]:
    rows, reasons = _agent_rows(rs.agent_table(filters.date_from, filters.date_to, queue=filters.queue or None))
    if filters.agent:
        rows = [row for row in rows if row["agent"] == filters.agent]
    figures = rs.call_figures(
        filters.date_from, filters.date_to, queue=filters.queue or None, agent=filters.agent or None
    )
    total = _agent_total(rows, figures, reasons)
    columns = _agent_columns(reasons, short=short)
    common = {
        "date_from": filters.date_from.isoformat(),
        "date_to": filters.date_to.isoformat(),
        "queue": filters.queue,
    }
    _link_calls(rows, columns, lambda row: {**common, "agent": row["agent"]} if row["agent"] else None)
    _link_calls([total], columns, lambda row: {**common, "agent": filters.agent})
    agents_table = Table(pgettext_lazy("report", "Agents"), columns, rows, total, caption=filters.caption)
    adherence = None if short else adherence_table(filters.date_from, filters.date_to, agent=filters.agent)
    # Adherence where the period has published shifts (docs/wfm.md).
    return [agents_table, adherence] if adherence and adherence.rows else [agents_table]


def build_ivr(filters: Filters) -> list[Table]:
    figures = rs.ivr_figures(filters.date_from, filters.date_to)
    summary_columns = [
        Column("calls", pgettext_lazy("report", "IVR calls"), COUNT),
        Column("self_served", pgettext_lazy("report", "Ended in the IVR"), COUNT),
        Column("to_agent", pgettext_lazy("report", "Asked for an agent"), COUNT),
        Column("in_progress", pgettext_lazy("report", "Still in progress"), COUNT),
        Column("containment", pgettext_lazy("report", "Containment"), RATE),
        Column("auth_failures", pgettext_lazy("report", "Authentication failures"), COUNT),
        Column("lockouts", pgettext_lazy("report", "Lockouts"), COUNT),
    ]
    node_columns = [
        Column("label", pgettext_lazy("report", "Node"), TEXT),
        Column("node", pgettext_lazy("report", "Node key"), TEXT),
        Column("visits", pgettext_lazy("report", "Visits"), COUNT),
        Column("exits", pgettext_lazy("report", "Calls ended here"), COUNT),
    ]
    return [
        Table(pgettext_lazy("report", "IVR node usage"), node_columns, figures["nodes"], caption=filters.caption),
        Table(pgettext_lazy("report", "IVR calls"), summary_columns, [figures], caption=filters.caption),
    ]


def build_tickets(filters: Filters) -> list[Table]:
    figures = rs.ticket_figures(filters.date_from, filters.date_to)
    base = _base("tickets:list", "/tickets/")
    # "Dispatched" and "closed" count by the day of first dispatch and of closure
    # (``ticket_statistics``); the list's filters of those days list exactly the rows counted, and
    # the rates (of the work orders closed) link to the closed ones.
    dispatched_in = {"dispatched_from": filters.date_from.isoformat(), "dispatched_to": filters.date_to.isoformat()}
    closed_in = {"closed_from": filters.date_from.isoformat(), "closed_to": filters.date_to.isoformat()}

    def figure_links(**params: str) -> dict[str, str]:
        closed = _url(base, {**params, **closed_in})
        return {
            "dispatched": _url(base, {**params, **dispatched_in}),
            "closed": closed,
            "on_time_rate": closed,
            "median_resolution_hours": closed,
            "satisfaction_rate": closed,
        }

    by_unit = [row for row in figures["by_unit"] if not filters.unit or row["unit"] == filters.unit]
    for row in by_unit:
        row["label"] = f"{row['unit']} {row['name']}"
        row["_links"] = {
            "label": _url(base, {"unit": row["unit"]}),
            **figure_links(unit=row["unit"]),
            "overdue_now": _url(base, {"unit": row["unit"], "overdue": "on", "order": "due"}),
        }
    if filters.unit:
        total = by_unit[0] if by_unit else None
        total = {**total, "label": _("Total")} if total else None
        by_category = [row for row in figures["by_unit_category"] if row["unit"] == filters.unit]
    else:
        total = {**figures["total"], "label": _("Total")}
        by_category = figures["by_category"]
    categories = dict(Category.choices)
    for row in by_category:
        row["label"] = str(categories.get(row["category"], row["category"]))
        row["_links"] = {
            "label": _url(base, {"unit": filters.unit, "category": row["category"]}),
            **figure_links(unit=filters.unit, category=row["category"]),
        }
    if total:
        total["_links"] = {
            **figure_links(unit=filters.unit),
            "overdue_now": _url(base, {"unit": filters.unit, "overdue": "on", "order": "due"}),
        }
    return [
        Table(
            pgettext_lazy("report", "Work orders by unit"),
            _ticket_columns(Column("label", pgettext_lazy("report", "Unit"), TEXT), overdue=True),
            by_unit,
            total,
            caption=filters.caption,
        ),
        Table(
            pgettext_lazy("report", "Work orders by category"),
            _ticket_columns(Column("label", pgettext_lazy("report", "Category"), TEXT), overdue=False),
            sorted(by_category, key=lambda row: row["label"]) if filters.unit else by_category,
            caption=filters.caption,
        ),
    ]


# --- self-service and callbacks -------------------------------------------------------------


def _callback_columns() -> list[Column]:
    return [
        Column("name", pgettext_lazy("report", "Agent"), TEXT),
        Column("agent", pgettext_lazy("report", "Username"), TEXT),
        Column("created", pgettext_lazy("report", "Callbacks"), COUNT),
        Column("reached", gettext_lazy("Reached"), COUNT),
        Column("not_reached", gettext_lazy("Not reached"), COUNT),
        Column("cancelled", gettext_lazy("Cancelled"), COUNT),
        Column("open", pgettext_lazy("callbacks", "Still open"), COUNT),
        Column("attempts", pgettext_lazy("callbacks", "Calls made"), COUNT),
        Column("reach_rate", pgettext_lazy("callbacks", "Reach rate"), RATE),
    ]


def _callback_table(figures: Mapping[str, Any], caption: str) -> Table:
    rows = []
    for row in figures["by_agent"]:
        rows.append(
            {
                **row,
                "name": row["name"] or pgettext_lazy("callbacks", "Not assigned (the queue's)"),
                "created": row["open"] + row["reached"] + row["not_reached"] + row["cancelled"],
            }
        )
    total = {**figures, "name": _("Total"), "agent": ""}
    return Table(pgettext_lazy("report", "Callbacks per agent"), _callback_columns(), rows, total, caption=caption)


def _loss_report_table(figures: Mapping[str, Any], caption: str) -> Table:
    columns = [
        Column("label", pgettext_lazy("report", "Channel"), TEXT),
        Column("reported", pgettext_lazy("loss reports", "Reported"), COUNT),
        Column("in_force", pgettext_lazy("loss reports", "Still in force"), COUNT),
        Column("cancelled", gettext_lazy("Cancelled"), COUNT),
        Column("expired", gettext_lazy("Expired"), COUNT),
        Column("formalized", gettext_lazy("Formalized"), COUNT),
    ]
    total = {**figures, "label": _("Total")}
    return Table(pgettext_lazy("report", "Verbal loss reports"), columns, figures["by_channel"], total, caption=caption)


def _ivr_transfer_table(figures: Mapping[str, Any], caption: str) -> Table:
    columns = [
        Column("attempts", pgettext_lazy("ivr transfers", "Transfers asked for"), COUNT),
        Column("executed", pgettext_lazy("ivr transfers", "Executed"), COUNT),
        Column("amount_fen", pgettext_lazy("ivr transfers", "Amount executed (yuan)"), MONEY),
        Column("refused", pgettext_lazy("ivr transfers", "Refused"), COUNT),
        Column("refusal_rate", pgettext_lazy("ivr transfers", "Refusal rate"), RATE),
        Column("refused_calls", pgettext_lazy("ivr transfers", "Calls with a refusal"), COUNT),
    ]
    return Table(pgettext_lazy("report", "Transfers in the IVR"), columns, [figures], caption=caption)


def _refusal_table(figures: Mapping[str, Any], caption: str) -> Table:
    columns = [
        Column("label", gettext_lazy("Reason"), TEXT),
        Column("code", gettext_lazy("Code"), TEXT),
        Column("refused", pgettext_lazy("ivr transfers", "Refused"), COUNT),
        Column("share", pgettext_lazy("ivr transfers", "Share of refusals"), RATE),
    ]
    refused = figures["refused"]
    total = {"label": _("Total"), "code": "", "refused": refused, "share": 1.0 if refused else None}
    return Table(
        pgettext_lazy("report", "IVR transfers refused by reason"),
        columns,
        figures["by_reason"],
        total,
        caption=caption,
    )


def build_service(filters: Filters) -> list[Table]:
    """Callbacks per agent (everyone who sees the page); verbal loss reports, the IVR's transfers
    and their refusals by reason (the analyst and the director)."""
    if filters.role not in ANALYSTS:
        return [_callback_table(sf.callback_figures(filters.date_from, filters.date_to), filters.caption)]
    figures = sf.service_figures(filters.date_from, filters.date_to)
    caption = filters.caption
    return [
        _callback_table(figures["callbacks"], caption),
        _loss_report_table(figures["loss_reports"], caption),
        _ivr_transfer_table(figures["ivr_transfers"], caption),
        _refusal_table(figures["ivr_transfers"], caption),
    ]


def build_quality(filters: Filters) -> list[Table]:
    """Quality scoring (质检): the average score of the calls recorded in the period, per agent and
    per team (``agents.quality.selectors.qa_averages``; a failed fatal item counts as 0)."""
    figures = qa_averages(filters.date_from, filters.date_to, agent=filters.agent)
    scored = [
        Column("evaluations", pgettext_lazy("report", "Calls scored"), COUNT),
        Column("average", pgettext_lazy("report", "Average QA score (%)"), DECIMAL),
        Column("fatal", pgettext_lazy("report", "Fatal items failed"), COUNT),
    ]
    agent_columns = [
        Column("name", pgettext_lazy("report", "Agent"), TEXT),
        Column("agent", pgettext_lazy("report", "Username"), TEXT),
        Column("team", pgettext_lazy("report", "Team"), TEXT),
        *scored,
    ]
    team_columns = [
        Column("team", pgettext_lazy("report", "Team"), TEXT),
        Column("lead", pgettext_lazy("report", "Team lead"), TEXT),
        Column("agents", pgettext_lazy("report", "Agents scored"), COUNT),
        *scored,
    ]
    teams = [{**row, "team": row["team"] or _("No team")} for row in figures["teams"]]
    total = {**figures["total"], "name": _("Total"), "team": _("Total"), "agents": len(figures["agents"])}
    return [
        Table(
            pgettext_lazy("report", "QA scores by agent"),
            agent_columns,
            figures["agents"],
            total,
            caption=filters.caption,
        ),
        Table(pgettext_lazy("report", "QA scores by team"), team_columns, teams, total, caption=filters.caption),
    ]


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
