"""Writes of workforce management: a roster is created, solved (a Celery task), published."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record

from . import roster as solver
from . import selectors, validate
from .models import Roster, RosterAssignment, RosterStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_DAYS = 62
logger = logging.getLogger(__name__)


def _solve_seconds() -> float:
    return float(getattr(settings, "WFM", {}).get("SOLVE_SECONDS", 30))


@transaction.atomic
def roster_create(*, start: date, days: int, actor: User) -> Roster:
    """A roster to solve for ``days`` days from ``start`` (``jobs.roster_request`` also starts its
    task after the commit)."""
    roster = Roster.objects.create(start=start, days=days, created_by=actor)
    audit_record(
        actor=actor, action="wfm.roster_requested", obj=roster, details={"start": start.isoformat(), "days": days}
    )
    return roster


def _problem(roster: Roster, *, stored_requirement: bool = False) -> tuple[solver.Problem, dict[int, str]]:
    first, last = roster.start, roster.start + timedelta(days=roster.days - 1)
    templates = list(selectors.shift_templates())
    shifts = [
        solver.Shift(t.code, t.start.hour * 60 + t.start.minute, t.minutes, t.night, t.paid_minutes) for t in templates
    ]
    targets = selectors.StaffingTargets.from_settings()
    if stored_requirement and roster.requirement:
        required = roster.requirement
    else:
        intervals = selectors.forecast(first, roster.days)
        needs = selectors.requirement(intervals, targets, patience=selectors.patience_s())
        required = [[needs[d * 48 + i]["agents"] for i in range(48)] for d in range(roster.days)]
    floor = [[targets.floor] * 48 for _ in range(roster.days)]
    rules = selectors.work_rules()
    leave: dict[int, set[int]] = {}
    for item in selectors.leave_between(first, last):
        bucket = leave.setdefault(item.agent_id, set())
        day = max(item.date_from, first)
        while day <= min(item.date_to, last):
            bucket.add((day - first).days)
            day += timedelta(days=1)
    prefs: dict[int, list[solver.Preference]] = {}
    for pref in selectors.preferences_between(first, last):
        prefs.setdefault(pref.agent_id, []).append(
            solver.Preference((pref.date - first).days, pref.shift.code if pref.shift else None, pref.weight)
        )
    agents = []
    names: dict[int, str] = {}
    for user in selectors.roster_agents():
        rule = rules.get(user.pk)
        names[user.pk] = user.get_username()
        agents.append(
            solver.AgentSpec(
                id=user.pk,
                name=user.get_username(),
                no_nights=bool(rule and rule.no_nights),
                leave=frozenset(leave.get(user.pk, ())),
                preferences=tuple(prefs.get(user.pk, ())),
                week_hours=rule.week_hours if rule else 40,
            )
        )
    from tickets.calendar import WorkingCalendar

    calendar = WorkingCalendar()
    holidays = frozenset(
        d
        for d in range(roster.days)
        if (first + timedelta(days=d)).weekday() < 5 and not calendar.is_working_day(first + timedelta(days=d))
    )
    problem = solver.Problem(first, roster.days, shifts, agents, required, floor=floor, holidays=holidays)
    return problem, names


def _progress(roster_id: int) -> Any:
    last = [0]

    def report(fraction: float, objective: float | None, bound: float | None) -> None:
        percent = int(fraction * 100)
        if percent >= last[0] + 5:
            last[0] = percent
            Roster.objects.filter(pk=roster_id).update(progress=percent)

    return report


def roster_solve(*, roster_id: int) -> Roster:
    """Solve the roster (outside a transaction: the solver runs for seconds), check the answer
    with the validator, store it."""
    roster = Roster.objects.get(pk=roster_id)
    try:
        problem, names = _problem(roster)
        if not problem.shifts:
            raise ValueError("no active shift templates")
        result = solver.solve(problem, seconds=_solve_seconds(), progress=_progress(roster.pk))
    except Exception as exc:  # the job ends "failed" with its reason, never "running" for ever
        logger.exception("roster %s failed", roster.pk)
        Roster.objects.filter(pk=roster.pk).update(status=RosterStatus.FAILED, error=str(exc)[:200], progress=100)
        roster.refresh_from_db()
        return roster
    return _store(roster, problem, names, result)


@transaction.atomic
def _store(roster: Roster, problem: solver.Problem, names: dict[int, str], result: solver.Solution) -> Roster:
    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    roster.shifts = [
        {
            "code": s.code,
            "start": f"{s.start_min // 60:02d}:{s.start_min % 60:02d}",
            "end": f"{(s.start_min + s.minutes) // 60 % 24:02d}:{(s.start_min + s.minutes) % 60:02d}",
        }
        for s in problem.shifts
    ]
    roster.requirement = problem.required
    roster.progress = 100
    roster.solve_seconds = round(result.seconds, 3)
    if result.status == "done":
        broken = validate.violations(problem, result.assignments)
        staffed = validate.coverage(problem, result.assignments)
        # The first morning before the earliest shift start is the previous period's night.
        first_slot = min(s.start_min for s in problem.shifts) // 30
        roster.coverage = [
            {
                "date": problem.date_of(d).isoformat(),
                "interval": f"{i // 2:02d}:{(i % 2) * 30:02d}",
                "required": problem.required[d][i],
                "scheduled": staffed[d][i],
                **({"previous_period": True} if d == 0 and i < first_slot else {}),
            }
            for d in range(problem.days)
            for i in range(48)
        ]
        # Hard rules the validator finds broken would be a solver bug: never published silently.
        roster.violations = [{"hard": True, **v} for v in broken] + result.soft
        roster.status = RosterStatus.FAILED if broken else RosterStatus.DONE
        roster.objective, roster.bound = result.objective, result.bound
        RosterAssignment.objects.bulk_create(
            [
                RosterAssignment(roster=roster, agent_id=agent, date=problem.date_of(day), shift_code=code)
                for agent, day, code in result.assignments
            ]
        )
    else:
        roster.status = RosterStatus.INFEASIBLE if result.status == "infeasible" else RosterStatus.FAILED
        for cause in result.diagnosis:
            if cause.get("agent") in names:
                cause["agent"] = names[cause["agent"]]
        roster.violations = result.diagnosis
    roster.save()
    audit_record(
        actor=None,
        action="wfm.roster_solved",
        obj=roster,
        details={"status": roster.status, "assignments": len(result.assignments), "seconds": roster.solve_seconds},
    )
    return roster


@transaction.atomic
def roster_publish(*, roster_id: int, actor: User) -> Roster:
    roster = Roster.objects.select_for_update().get(pk=roster_id)
    if roster.status != RosterStatus.DONE:
        from core.errors import Conflict

        raise Conflict(code="roster_not_done")
    roster.published_at = timezone.now()
    roster.save(update_fields=["published_at"])
    audit_record(actor=actor, action="wfm.roster_published", obj=roster, details={"start": roster.start.isoformat()})
    return roster


@transaction.atomic
def roster_swap(*, roster_id: int, agent_a: User, agent_b: User, day: date, actor: User) -> Roster:
    """Swap two agents' shifts (or a shift and a day off) on ``day``, approved by a team lead:
    refused with ``swap_breaks_rule`` when the validator finds a hard rule the swap would break
    that the roster did not break before. Audited."""
    from core.errors import Conflict, Unprocessable

    roster = Roster.objects.select_for_update().get(pk=roster_id)
    if roster.status != RosterStatus.DONE:
        raise Conflict(code="roster_not_done")
    if not roster.start <= day < roster.start + timedelta(days=roster.days):
        raise Unprocessable(code="outside_roster", details={"field": "date"})
    if agent_a.pk == agent_b.pk:
        raise Unprocessable(code="same_agent", details={"field": "agent_b"})
    problem, _names = _problem(roster, stored_requirement=True)
    rows = list(roster.assignments.all())
    before = [(r.agent_id, (r.date - roster.start).days, r.shift_code) for r in rows]
    index = (day - roster.start).days
    swap = {agent_a.pk: agent_b.pk, agent_b.pk: agent_a.pk}
    after = [(swap[a], d, code) if d == index and a in swap else (a, d, code) for a, d, code in before]
    if sorted(before) == sorted(after):
        raise Unprocessable(code="nothing_to_swap", details={"field": "date"})

    def keyed(found: list[dict[str, Any]]) -> set[tuple[str, Any, tuple[int, ...]]]:
        return {(v["rule"], v["agent"], tuple(v["days"])) for v in found}

    new = keyed(validate.violations(problem, after)) - keyed(validate.violations(problem, before))
    if new:
        raise Conflict(
            code="swap_breaks_rule",
            details={"rules": sorted({rule for rule, _a, _d in new})},
        )
    old_shifts = {r.agent_id: r.shift_code for r in rows if r.date == day and r.agent_id in swap}
    RosterAssignment.objects.filter(roster=roster, date=day, agent_id__in=list(swap)).delete()
    RosterAssignment.objects.bulk_create(
        [RosterAssignment(roster=roster, agent_id=swap[a], date=day, shift_code=code) for a, code in old_shifts.items()]
    )
    audit_record(
        actor=actor,
        action="wfm.shift_swapped",
        obj=roster,
        details={
            "date": day.isoformat(),
            "agents": [agent_a.get_username(), agent_b.get_username()],
            "before": {str(k): v for k, v in old_shifts.items()},
        },
    )
    return roster
