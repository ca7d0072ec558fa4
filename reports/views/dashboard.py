"""The director's dashboard (运营看板): today live, trends over 30 days and 12 months, the
weekday × hour heatmap, the IVR funnel and the branches' league table for work orders.

One response carries the page and all its data (``json_script``); today's tiles then follow the
wallboard's pushes over ``/ws/wallboard/`` (never polled). Every figure links to the rows behind
it: the call search (``calls:search``, whose query parameters count exactly what the KPIs count)
or the work-order list (``tickets:list`` with its filters). The number of queries of a page is
fixed, whatever the period or the volume.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from calls.consumers import WallboardConsumer
from calls.views import wallboard as wallboard_page
from org.permissions import role_required
from org.roles import Role
from org.scoping import user_role
from reports import selectors as rs

# The period of the heatmap, the IVR funnel and the league table: the last N days to today.
PERIOD_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
TREND_DAYS = 30
TREND_MONTHS = 12
# Agents by state, in the order the tiles show them.
STATE_ORDER = ("ready", "ringing", "on_call", "acw", "not_ready", "offline")


def _calls_url() -> str:
    try:
        return reverse("calls:search")
    except NoReverseMatch:  # the call search not wired (yet): its public path
        return "/calls/"


class Links:
    """Drill-down URLs: the call search and the work-order list, with their query contracts."""

    def __init__(self) -> None:
        self.calls = _calls_url()
        self.tickets = reverse("tickets:list")

    def calls_for(self, date_from: date, date_to: date, **params: Any) -> str:
        query = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
        query.update({key: value for key, value in params.items() if value not in (None, "")})
        return f"{self.calls}?{urlencode(query)}"

    def tickets_for(self, **params: Any) -> str:
        query = {key: value for key, value in params.items() if value not in (None, "", False)}
        return f"{self.tickets}?{urlencode(query)}" if query else self.tickets


def _period_days(request) -> int:
    value = request.GET.get("days", "")
    return int(value) if value.isascii() and value.isdigit() and int(value) in PERIOD_DAYS else DEFAULT_DAYS


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _month_bounds(key: str) -> tuple[date, date]:
    year, month = (int(part) for part in key.split("-"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _trend_point(row: dict[str, Any], date_from: date, date_to: date, links: Links) -> dict[str, Any]:
    return {
        "key": row["key"],
        "offered": row["offered"],
        "answered": row["answered"],
        "service_level": row["service_level"],
        "links": {
            "offered": links.calls_for(date_from, date_to),
            "answered": links.calls_for(date_from, date_to, outcome="answered"),
            "service_level": links.calls_for(date_from, date_to, outcome="answered_in_t"),
        },
    }


def _trend_days(today: date, links: Links) -> list[dict[str, Any]]:
    points = []
    for row in rs.trend_days(TREND_DAYS, today=today):
        day = date.fromisoformat(row["key"])
        point = _trend_point(row, day, day, links)
        point["label"] = day.strftime("%m-%d")
        point["title"] = f"{day.isoformat()} {WEEKDAYS_ABBR[day.weekday()]}"
        points.append(point)
    return points


def _trend_months(today: date, links: Links) -> list[dict[str, Any]]:
    points = []
    for row in rs.trend_months(TREND_MONTHS, today=today):
        first, last = _month_bounds(row["key"])
        point = _trend_point(row, first, min(last, today), links)
        point["label"] = point["title"] = row["key"]
        points.append(point)
    return points


def _heatmap(date_from: date, date_to: date, links: Links) -> dict[str, Any]:
    figures = rs.heatmap(date_from, date_to)
    weekdays = figures["weekdays"]
    hours = figures["hours"]
    cells = []
    for weekday, hour, offered in figures["cells"]:
        cells.append(
            {
                # x: the hour, y: the weekday (Monday on top: the y axis is inverted in the chart)
                "value": [hours.index(hour), weekdays.index(weekday), offered],
                "url": links.calls_for(date_from, date_to, weekday=weekday, hour=hour),
            }
        )
    return {
        "weekdays": [str(WEEKDAYS_ABBR[day - 1]) for day in weekdays],
        "hours": [f"{hour:02d}" for hour in hours],
        "cells": cells,
        "max": max((cell["value"][2] for cell in cells), default=0),
    }


def _funnel(date_from: date, date_to: date, links: Links) -> list[dict[str, Any]]:
    figures = rs.ivr_funnel(date_from, date_to)
    ivr_statistics = (
        reverse("ivr:statistics")
        + "?"
        + urlencode({"date_from": date_from.isoformat(), "date_to": date_to.isoformat()})
    )
    stages = [
        ("entered", _("Entered the IVR"), ivr_statistics),
        ("self_served", _("Self-served in the IVR"), links.calls_for(date_from, date_to, outcome="ivr_only")),
        ("to_agent", _("Asked for an agent"), links.calls_for(date_from, date_to)),
        ("answered", _("Answered by an agent"), links.calls_for(date_from, date_to, outcome="answered")),
    ]
    entered = figures["entered"] or 0
    return [
        {
            "key": key,
            "label": str(label),
            "value": figures[key] or 0,
            "share": _percent((figures[key] or 0) / entered) if entered else "—",
            "url": url,
        }
        for key, label, url in stages
    ]


def _league(date_from: date, date_to: date, links: Links) -> dict[str, Any]:
    """The units' work-order figures, best on-time rate first (then satisfaction; units with no
    closed work order last), each figure linked to the work-order list behind it."""
    figures = rs.ticket_figures(date_from, date_to)
    period = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat()}
    # "Dispatched" and "closed" count by the day of first dispatch and of closure
    # (``ticket_statistics``): the list's filters of those days list exactly the rows counted.
    dispatched_in = {"dispatched_from": date_from.isoformat(), "dispatched_to": date_to.isoformat()}
    closed_in = {"closed_from": date_from.isoformat(), "closed_to": date_to.isoformat()}

    def row(unit: str, name: str, values: dict[str, Any]) -> dict[str, Any]:
        # On-time and satisfaction rates are of the work orders closed in the period.
        closed = links.tickets_for(unit=unit, **closed_in)
        return {
            "unit": unit,
            "name": name,
            "dispatched": values["dispatched"],
            "closed": values["closed"],
            "on_time_rate": values["on_time_rate"],
            "on_time": _percent(values["on_time_rate"]),
            "satisfaction_rate": values["satisfaction_rate"],
            "satisfaction": _percent(values["satisfaction_rate"]),
            "overdue_now": values["overdue_now"],
            "links": {
                "unit": links.tickets_for(unit=unit, **period),
                "dispatched": links.tickets_for(unit=unit, **dispatched_in),
                "closed": closed,
                "on_time": closed,
                "satisfaction": closed,
                "overdue_now": links.tickets_for(unit=unit, overdue="on", order="due"),
            },
        }

    rows = [
        row(entry["unit"], entry["name"], entry)
        for entry in figures["by_unit"]
        if entry["dispatched"] or entry["closed"] or entry["overdue_now"]
    ]

    def rank(entry: dict[str, Any]) -> tuple:
        on_time, satisfied = entry["on_time_rate"], entry["satisfaction_rate"]
        return (
            on_time is None,
            -(on_time or 0),
            satisfied is None,
            -(satisfied or 0),
            entry["overdue_now"],
            entry["unit"],
        )

    rows.sort(key=rank)
    for position, entry in enumerate(rows, start=1):
        entry["rank"] = position if entry["on_time_rate"] is not None else ""
    total = row("", _("All units"), figures["total"])
    return {"rows": rows, "total": total}


def _live(today: date, links: Links, *, can_open_wallboard: bool) -> dict[str, Any]:
    live = rs.today_live()
    states = live["agents_by_state"]
    wallboard = reverse("calls:wallboard") if can_open_wallboard else ""
    return {
        "tiles": [
            {"key": "offered", "label": _("Offered"), "value": live["offered"], "url": links.calls_for(today, today)},
            {
                "key": "answered",
                "label": _("Answered"),
                "value": live["answered"],
                "url": links.calls_for(today, today, outcome="answered"),
            },
            {
                "key": "abandoned",
                "label": _("Abandoned"),
                "value": live["abandoned"],
                "url": links.calls_for(today, today, outcome="abandoned"),
            },
            {
                "key": "service_level",
                "label": _("Service level"),
                "value": _percent(live["service_level"]),
                "url": links.calls_for(today, today, outcome="answered_in_t"),
                "low": live["service_level"] is not None
                and live["service_level"] < settings.CALLS_SERVICE_LEVEL_TARGET,
            },
            {
                "key": "waiting",
                "label": _("Waiting now"),
                "value": live["waiting"],
                "url": links.calls_for(today, today, outcome="in_progress"),
            },
        ],
        "agents": [
            {"state": state, "label": str(rs.STATE_LABELS.get(state, state)), "value": states.get(state, 0)}
            for state in STATE_ORDER
        ],
        "wallboard": wallboard,
        "service_level": live["service_level"],
    }


def _texts() -> dict[str, str]:
    """The strings the script shows, in the page's language."""
    return {
        "live": _("Live"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
        "not_live": _("Live updates are not available to your role: figures as of the page load."),
        "updated": _("Updated %(time)s"),
        "offered": _("Offered"),
        "answered": _("Answered"),
        "service_level": _("Service level"),
        "calls": pgettext("chart axis", "Calls"),
        "no_calls": _("No calls in this period."),
        "open_calls": _("Click a bar, a point or a cell to see its calls."),
        "heatmap_tooltip": _("%(weekday)s %(hour)s:00–%(hour)s:59: %(n)s calls offered"),
        "funnel_tooltip": _("%(stage)s: %(n)s (%(share)s of the calls that entered the IVR)"),
    }


@role_required(Role.DIRECTOR, Role.ANALYST)
def dashboard(request):
    today = timezone.localdate()
    days = _period_days(request)
    date_from = today - timedelta(days=days - 1)
    links = Links()
    role = user_role(request.user)
    # Who may open the wallboard and follow its pushes is the wallboard's own rule.
    live = _live(today, links, can_open_wallboard=role in wallboard_page.allowed_roles)
    league = _league(date_from, today, links)
    data = {
        "today": today.isoformat(),
        "period": {"date_from": date_from.isoformat(), "date_to": today.isoformat(), "days": days},
        "trend_days": _trend_days(today, links),
        "trend_months": _trend_months(today, links),
        "heatmap": _heatmap(date_from, today, links),
        "funnel": _funnel(date_from, today, links),
    }
    config = {
        # Directors follow the wallboard's pushes; a role the socket refuses (4403) does not try.
        "ws": "/ws/wallboard/",
        "live": role in WallboardConsumer.roles,
        "login": reverse("org:login"),
        "language": "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh",
        "service_level_target": settings.CALLS_SERVICE_LEVEL_TARGET,
        "calls_url": links.calls,
        "texts": _texts(),
    }
    context = {
        "data": data,
        "config": config,
        "live": live,
        "league": league,
        "days": days,
        "period_choices": [(n, pgettext("dashboard period", "Last %(n)s days") % {"n": n}) for n in PERIOD_DAYS],
        "date_from": date_from,
        "today": today,
        "service_level_t": settings.CALLS_SERVICE_LEVEL_T_S,
    }
    return render(request, "reports/dashboard.html", context)


urlpatterns = [path("dashboard/", dashboard, name="dashboard")]
