"""Writes of workforce management: a roster is created, solved (a Celery task), published."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record

from . import roster as solver
from . import selectors, validate
from .models import (
    Leave,
    LeaveKind,
    RequestKind,
    RequestStatus,
    Roster,
    RosterAssignment,
    RosterStatus,
    ShiftRequest,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_DAYS = 62
OPEN_STATUSES = (RequestStatus.AWAITING_COLLEAGUE, RequestStatus.PENDING)
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
    if stored_requirement and roster.shifts:
        shifts = _stored_shifts(roster)  # a solved roster is checked with the shifts it was solved with
    else:
        shifts = [
            solver.Shift(t.code, t.start.hour * 60 + t.start.minute, t.minutes, t.night, t.paid_minutes)
            for t in selectors.shift_templates()
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
    prior = selectors.prior_days(first, exclude_roster=roster.pk)
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
                prior=prior.get(user.pk, ()),
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


def _stored_shifts(roster: Roster) -> list[solver.Shift]:
    """The shifts a roster was solved with (``Roster.shifts``), their night flag and paid time from
    the template of that code where it still exists, else read off the times (a shift that ends
    the next morning is a night)."""
    templates = {t.code: t for t in selectors.shift_templates_all()}
    shifts = []
    for spec in roster.shifts:
        start = int(spec["start"][:2]) * 60 + int(spec["start"][3:5])
        end = int(spec["end"][:2]) * 60 + int(spec["end"][3:5])
        minutes = end - start if end > start else end + 24 * 60 - start
        template = templates.get(spec["code"])
        night = template.night if template else end <= start
        shifts.append(solver.Shift(spec["code"], start, minutes, night, template.paid_minutes if template else None))
    return shifts


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


def _hard_breaks(problem: solver.Problem, rows: list[tuple[int, int, str]]) -> set[tuple[Any, ...]]:
    return {(v["rule"], v["agent"], tuple(v["days"]), v.get("interval")) for v in validate.violations(problem, rows)}


def _new_breaks(roster: Roster, before: list[tuple[int, int, str]], after: list[tuple[int, int, str]]) -> list[str]:
    """The hard rules ``after`` breaks that ``before`` did not (the validator's word, over the
    whole roster and the days before it)."""
    problem, _names = _problem(roster, stored_requirement=True)
    new = _hard_breaks(problem, after) - _hard_breaks(problem, before)
    return sorted({key[0] for key in new})


def _roster_rows(roster: Roster) -> list[tuple[int, int, str]]:
    return [(r.agent_id, (r.date - roster.start).days, r.shift_code) for r in roster.assignments.all()]


def _swap_check(roster: Roster, agent_a: User, agent_b: User, day: date) -> dict[int, str]:
    """Refuse a swap that changes nothing or breaks a hard rule the roster did not break;
    → the two agents' shift codes that day (a missing key: a day off)."""
    from core.errors import Conflict, Unprocessable

    if roster.status != RosterStatus.DONE:
        raise Conflict(code="roster_not_done")
    if not roster.start <= day < roster.start + timedelta(days=roster.days):
        raise Unprocessable(_("The day is outside the roster."), code="outside_roster", details={"field": "date"})
    if agent_a.pk == agent_b.pk:
        raise Unprocessable(_("Swap with someone else."), code="same_agent", details={"field": "agent_b"})
    before = _roster_rows(roster)
    index = (day - roster.start).days
    swap = {agent_a.pk: agent_b.pk, agent_b.pk: agent_a.pk}
    after = [(swap[a], d, code) if d == index and a in swap else (a, d, code) for a, d, code in before]
    if sorted(before) == sorted(after):
        raise Unprocessable(_("Both have the same shift that day."), code="nothing_to_swap", details={"field": "date"})
    broken = _new_breaks(roster, before, after)
    if broken:
        raise Conflict(
            _("The swap would break a rule of the roster."), code="swap_breaks_rule", details={"rules": broken}
        )
    return {a: code for a, d, code in before if d == index and a in swap}


@transaction.atomic
def roster_swap(*, roster_id: int, agent_a: User, agent_b: User, day: date, actor: User) -> Roster:
    """Swap two agents' shifts (or a shift and a day off) on ``day``, approved by a team lead:
    refused with ``swap_breaks_rule`` when the validator finds a hard rule the swap would break
    that the roster did not break before. Audited."""
    roster = Roster.objects.select_for_update().get(pk=roster_id)
    old_shifts = _swap_check(roster, agent_a, agent_b, day)
    swap = {agent_a.pk: agent_b.pk, agent_b.pk: agent_a.pk}
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


