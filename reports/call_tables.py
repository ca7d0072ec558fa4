"""The report tables of the calls: agents (with their schedule adherence, ``adherence``), queues,
intervals (30 minutes, day, week or month) and the IVR's nodes — figures from
``reports.selectors`` (the definitions of ``reports.kpi``); a page only arranges them. Every count
of calls links to the call search with the parameters that select exactly the calls it counts
(``table_common._link_calls``). The monthly report (``views/monthly.py``) uses the same columns
and rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from . import selectors as rs
from .adherence import adherence_table
from .exports import COUNT, DURATION, RATE, TEXT, Column, Table
from .forms import month_end
from .kpi import occupancy_from
from .table_common import Filters, _link_calls

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


# --- the tables ---------------------------------------------------------------------------


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
