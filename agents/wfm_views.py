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
from django.utils.translation import gettext_lazy as _lazy

from core.errors import DomainError, NotFound
from org.permissions import role_required, staff_user
from org.roles import Role
from org.scoping import user_role

from .scheduling import erlang, jobs, selectors, services
from .scheduling.apis import READERS
from .scheduling.models import LeaveKind, RequestStatus
from .scheduling.serializers import ErlangRequestSerializer, RosterRequestSerializer, ShiftRequestInputSerializer


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
            "pending_requests": selectors.requests_open_for_leads().count(),
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


# --- The agent's shifts and requests; the team lead's queue of requests ------------------------


def _two_weeks(user: Any) -> list[dict[str, Any]]:
    """This week and next, Monday first: each day with the agent's published shift (or none)."""
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    shifts = {s["date"]: s for s in selectors.published_shifts_for(user, monday, monday + timedelta(days=13))}
    nights = {t.code: t.night for t in selectors.shift_templates()}
    for shift in shifts.values():
        shift["night"] = nights.get(shift["shift"], False)
    return [
        {"date": day, "today": day == today, "past": day < today, "shift": shifts.get(day.isoformat())}
        for day in (monday + timedelta(days=k) for k in range(14))
    ]


def _with_swap_shifts(items: list[Any]) -> list[Any]:
    """Each swap request with both agents' published shifts that day (``shift_a``, ``shift_b``:
    a code, or "" for a day off), so the page says what would change."""
    for item in items:
        if item.kind != "swap" or item.colleague is None:
            continue
        for attr, person in (("shift_a", item.requester), ("shift_b", item.colleague)):
            found = selectors.published_shifts_for(person, item.date_from, item.date_from)
            setattr(item, attr, found[0]["shift"] if found else "")
    return items


def _domain_error_message(exc: DomainError) -> str:
    rules = (exc.details or {}).get("rules") if isinstance(exc.details, dict) else None
    if rules:
        return f"{exc.message} ({', '.join(str(RULE_LABELS.get(r, r)) for r in rules)})"
    return exc.message


RULE_LABELS: dict[str, Any] = {
    "no_day_after_night": _lazy("no day shift right after a night"),
    "max_consecutive_nights": _lazy("at most 3 nights in a row"),
    "rest_after_nights": _lazy("2 days off after nights"),
    "max_consecutive_days": _lazy("at most 6 working days in a row"),
    "weekly_day_off": _lazy("a day off every week"),
    "hours_min": _lazy("too few hours"),
    "overtime_month": _lazy("overtime over 36 h a month"),
    "night_ban": _lazy("no nights for this agent"),
    "leave": _lazy("on leave"),
    "coverage_floor": _lazy("a half-hour left with nobody"),
}


@role_required(Role.AGENT)
def my_shifts(request: HttpRequest) -> HttpResponse:
    """The agent's published shifts this week and next, their requests, and the forms to ask
    for a swap or leave (the services decide; a refusal comes back as a message)."""
    user = staff_user(request)
    if request.method == "POST":
        try:
            _my_shifts_post(request, user)
        except DomainError as exc:
            messages.error(request, _domain_error_message(exc))
        return redirect("agents:wfm-my-shifts")
    requests = _with_swap_shifts(list(selectors.requests_for(user)[:30]))
    return render(
        request,
        "agents/wfm_my_shifts.html",
        {
            "days": _two_weeks(user),
            "requests": requests,
            "colleagues": selectors.roster_agents().exclude(pk=user.pk),
            "leave_kinds": LeaveKind.choices,
            "tomorrow": timezone.localdate() + timedelta(days=1),
        },
    )


def _my_shifts_post(request: HttpRequest, user: Any) -> None:
    action = request.POST.get("action", "")
    if action in ("accept", "decline", "cancel"):
        request_id = _int(request.POST.get("request"))
        if action == "cancel":
            services.request_cancel(request_id=request_id, actor=user)
            messages.success(request, _("The request is withdrawn."))
        else:
            services.swap_answer(request_id=request_id, actor=user, accept=action == "accept")
            messages.success(request, _("Your answer is recorded."))
        return
    form = request.POST.dict()
    form.pop("csrfmiddlewaretoken", None)
    form.pop("action", None)
    serializer = ShiftRequestInputSerializer(data={k: v for k, v in form.items() if v != ""})
    if not serializer.is_valid():
        messages.error(request, _("Check the form: %(fields)s") % {"fields": ", ".join(serializer.errors)})
        return
    data = serializer.validated_data
    if data["kind"] == "swap":
        colleague = selectors.user_by_username(data["colleague"])
        if colleague is None:
            messages.error(request, _("No such colleague."))
            return
        services.swap_request(requester=user, colleague=colleague, day=data["date"], note=data["note"])
        messages.success(request, _("Swap requested: your colleague is asked to agree, then a team lead."))
    else:
        services.leave_request(
            requester=user,
            kind=data["leave_kind"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            note=data["note"],
        )
        messages.success(request, _("Leave requested: a team lead decides."))


def _int(value: str | None) -> int:
    if value is None or not value.isascii() or not value.isdigit():
        raise NotFound(_("No such request."), code="request_not_found")
    return int(value)


@role_required(Role.AGENT)
def my_shifts_panel(request: HttpRequest) -> HttpResponse:
    """The desktop's card: the next seven days and the requests waiting for the agent."""
    user = staff_user(request)
    today = timezone.localdate()
    days = [d for d in _two_weeks(user) if today <= d["date"] < today + timedelta(days=7)]
    waiting = selectors.requests_for(user).filter(colleague=user, status=RequestStatus.AWAITING_COLLEAGUE).count()
    return render(request, "agents/wfm_my_shifts_panel.html", {"days": days, "waiting": waiting})


@role_required(Role.TEAM_LEAD)
def shift_requests(request: HttpRequest) -> HttpResponse:
    """The team lead's queue: requests awaiting a decision (the rules re-checked on approval)
    and the latest decided."""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action not in ("approve", "reject", "force"):
                raise NotFound(_("No such request."), code="request_not_found")
            services.request_decide(
                request_id=_int(request.POST.get("request")),
                actor=staff_user(request),
                approve=action != "reject",
                note=request.POST.get("note", "")[:200],
                force=action == "force",
            )
            messages.success(request, _("Decided."))
        except DomainError as exc:
            messages.error(request, _domain_error_message(exc))
        return redirect("agents:wfm-requests")
    pending = _with_swap_shifts(list(selectors.requests_open_for_leads()))
    awaiting = selectors.requests_recent().filter(status=RequestStatus.AWAITING_COLLEAGUE)[:30]
    decided = selectors.requests_recent().exclude(status__in=services.OPEN_STATUSES)[:30]
    return render(
        request,
        "agents/wfm_requests.html",
        {"pending": pending, "awaiting": awaiting, "decided": decided},
    )
