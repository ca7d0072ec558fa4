"""Reads of workforce management: history, forecast, requirement, rosters as the API shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from org.roles import Role

from . import erlang
from .forecast import Forecaster, ForecastInterval, holdout
from .history_port import IntervalFigures, history_side
from .models import Leave, Roster, RosterAssignment, ShiftPreference, ShiftRequest, ShiftTemplate, WorkRule

HISTORY_DAYS = 56


@dataclass(frozen=True)
class StaffingTargets:
    target_sl: float
    target_t: float
    shrinkage: str  # a decimal string: exact rounding
    max_occupancy: float
    floor: int

    @classmethod
    def from_settings(cls) -> StaffingTargets:
        conf = getattr(settings, "WFM", {})
        return cls(
            target_sl=float(conf.get("TARGET_SL", 0.8)),
            target_t=float(conf.get("TARGET_T", 20)),
            shrinkage=str(conf.get("SHRINKAGE", "0.3")),
            max_occupancy=float(conf.get("MAX_OCCUPANCY", 0.85)),
            floor=int(conf.get("MIN_STAFF", 1)),
        )


def _tz() -> Any:
    return timezone.get_default_timezone()


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), _tz())


def _is_working_day() -> Any:
    from tickets.calendar import WorkingCalendar

    return WorkingCalendar().is_working_day


def history(first: date, last: date) -> list[IntervalFigures]:
    return history_side().intervals(_midnight(first), _midnight(last + timedelta(days=1)))


def forecaster(*, today: date | None = None, history_days: int = HISTORY_DAYS) -> Forecaster:
    today = today or timezone.localdate()
    first, last = today - timedelta(days=history_days), today - timedelta(days=1)
    return Forecaster(history(first, last), first=first, last=last, tz=_tz(), is_working_day=_is_working_day())


def forecast(start: date, days: int, *, today: date | None = None) -> list[ForecastInterval]:
    return forecaster(today=today).forecast(start, days)


def forecast_accuracy(*, today: date | None = None, history_days: int = 60, holdout_days: int = 14) -> dict[str, Any]:
    today = today or timezone.localdate()
    first, last = today - timedelta(days=history_days), today - timedelta(days=1)
    return holdout(
        history(first, last),
        first=first,
        last=last,
        tz=_tz(),
        is_working_day=_is_working_day(),
        holdout_days=holdout_days,
    )


def patience_s(*, today: date | None = None, days: int = 28) -> float | None:
    """Callers' mean patience from the abandoned calls of the last ``days`` days (see
    ``erlang.patience_estimate``)."""
    today = today or timezone.localdate()
    rows = history(today - timedelta(days=days), today - timedelta(days=1))
    return erlang.patience_estimate(
        abandoned=sum(r.abandoned for r in rows),
        abandoned_wait_s=sum(r.abandoned_wait_ms for r in rows) / 1000,
        answered_wait_s=sum(r.answered_wait_ms for r in rows) / 1000,
    )


def requirement(
    intervals: list[ForecastInterval], targets: StaffingTargets, *, patience: float | None = None
) -> list[dict[str, Any]]:
    """Agents needed per forecast interval (Erlang A when a patience is known, else C)."""
    out = []
    for row in intervals:
        common: dict[str, Any] = {
            "calls": row.calls,
            "interval_s": 1800,
            "aht_s": row.aht_s,
            "target_sl": targets.target_sl,
            "target_t": targets.target_t,
            "shrinkage": targets.shrinkage,
            "max_occupancy": targets.max_occupancy,
        }
        if patience:
            staffing = erlang.erlang_a_staffing(patience_s=patience, **common)
        else:
            staffing = erlang.erlang_c_staffing(**common)
        out.append(
            {
                "start": row.start,
                "day_type": row.day_type,
                "calls": row.calls,
                "aht_s": row.aht_s,
                "raw_agents": staffing.raw_agents,
                "agents": staffing.agents,
                "service_level": staffing.service_level,
                "abandon": staffing.abandon_probability,
            }
        )
    return out


def roster_agents() -> QuerySet:
    User = get_user_model()
    return (
        User.objects.filter(is_active=True, profile__role=Role.AGENT)
        .exclude(wfm_rule__in_roster=False)
        .select_related("wfm_rule")
        .order_by("username")
    )


def shift_templates() -> QuerySet[ShiftTemplate]:
    return ShiftTemplate.objects.filter(active=True)


def shift_templates_all() -> QuerySet[ShiftTemplate]:
    """Retired templates too (a published roster may still use one)."""
    return ShiftTemplate.objects.all()


def leave_between(first: date, last: date) -> QuerySet[Leave]:
    return Leave.objects.filter(date_from__lte=last, date_to__gte=first)


def preferences_between(first: date, last: date) -> QuerySet[ShiftPreference]:
    return ShiftPreference.objects.filter(date__gte=first, date__lte=last).select_related("shift")


def work_rules() -> dict[int, WorkRule]:
    return {rule.agent_id: rule for rule in WorkRule.objects.all()}


def roster_get(pk: int) -> Roster | None:
    return Roster.objects.filter(pk=pk).first()


def roster_list() -> QuerySet[Roster]:
    return Roster.objects.all()


def roster_payload(roster: Roster) -> dict[str, Any]:
    """``GET /api/wfm/rosters/{id}/`` (DESIGN.md §6)."""
    assignments = [
        {"agent": username, "date": day.isoformat(), "shift": code}
        for username, day, code in roster.assignments.order_by("date", "agent__username").values_list(
            "agent__username", "date", "shift_code"
        )
    ]
    gap = None
    if roster.objective is not None and roster.bound is not None:
        gap = 0.0 if roster.objective == 0 else abs(roster.objective - roster.bound) / abs(roster.objective)
    return {
        "id": roster.pk,
        "status": roster.status,
        "progress": roster.progress,
        "start": roster.start.isoformat(),
        "days": roster.days,
        "shifts": roster.shifts,
        "assignments": assignments,
        "coverage": roster.coverage,
        "violations": roster.violations,
        "objective": roster.objective,
        "bound": roster.bound,
        "gap": gap,
        "solve_seconds": roster.solve_seconds,
        "published_at": roster.published_at.isoformat() if roster.published_at else None,
    }


def published_shifts_for(user: Any, first: date, last: date) -> list[dict[str, Any]]:
    """The agent's shifts from ``first`` to ``last`` in the published rosters (the latest
    published roster wins a day two rosters cover)."""
    rows = (
        RosterAssignment.objects.filter(agent=user, date__gte=first, date__lte=last, roster__published_at__isnull=False)
        .order_by("date", "-roster__published_at")
        .values_list("date", "shift_code", "roster__shifts")
    )
    seen: dict[date, dict[str, Any]] = {}
    for day, code, shifts in rows:
        if day in seen:
            continue
        shift = next((s for s in shifts if s["code"] == code), {"code": code, "start": "", "end": ""})
        seen[day] = {"date": day.isoformat(), "shift": code, "start": shift["start"], "end": shift["end"]}
    return list(seen.values())


def published_roster_on(day: date) -> Roster | None:
    """The published roster that speaks for ``day`` (the latest published covering it)."""
    for roster in Roster.objects.filter(published_at__isnull=False, start__lte=day).order_by("-published_at"):
        if day < roster.start + timedelta(days=roster.days):
            return roster
    return None


def published_rosters_between(first: date, last: date) -> list[Roster]:
    """Published rosters with a day in ``[first, last]``."""
    return [
        roster
        for roster in Roster.objects.filter(published_at__isnull=False, start__lte=last).order_by("published_at")
        if roster.start + timedelta(days=roster.days - 1) >= first
    ]


def requests_for(user: Any) -> QuerySet[ShiftRequest]:
    """The requests an agent made or is asked to agree to."""
    from django.db.models import Q

    return ShiftRequest.objects.filter(Q(requester=user) | Q(colleague=user)).select_related(
        "requester", "colleague", "decided_by"
    )


def requests_open_for_leads() -> QuerySet[ShiftRequest]:
    return ShiftRequest.objects.filter(status="pending").select_related("requester", "colleague")


def requests_recent() -> QuerySet[ShiftRequest]:
    return ShiftRequest.objects.select_related("requester", "colleague", "decided_by")


PRIOR_DAYS = 7


def prior_days(first: date, *, exclude_roster: int | None = None, days: int = PRIOR_DAYS) -> dict[int, tuple[str, ...]]:
    """What each agent worked on the ``days`` days before ``first`` in the published rosters
    (the latest published wins a day two cover): ``"off"``, ``"day"`` or ``"night"`` per day,
    oldest first. A roster starting there honours them (a night on its eve, a run of working
    days or nights carried in: ``roster.AgentSpec.prior``)."""
    since = first - timedelta(days=days)
    found = RosterAssignment.objects.filter(date__gte=since, date__lt=first, roster__published_at__isnull=False)
    if exclude_roster is not None:
        found = found.exclude(roster_id=exclude_roster)
    rows = found.order_by("date", "-roster__published_at").values_list("agent_id", "date", "shift_code", "roster_id")
    covered: dict[date, int] = {}  # the roster that speaks for a day
    worked: dict[tuple[int, date], str] = {}
    nights = {t.code: t.night for t in ShiftTemplate.objects.all()}
    for agent_id, day, code, roster_id in rows:
        covered.setdefault(day, roster_id)
        if covered[day] != roster_id:
            continue
        worked[agent_id, day] = "night" if nights.get(code, False) else "day"
    if not covered:
        return {}
    agents = {agent for agent, _day in worked}
    return {
        agent: tuple(worked.get((agent, since + timedelta(days=k)), "off") for k in range(days)) for agent in agents
    }


def user_by_username(username: str) -> Any:
    return get_user_model().objects.filter(username=username, is_active=True).first()


WORKING_STATES = frozenset({"ready", "ringing", "on_call", "acw"})
CONFORMANCE_MARGIN = timedelta(hours=4)


def _overlap(spans: list[tuple[datetime, datetime, str]], start: datetime, end: datetime) -> float:
    return sum(
        max(0.0, (min(to, end) - max(frm, start)).total_seconds())
        for frm, to, state in spans
        if state in WORKING_STATES
    )


def adherence(day: date, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per agent scheduled on ``day`` in a published roster (``docs/wfm.md``):

    * adherence — the share of the scheduled shift spent in a working state (ready, ringing, on
      a call, after-call work);
    * conformance — working time from 4 h before the shift to 4 h after it over the shift's
      length (early starts and late finishes count; may pass 1).

    Read from the append-only state log (``agents.selectors.state_spans``); a shift not over yet
    is measured up to ``now``."""
    from agents.selectors import state_spans

    now = now or timezone.now()
    rows = (
        RosterAssignment.objects.filter(date=day, roster__published_at__isnull=False)
        .order_by("agent_id", "-roster__published_at")
        .values_list("agent_id", "agent__username", "shift_code", "roster__shifts")
    )
    shifts: dict[int, tuple[str, str, datetime, datetime]] = {}
    for agent_id, username, code, roster_shifts in rows:
        if agent_id in shifts:
            continue
        spec = next((s for s in roster_shifts if s["code"] == code), None)
        if spec is None:
            continue
        start = _midnight(day) + timedelta(hours=int(spec["start"][:2]), minutes=int(spec["start"][3:]))
        end = _midnight(day) + timedelta(hours=int(spec["end"][:2]), minutes=int(spec["end"][3:]))
        if end <= start:
            end += timedelta(days=1)  # ends the next morning
        shifts[agent_id] = (username, code, start, end)
    if not shifts:
        return []
    window_start = min(s[2] for s in shifts.values()) - CONFORMANCE_MARGIN
    window_end = min(max(s[3] for s in shifts.values()) + CONFORMANCE_MARGIN, max(now, window_start))
    spans_by_agent = state_spans(window_start, window_end)
    out = []
    for agent_id, (username, code, start, end) in sorted(shifts.items(), key=lambda item: item[1][0]):
        raw = spans_by_agent.get(agent_id, [])
        spans = [
            (frm, raw[k + 1][0] if k + 1 < len(raw) else window_end, state) for k, (frm, state, _r) in enumerate(raw)
        ]
        measured_end = min(end, now)
        scheduled_s = (measured_end - start).total_seconds()
        if scheduled_s <= 0:
            continue
        in_shift = _overlap(spans, start, measured_end)
        around = _overlap(spans, start - CONFORMANCE_MARGIN, min(end + CONFORMANCE_MARGIN, now))
        out.append(
            {
                "agent": username,
                "shift": code,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "scheduled_s": round(scheduled_s),
                "working_in_shift_s": round(in_shift),
                "adherence": round(in_shift / scheduled_s, 4),
                "conformance": round(around / scheduled_s, 4),
            }
        )
    return out


def adherence_period(first: date, last: date, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """``adherence`` summed over the days ``first``…``last`` per agent: time-weighted, so an
    agent's period figure is their working time in shifts over their scheduled time (not the
    mean of daily ratios). Shifts not begun yet are left out."""
    now = now or timezone.now()
    totals: dict[str, dict[str, Any]] = {}
    day = first
    while day <= last and _midnight(day) <= now:
        for row in adherence(day, now=now):
            total = totals.setdefault(
                row["agent"],
                {"agent": row["agent"], "shifts": 0, "scheduled_s": 0, "working_in_shift_s": 0, "around_s": 0.0},
            )
            total["shifts"] += 1
            total["scheduled_s"] += row["scheduled_s"]
            total["working_in_shift_s"] += row["working_in_shift_s"]
            total["around_s"] += row["conformance"] * row["scheduled_s"]
        day += timedelta(days=1)
    out = []
    for total in sorted(totals.values(), key=lambda t: t["agent"]):
        scheduled = total["scheduled_s"]
        around = total.pop("around_s")
        total["adherence"] = round(total["working_in_shift_s"] / scheduled, 4) if scheduled else None
        total["conformance"] = round(around / scheduled, 4) if scheduled else None
        out.append(total)
    return out
