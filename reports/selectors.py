"""Reads of the reports: every KPI the pages, the dashboard, the exports and the API show.

Call figures come from the rollups (``reports.models.CallDay``, ``CallInterval`` by interval and
hour), never from scanning the
calls, except today's live figures for the wallboard (``live_*``: the calls queued today, which
the rollup follows a few seconds behind). ``call_figures_raw`` computes the same figures from the
calls with the same definitions (``reports.kpi``); the tests compare the two, the benchmark times
them. All dates are local dates (Asia/Shanghai), inclusive. A ratio with a zero denominator is
``None``. Test calls are never counted.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, Max, QuerySet, Sum, Value, When
from django.db.models.functions import Trunc
from django.utils import timezone

from agents import errors as agent_errors
from agents.models import AgentState, Reason
from calls.selectors import counted_calls, queue_list, wallboard_snapshot
from core.dates import local_day_bounds
from ivr.labels import node_label
from org.navigation import display_name
from tickets.selectors import ticket_statistics, unit_overdue_counts

from .kpi import (
    CALL_MAXIMA,
    CALL_SUMS,
    HANDLING_STATES,
    NOT_READY_STATE,
    READY_STATE,
    add_sums,
    call_kpis_from,
    call_sums,
    occupancy_from,
    ratio,
    unprefixed,
)
from .models import AgentStateInterval, CallDay, CallInterval, IvrInterval, IvrNodeInterval

User = get_user_model()

GROUPS = ("queue", "agent", "interval", "day", "week", "month", "year")
PERIODS = ("day", "week", "month", "year")
STATE_LABELS = dict(AgentState.choices)
REASON_LABELS = dict(Reason.choices)


# --- dimensions -----------------------------------------------------------------------------------


def _queue_id(code: str | None) -> int | None:
    if not code:
        return None
    pk = queue_list(active_only=False).filter(code=code).values_list("pk", flat=True).first()
    if pk is None:
        raise agent_errors.UnknownQueue(details={"field": "queue"})
    return pk


def _agent_id(username: str | None) -> int | None:
    if not username:
        return None
    pk = User.objects.filter(username=username).values_list("pk", flat=True).first()
    if pk is None:
        raise agent_errors.UnknownAgent(details={"field": "agent"})
    return pk


def _queues() -> dict[int, tuple[str, str, int]]:
    """``{id: (code, name, position)}`` of every queue."""
    return {queue.pk: (queue.code, queue.display_name, queue.position) for queue in queue_list(active_only=False)}


def _agents(ids: set[int]) -> dict[int, tuple[str, str]]:
    return {user.pk: (user.username, display_name(user)) for user in User.objects.filter(pk__in=ids)}


def _label(group_by: str, moment: datetime | date) -> tuple[str, str]:
    """Key and label of a time group."""
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment)
    if group_by == "interval":
        assert isinstance(moment, datetime)
        return moment.strftime("%Y-%m-%dT%H:%M"), moment.strftime("%m-%d %H:%M")
    day = moment.date() if isinstance(moment, datetime) else moment
    if group_by == "month":
        return day.strftime("%Y-%m"), day.strftime("%Y-%m")
    if group_by == "year":
        return day.strftime("%Y"), day.strftime("%Y")
    return day.isoformat(), day.isoformat()


# --- call figures ---------------------------------------------------------------------------------


def _rollup_rows(
    date_from: date, date_to: date, queue_id: int | None, agent_id: int | None, *, by_interval: bool = False
) -> QuerySet:
    """The rollup rows of the period: the day rows, or the 30-minute ones (``by_interval``)."""
    if by_interval:
        start, end = local_day_bounds(date_from, date_to)
        rows: QuerySet = CallInterval.objects.filter(start__gte=start, start__lt=end)
    else:
        rows = CallDay.objects.filter(day__gte=date_from, day__lte=date_to)
    if queue_id is not None:
        rows = rows.filter(queue_id=queue_id)
    if agent_id is not None:
        rows = rows.filter(agent_id=agent_id)
    return rows


def _rollup_sums() -> dict[str, Any]:
    # Annotations named like the rollup's columns would refer to them: an ``s_`` prefix.
    sums: dict[str, Any] = {f"s_{key}": Sum(key) for key in CALL_SUMS}
    sums.update({f"s_{key}": Max(key) for key in CALL_MAXIMA})
    return sums


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {key.removeprefix("s_"): value for key, value in row.items()}


def _grouped(rows: QuerySet, group_by: str, *, raw: bool) -> list[tuple[Any, dict[str, Any]]]:
    """``[(group value, sums)]`` of rollup rows (``raw=False``) or calls (``raw=True``)."""
    tz = timezone.get_default_timezone()
    moment = "queued_at"
    sums, strip = (call_sums(), unprefixed) if raw else (_rollup_sums(), _strip)
    if group_by == "queue":
        field = "service_queue_id" if raw else "queue_id"
        return [(row.pop(field) or 0, strip(row)) for row in rows.values(field).order_by().annotate(**sums)]
    if group_by == "agent":
        return [(row.pop("agent_id") or 0, strip(row)) for row in rows.values("agent_id").order_by().annotate(**sums)]
    if group_by == "interval" and raw:
        grouped = (
            rows.annotate(
                hour=Trunc("queued_at", "hour", tzinfo=tz),
                half=Case(
                    When(queued_at__minute__gte=30, then=Value(1)), default=Value(0), output_field=IntegerField()
                ),
            )
            .values("hour", "half")
            .order_by()
            .annotate(**sums)
        )
        merged: dict[datetime, list[dict[str, Any]]] = {}
        for row in grouped:
            at = timezone.localtime(row.pop("hour") + timedelta(minutes=30) * row.pop("half"))
            merged.setdefault(at, []).append(strip(row))
        return [(at, add_sums(parts)) for at, parts in merged.items()]
    if group_by == "interval":
        return [(row.pop("start"), strip(row)) for row in rows.values("start").order_by().annotate(**sums)]
    if group_by == "day" and not raw:
        return [(row.pop("day"), strip(row)) for row in rows.values("day").order_by().annotate(**sums)]
    if group_by in PERIODS:
        # The day rows are local dates already; the calls' times are truncated in local time.
        period = Trunc("day", group_by) if not raw else Trunc(moment, group_by, tzinfo=tz)
        grouped = rows.annotate(period=period).values("period").order_by().annotate(**sums)
        return [(row.pop("period"), strip(row)) for row in grouped]
    raise ValueError(group_by)


def _figures(rows: QuerySet, group_by: str | None, *, raw: bool) -> dict[str, Any] | list[dict[str, Any]]:
    if group_by is None:
        sums = call_sums() if raw else _rollup_sums()
        return call_kpis_from((unprefixed if raw else _strip)(rows.aggregate(**sums)))
    grouped = _grouped(rows, group_by, raw=raw)
    result = []
    if group_by == "queue":
        queues = _queues()
        for pk, sums in grouped:
            code, name, position = queues.get(pk, ("", "—", 9999))
            result.append({"key": code, "label": name, "order": (position, code), **call_kpis_from(sums)})
    elif group_by == "agent":
        agents = _agents({pk for pk, _sums in grouped})
        for pk, sums in grouped:
            username, name = agents.get(pk, ("", "—"))
            result.append({"key": username, "label": name, "order": (username == "", username), **call_kpis_from(sums)})
    else:
        for moment, sums in grouped:
            key, label = _label(group_by, moment)
            result.append({"key": key, "label": label, "order": key, **call_kpis_from(sums)})
    result.sort(key=lambda row: row.pop("order"))
    return result


def call_figures(
    date_from: date,
    date_to: date,
    *,
    queue: str | None = None,
    agent: str | None = None,
    group_by: str | None = None,
) -> Any:
    """The call KPIs (``reports.kpi.call_kpis_from``) of the calls first queued in the period,
    of one queue (code) and/or agent (username), from the rollups: one dict, or with
    ``group_by`` (``GROUPS``) a list of ``{"key", "label", **figures}``."""
    rows = _rollup_rows(date_from, date_to, _queue_id(queue), _agent_id(agent), by_interval=group_by == "interval")
    return _figures(rows, group_by, raw=False)


def _raw_calls(date_from: date, date_to: date, queue_id: int | None, agent_id: int | None) -> QuerySet:
    start, end = local_day_bounds(date_from, date_to)
    calls = counted_calls().filter(queued_at__gte=start, queued_at__lt=end)
    if queue_id is not None:
        calls = calls.filter(service_queue_id=queue_id)
    if agent_id is not None:
        calls = calls.filter(agent_id=agent_id)
    return calls


def call_figures_raw(
    date_from: date,
    date_to: date,
    *,
    queue: str | None = None,
    agent: str | None = None,
    group_by: str | None = None,
) -> Any:
    """``call_figures`` computed from the calls themselves (the tests' and the benchmark's
    reference; the pages never use it)."""
    calls = _raw_calls(date_from, date_to, _queue_id(queue), _agent_id(agent))
    return _figures(calls, group_by, raw=True)


def live_figures_today(date_from: date, date_to: date) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """From the calls (the wallboard's "today": live, one query): the figures per service queue
    id, and of all calls together (a call still waiting has no service queue yet)."""
    grouped = _grouped(_raw_calls(date_from, date_to, None, None), "queue", raw=True)
    by_queue = {pk: call_kpis_from(sums) for pk, sums in grouped if pk}
    return by_queue, call_kpis_from(add_sums(sums for _pk, sums in grouped))


def live_figures_by_queue(date_from: date, date_to: date) -> dict[int, dict[str, Any]]:
    return live_figures_today(date_from, date_to)[0]


def live_figures(date_from: date, date_to: date) -> dict[str, Any]:
    """All queues' figures from the calls (the simulator's summary)."""
    return live_figures_today(date_from, date_to)[1]


# --- views of the call figures --------------------------------------------------------------------


def heatmap(date_from: date, date_to: date, *, queue: str | None = None) -> dict[str, Any]:
    """Calls offered per ISO weekday (1 = Monday) × local hour of their queue time, from the
    rollups: ``{"weekdays": [1..7], "hours": [0..23], "cells": [[weekday, hour, offered], …]}``."""
    rows = _rollup_rows(date_from, date_to, _queue_id(queue), None, by_interval=True)
    # Per interval first (48 rows a day), then weekday and hour here: extracting them in local
    # time from every (interval, queue, agent) row cost the database twice as much.
    counts: Counter[tuple[int, int]] = Counter()
    for start, offered in rows.values("start").order_by().annotate(n=Sum("offered")).values_list("start", "n"):
        local = timezone.localtime(start)
        counts[(local.isoweekday(), local.hour)] += offered or 0
    return {
        "weekdays": list(range(1, 8)),
        "hours": list(range(24)),
        "cells": [[day, hour, counts.get((day, hour), 0)] for day in range(1, 8) for hour in range(24)],
    }


def _days(today: date | None, days: int) -> tuple[date, date]:
    today = today or timezone.localdate()
    return today - timedelta(days=days - 1), today


def trend_days(days: int = 30, *, today: date | None = None, queue: str | None = None) -> list[dict[str, Any]]:
    """``call_figures(group_by="day")`` over the last ``days`` days to today, every day present."""
    date_from, date_to = _days(today, days)
    found = {row["key"]: row for row in call_figures(date_from, date_to, queue=queue, group_by="day")}
    empty = call_kpis_from({})
    return [
        found.get(day.isoformat()) or {"key": day.isoformat(), "label": day.isoformat(), **empty}
        for day in (date_from + timedelta(days=n) for n in range(days))
    ]


def trend_months(months: int = 12, *, today: date | None = None, queue: str | None = None) -> list[dict[str, Any]]:
    """``call_figures(group_by="month")`` over the last ``months`` months to this one, every
    month present."""
    today = today or timezone.localdate()
    firsts = []
    year, month = today.year, today.month
    for _n in range(months):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    firsts.reverse()
    found = {row["key"]: row for row in call_figures(firsts[0], today, queue=queue, group_by="month")}
    empty = call_kpis_from({})
    return [
        found.get(first.strftime("%Y-%m"))
        or {"key": first.strftime("%Y-%m"), "label": first.strftime("%Y-%m"), **empty}
        for first in firsts
    ]


# --- agents ---------------------------------------------------------------------------------------


def agent_states(date_from: date, date_to: date) -> dict[int, dict[str, Any]]:
    """Per agent id: milliseconds ready, handling (ringing, on a call, after-call work), not
    ready (in total and per reason) in the period, from the rollup."""
    start, end = local_day_bounds(date_from, date_to)
    rows = (
        AgentStateInterval.objects.filter(start__gte=start, start__lt=end)
        .values("agent_id", "state", "reason")
        .order_by()
        .annotate(ms=Sum("ms"))
    )
    per: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = per.setdefault(
            row["agent_id"], {"ready_ms": 0, "handling_ms": 0, "not_ready_ms": 0, "reasons": Counter()}
        )
        if row["state"] == READY_STATE:
            entry["ready_ms"] += row["ms"]
        elif row["state"] in HANDLING_STATES:
            entry["handling_ms"] += row["ms"]
        elif row["state"] == NOT_READY_STATE:
            entry["not_ready_ms"] += row["ms"]
            entry["reasons"][row["reason"] or ""] += row["ms"]
    return per


def agent_table(date_from: date, date_to: date, *, queue: str | None = None) -> list[dict[str, Any]]:
    """Per agent: the call figures of the calls they took (of one queue, or all) and their time
    in each state: ``ready_s``, ``handling_s``, ``not_ready_s``, ``not_ready_by_reason``,
    ``logged_in_s`` and occupancy = handling ÷ (handling + ready)."""
    queue_id = _queue_id(queue)
    calls = dict(_grouped(_rollup_rows(date_from, date_to, queue_id, None), "agent", raw=False))
    calls.pop(0, None)  # abandoned calls have no agent
    states = agent_states(date_from, date_to)
    ids = set(calls) | set(states)
    names = _agents(ids)
    rows = []
    for pk in ids:
        username, name = names.get(pk, ("", "—"))
        state = states.get(pk, {"ready_ms": 0, "handling_ms": 0, "not_ready_ms": 0, "reasons": Counter()})
        rows.append(
            {
                "agent": username,
                "name": name,
                **call_kpis_from(calls.get(pk, {})),
                "ready_s": round(state["ready_ms"] / 1000, 1),
                "handling_s": round(state["handling_ms"] / 1000, 1),
                "not_ready_s": round(state["not_ready_ms"] / 1000, 1),
                "not_ready_by_reason": {reason: round(ms / 1000, 1) for reason, ms in sorted(state["reasons"].items())},
                "logged_in_s": round((state["ready_ms"] + state["handling_ms"] + state["not_ready_ms"]) / 1000, 1),
                "occupancy": occupancy_from(state["handling_ms"], state["ready_ms"]),
            }
        )
    rows.sort(key=lambda row: row["agent"])
    return rows


# --- the IVR --------------------------------------------------------------------------------------


def ivr_figures(date_from: date, date_to: date) -> dict[str, Any]:
    """IVR calls started in the period (test calls excluded), from the rollups: how they ended,
    containment (ended in the IVR ÷ IVR calls, §5) and node usage."""
    start, end = local_day_bounds(date_from, date_to)
    totals = IvrInterval.objects.filter(start__gte=start, start__lt=end).aggregate(
        calls=Sum("calls"),
        self_served=Sum("self_served"),
        to_agent=Sum("to_agent"),
        in_progress=Sum("in_progress"),
        auth_failures=Sum("auth_failures"),
        lockouts=Sum("lockouts"),
    )
    totals = {key: value or 0 for key, value in totals.items()}
    nodes = (
        IvrNodeInterval.objects.filter(start__gte=start, start__lt=end)
        .values("node")
        .order_by()
        .annotate(visits=Sum("visits"), exits=Sum("exits"))
    )
    return {
        **totals,
        "containment": ratio(totals["self_served"], totals["calls"]),
        "nodes": sorted(
            (
                {"node": row["node"], "label": node_label(row["node"]), "visits": row["visits"], "exits": row["exits"]}
                for row in nodes
            ),
            key=lambda row: (-row["visits"], row["node"]),
        ),
    }


def ivr_funnel(date_from: date, date_to: date) -> dict[str, Any]:
    """Entered the IVR → ended there (self-served) → asked for an agent → answered by one."""
    ivr = ivr_figures(date_from, date_to)
    calls = call_figures(date_from, date_to)
    return {
        "entered": ivr["calls"],
        "self_served": ivr["self_served"],
        "to_agent": ivr["to_agent"],
        "answered": calls["answered"],
    }


# --- work orders ----------------------------------------------------------------------------------


def ticket_figures(date_from: date, date_to: date, *, now: datetime | None = None) -> dict[str, Any]:
    """``tickets.selectors.ticket_statistics`` with each unit's work orders overdue now."""
    figures = ticket_statistics(date_from, date_to)
    overdue = unit_overdue_counts(now=now)
    for row in figures["by_unit"]:
        row["overdue_now"] = overdue.get(row["unit"], 0)
    figures["total"] = {**figures["total"], "overdue_now": sum(overdue.values())}
    return figures


# --- today, live ----------------------------------------------------------------------------------


def today_live(now: datetime | None = None) -> dict[str, Any]:
    """The wallboard's snapshot with today's totals and the agents counted by state."""
    snapshot = wallboard_snapshot(now)
    today = snapshot["today"]
    states = Counter(agent["state"] for agent in snapshot["agents"])
    return {
        "queues": snapshot["queues"],
        "agents_by_state": {state: states.get(state, 0) for state, _label in AgentState.choices},
        "offered": today["offered"],
        "answered": today["answered"],
        "abandoned": today["abandoned"],
        "service_level": today["service_level"],
        "asa_s": today["asa_s"],
        "waiting": sum(queue["waiting"] for queue in snapshot["queues"]),
    }


__all__ = [
    "GROUPS",
    "REASON_LABELS",
    "STATE_LABELS",
    "agent_table",
    "call_figures",
    "call_figures_raw",
    "heatmap",
    "ivr_figures",
    "ivr_funnel",
    "live_figures",
    "live_figures_by_queue",
    "ticket_figures",
    "today_live",
    "trend_days",
    "trend_months",
]
