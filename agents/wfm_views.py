"""Workforce management pages: the staffing calculator with the forecast, and the rosters."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from org.permissions import role_required, staff_user
from org.roles import Role
from org.scoping import user_role

from .scheduling import erlang, jobs, selectors
from .scheduling.apis import READERS
from .scheduling.serializers import ErlangRequestSerializer, RosterRequestSerializer


def _calculator(request: HttpRequest) -> dict[str, Any]:
    if "calls" not in request.GET:
        return {
            "values": {
                "calls": 100,
                "interval_s": 1800,
                "aht_s": 180,
                "target_sl": 0.8,
                "target_t": 20,
                "shrinkage": "0.3",
                "max_occupancy": 0.85,
            }
        }
    values = request.GET.dict()
    serializer = ErlangRequestSerializer(data=values)
    if not serializer.is_valid():
        return {"values": values, "errors": {k: [str(e) for e in v] for k, v in serializer.errors.items()}}
    try:
        result = erlang.erlang_c_staffing(**serializer.validated_data)
    except erlang.ErlangInputError as exc:
        return {"values": values, "errors": {exc.field: [str(exc)]}}
    return {"values": values, "result": result}


@role_required(*READERS)
def staffing(request: HttpRequest) -> HttpResponse:
    """The staffing calculator (one interval) and the requirement per interval of a forecast day."""
    today = timezone.localdate()
    day = parse_date(request.GET.get("day") or "") or today + timedelta(days=1)
    adherence_day = parse_date(request.GET.get("adherence_day") or "") or today
    targets = selectors.StaffingTargets.from_settings()
    model = selectors.forecaster(today=today)
    patience = selectors.patience_s(today=today)
    rows = selectors.requirement(model.day(day), targets, patience=patience)
    # Chart: the last 14 days of history and the next 14 days of forecast, per interval.
    history_from = today - timedelta(days=14)
    actual: dict[str, int] = {}
    for row in selectors.history(history_from, today - timedelta(days=1)):
        key = timezone.localtime(row.start).strftime("%Y-%m-%dT%H:%M")
        actual[key] = actual.get(key, 0) + row.offered
    chart: dict[str, list] = {"x": [], "history": [], "forecast": []}
    for k in range(14 * 48):
        moment = timezone.make_aware(datetime.combine(history_from, time.min)) + timedelta(minutes=30 * k)
        key = moment.strftime("%Y-%m-%dT%H:%M")
        chart["x"].append(key.replace("T", " "))
        chart["history"].append(actual.get(key, 0))
        chart["forecast"].append(None)
    for item in model.forecast(today, 14):
        chart["x"].append(timezone.localtime(item.start).strftime("%Y-%m-%d %H:%M"))
        chart["history"].append(None)
        chart["forecast"].append(round(item.calls, 2))
    context = {
        **_calculator(request),
        "day": day,
        "targets": targets,
        "patience": patience,
        "rows": [{**row, "time": timezone.localtime(row["start"]).strftime("%H:%M")} for row in rows],
        "total_calls": sum(row["calls"] for row in rows),
        "accuracy": selectors.forecast_accuracy(today=today),
        "adherence_day": adherence_day,
        "adherence": selectors.adherence(adherence_day),
        "chart": {**chart, "texts": {"history": _("Calls offered"), "forecast": _("Forecast")}},
    }
    return render(request, "agents/wfm_staffing.html", context)


@role_required(*READERS)
def rosters(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if user_role(request.user) != Role.TEAM_LEAD:
            raise PermissionDenied
        serializer = RosterRequestSerializer(data=request.POST)
        if serializer.is_valid():
            roster = jobs.roster_request(actor=staff_user(request), **serializer.validated_data)
            messages.success(request, _("The roster is being computed."))
            return redirect("agents:wfm-roster", pk=roster.pk)
        messages.error(request, _("Check the first day and the number of days."))
    next_monday = timezone.localdate() + timedelta(days=7 - timezone.localdate().weekday())
    return render(
        request,
        "agents/wfm_rosters.html",
        {
            "rosters": selectors.roster_list()[:30],
            "next_monday": next_monday,
            "can_create": user_role(request.user) == Role.TEAM_LEAD,
        },
    )


@role_required(*READERS)
def roster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    roster = selectors.roster_get(pk)
    if roster is None:
        raise Http404
    payload = selectors.roster_payload(roster)
    days = [roster.start + timedelta(days=d) for d in range(roster.days)]
    grid: dict[str, dict[str, str]] = {}
    for item in payload["assignments"]:
        grid.setdefault(item["agent"], {})[item["date"]] = item["shift"]
    table = [
        {"agent": agent, "cells": [cells.get(d.isoformat(), "") for d in days]} for agent, cells in sorted(grid.items())
    ]
    uncovered = [c for c in payload["coverage"] if c["scheduled"] < c["required"] and not c.get("previous_period")]
    return render(
        request,
        "agents/wfm_roster.html",
        {
            "roster": roster,
            "payload": payload,
            "days": days,
            "table": table,
            "uncovered": uncovered[:200],
            "uncovered_count": len(uncovered),
        },
    )