# --- Agents' requests: swaps (the colleague agrees, a team lead approves) and leave ----------

MAX_LEAVE_DAYS = 62


def _open_request(request_id: int) -> ShiftRequest:
    from core.errors import Conflict, NotFound

    found = ShiftRequest.objects.select_for_update().filter(pk=request_id).first()
    if found is None:
        raise NotFound(_("No such request."), code="request_not_found")
    if not found.is_open:
        raise Conflict(_("The request is no longer open."), code="request_not_open", details={"status": found.status})
    return found


def _request_audit(actor: User | None, action: str, item: ShiftRequest, **details: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        obj=item,
        details={
            "kind": item.kind,
            "requester": item.requester.get_username(),
            "colleague": item.colleague.get_username() if item.colleague else None,
            "from": item.date_from.isoformat(),
            "to": item.date_to.isoformat(),
            "status": item.status,
            **details,
        },
    )


@transaction.atomic
def swap_request(*, requester: User, colleague: User, day: date, note: str = "") -> ShiftRequest:
    """An agent asks to swap their shift (or day off) on ``day`` with a colleague's, in the
    published roster of that day. Refused at once when it would break a rule (the same check
    the team lead's approval runs again); the colleague agrees first."""
    from core.errors import Conflict, Unprocessable

    if day <= timezone.localdate():
        raise Unprocessable(_("Too late: only days from tomorrow on."), code="too_late", details={"field": "date"})
    roster = selectors.published_roster_on(day)
    if roster is None:
        raise Unprocessable(
            _("No published roster covers that day."), code="no_published_roster", details={"field": "date"}
        )
    if ShiftRequest.objects.filter(
        requester=requester, date_from__lte=day, date_to__gte=day, status__in=OPEN_STATUSES
    ).exists():
        raise Conflict(
            _("You already have an open request for that day."), code="request_open", details={"field": "date"}
        )
    _swap_check(roster, requester, colleague, day)
    item = ShiftRequest.objects.create(
        kind=RequestKind.SWAP,
        status=RequestStatus.AWAITING_COLLEAGUE,
        requester=requester,
        colleague=colleague,
        roster=roster,
        date_from=day,
        date_to=day,
        note=note,
    )
    _request_audit(requester, "wfm.swap_requested", item)
    return item


@transaction.atomic
def swap_answer(*, request_id: int, actor: User, accept: bool) -> ShiftRequest:
    """The colleague agrees (then a team lead decides) or declines."""
    from core.errors import Conflict, Forbidden

    item = _open_request(request_id)
    if item.colleague_id != actor.pk:
        raise Forbidden(_("This request is not yours to answer."), code="not_your_request")
    if item.status != RequestStatus.AWAITING_COLLEAGUE:
        raise Conflict(
            _("The request is not waiting for this."), code="request_not_open", details={"status": item.status}
        )
    item.status = RequestStatus.PENDING if accept else RequestStatus.DECLINED
    item.save(update_fields=["status"])
    _request_audit(actor, "wfm.swap_accepted" if accept else "wfm.swap_declined", item)
    return item


@transaction.atomic
def leave_request(*, requester: User, kind: str, date_from: date, date_to: date, note: str = "") -> ShiftRequest:
    """An agent asks for leave; sick leave may start today, any other kind from tomorrow."""
    from core.errors import Conflict, Unprocessable

    today = timezone.localdate()
    earliest = today if kind == LeaveKind.SICK else today + timedelta(days=1)
    if date_from < earliest:
        raise Unprocessable(_("Too late for this kind of leave."), code="too_late", details={"field": "date_from"})
    if date_to < date_from:
        raise Unprocessable(_("The last day is before the first."), code="dates_reversed", details={"field": "date_to"})
    if (date_to - date_from).days + 1 > MAX_LEAVE_DAYS:
        raise Unprocessable(
            _("At most %(days)s days at a time.") % {"days": MAX_LEAVE_DAYS},
            code="too_long",
            details={"field": "date_to", "max_days": MAX_LEAVE_DAYS},
        )
    overlapping = (
        ShiftRequest.objects.filter(
            requester=requester, date_from__lte=date_to, date_to__gte=date_from, status__in=OPEN_STATUSES
        ).exists()
        or Leave.objects.filter(agent=requester, date_from__lte=date_to, date_to__gte=date_from).exists()
    )
    if overlapping:
        raise Conflict(
            _("Leave or a request already covers these days."), code="leave_overlaps", details={"field": "date_from"}
        )
    item = ShiftRequest.objects.create(
        kind=RequestKind.LEAVE,
        status=RequestStatus.PENDING,
        requester=requester,
        date_from=date_from,
        date_to=date_to,
        leave_kind=kind,
        note=note,
    )
    _request_audit(requester, "wfm.leave_requested", item, leave_kind=kind)
    return item


@transaction.atomic
def request_cancel(*, request_id: int, actor: User) -> ShiftRequest:
    from core.errors import Forbidden

    item = _open_request(request_id)
    if item.requester_id != actor.pk:
        raise Forbidden(_("This request is not yours to answer."), code="not_your_request")
    item.status = RequestStatus.CANCELLED
    item.save(update_fields=["status"])
    _request_audit(actor, "wfm.request_cancelled", item)
    return item


def _apply_leave(item: ShiftRequest, *, force: bool) -> dict[str, Any]:
    """The leave row, and the requester's shifts on those days taken out of the published
    rosters — refused with ``leave_breaks_rule`` when that breaks a hard rule (the coverage
    floor, mostly) unless the team lead forces it (the broken rules go into the audit)."""
    from core.errors import Conflict

    removed: list[dict[str, str]] = []
    broken: list[str] = []
    for roster in selectors.published_rosters_between(item.date_from, item.date_to):
        roster = Roster.objects.select_for_update().get(pk=roster.pk)
        before = _roster_rows(roster)
        first = max(item.date_from, roster.start)
        last = min(item.date_to, roster.start + timedelta(days=roster.days - 1))
        gone = {(first - roster.start).days + k for k in range((last - first).days + 1)}
        after = [(a, d, code) for a, d, code in before if not (a == item.requester_id and d in gone)]
        if len(after) == len(before):
            continue
        broken += _new_breaks(roster, before, after)
        rows = RosterAssignment.objects.filter(
            roster=roster, agent_id=item.requester_id, date__gte=first, date__lte=last
        )
        removed += [{"date": r.date.isoformat(), "shift": r.shift_code, "roster": str(roster.pk)} for r in rows]
        rows.delete()
    broken = sorted(set(broken) - {"hours_min"})  # leave counts as worked: the hours stay whole
    if broken and not force:
        raise Conflict(
            _("Taking these shifts out breaks a rule of the roster; approve with force to accept it."),
            code="leave_breaks_rule",
            details={"rules": broken},
        )
    Leave.objects.create(
        agent_id=item.requester_id,
        kind=item.leave_kind or LeaveKind.ANNUAL,
        date_from=item.date_from,
        date_to=item.date_to,
        note=item.note,
    )
    return {"removed_shifts": removed, "rules_broken": broken}


@transaction.atomic
def request_decide(*, request_id: int, actor: User, approve: bool, note: str = "", force: bool = False) -> ShiftRequest:
    """A team lead approves (the rules re-checked on the roster as it is now) or rejects (with a
    reason) a request awaiting them."""
    from core.errors import Conflict, Unprocessable

    item = _open_request(request_id)
    if item.status != RequestStatus.PENDING:
        raise Conflict(
            _("The request is not waiting for this."), code="request_not_open", details={"status": item.status}
        )
    if not approve and not note.strip():
        raise Unprocessable(_("Give a reason for the rejection."), code="reason_required", details={"field": "note"})
    details: dict[str, Any] = {}
    if approve and item.kind == RequestKind.SWAP:
        assert item.colleague is not None
        # The roster that speaks for the day now (a newer one may have been published since).
        roster = selectors.published_roster_on(item.date_from)
        if roster is None:
            raise Conflict(
                _("No published roster covers that day."), code="no_published_roster", details={"field": "date"}
            )
        roster_swap(
            roster_id=roster.pk, agent_a=item.requester, agent_b=item.colleague, day=item.date_from, actor=actor
        )
        item.roster = roster
    elif approve:
        details = _apply_leave(item, force=force)
    item.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    item.decided_by, item.decided_at, item.decision_note = actor, timezone.now(), note.strip()[:200]
    item.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "roster"])
    _request_audit(actor, "wfm.request_approved" if approve else "wfm.request_rejected", item, note=note, **details)
    return item
