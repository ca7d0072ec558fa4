"""An independent check of a roster against the hard rules, written apart from the solver (no
OR-Tools, no shared constraint code): it walks each agent's days as a person would. The tests
and the service judge the solver's output by this, not by the solver's own status.

Rules and their boundaries as ``roster`` documents them: the period stands alone (nothing is
known of the days before it; a rule that would reach past its end is not checked there).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from .roster import INTERVALS, LEAVE_DAY_MIN, Problem


def coverage(problem: Problem, assignments: Iterable[tuple[int, int, str]]) -> list[list[int]]:
    """Agents on duty per [day][interval] (a shift past midnight counts on the next day)."""
    by_code = {shift.code: shift for shift in problem.shifts}
    staffed = [[0] * INTERVALS for _ in range(problem.days)]
    for _agent, day, code in assignments:
        shift = by_code[code]
        start_slot = shift.start_min // 30
        for k in range(math.ceil(shift.minutes / 30)):
            slot = start_slot + k
            d, i = day + slot // INTERVALS, slot % INTERVALS
            if d < problem.days:
                staffed[d][i] += 1
    return staffed


def violations(problem: Problem, assignments: Iterable[tuple[int, int, str]]) -> list[dict[str, Any]]:
    """Every broken hard rule: ``{"rule", "agent", "days": [day indexes]}``."""
    assignments = list(assignments)
    by_code = {shift.code: shift for shift in problem.shifts}
    rules = problem.rules
    found: list[dict[str, Any]] = []

    def broke(rule: str, agent: int | None, days: list[int], **extra: Any) -> None:
        found.append({"rule": rule, "agent": agent, "days": days, **extra})

    plan: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for agent_id, day, code in assignments:
        if code not in by_code:
            broke("unknown_shift", agent_id, [day], shift=code)
            continue
        if not 0 <= day < problem.days:
            broke("outside_period", agent_id, [day])
            continue
        plan[agent_id][day].append(code)
    known = {agent.id for agent in problem.agents}
    for agent_id in plan:
        if agent_id not in known:
            broke("unknown_agent", agent_id, [])

    for agent in problem.agents:
        days = plan.get(agent.id, {})
        for day, codes in days.items():
            if len(codes) > 1:
                broke("one_shift_a_day", agent.id, [day])
        shift_of = {day: by_code[codes[0]] for day, codes in days.items() if codes}

        # The days before the period (published rosters), as negative day indexes.
        before = {k - len(agent.prior): kind for k, kind in enumerate(agent.prior) if kind != "off"}

        def works(day: int, shift_of: dict = shift_of, before: dict = before) -> bool:
            return day in shift_of or day in before

        def night(day: int, shift_of: dict = shift_of, before: dict = before) -> bool:
            return (day in shift_of and shift_of[day].night) or before.get(day) == "night"

        for day in range(problem.days):
            if works(day) and (day in agent.leave or day in agent.unavailable):
                broke("leave", agent.id, [day])
            if night(day) and agent.no_nights:
                broke("night_ban", agent.id, [day])
        # From the first day known (the prior days included); a break is reported only where it
        # reaches into the period (the days before it are published, not this roster's to fix).
        for day in range(-len(agent.prior), problem.days):
            if night(day) and 0 <= day + 1 < problem.days and works(day + 1) and not night(day + 1):
                broke("no_day_after_night", agent.id, [d for d in (day, day + 1) if d >= 0])
        # runs of nights and of working days
        run_nights = 0
        run_days = 0
        for day in range(-len(agent.prior), problem.days):
            run_nights = run_nights + 1 if night(day) else 0
            if run_nights > rules.max_consecutive_nights and day >= 0:
                broke("max_consecutive_nights", agent.id, list(range(max(0, day - run_nights + 1), day + 1)))
            run_days = run_days + 1 if works(day) else 0
            if run_days > rules.max_consecutive_days and day >= 0:
                broke("max_consecutive_days", agent.id, list(range(max(0, day - run_days + 1), day + 1)))
            # the end of a night block: the next rest_after_nights days off
            if night(day) and not night(day + 1):
                for r in range(1, rules.rest_after_nights + 1):
                    if 0 <= day + r < problem.days and works(day + r):
                        broke("rest_after_nights", agent.id, [d for d in (day, day + r) if d >= 0])
        for week_start in range(0, problem.days - 6, 7):
            if all(works(d) for d in range(week_start, week_start + 7)):
                broke("weekly_day_off", agent.id, list(range(week_start, week_start + 7)))
        # hours
        worked = sum(shift.paid for shift in shift_of.values())
        leave_days = [d for d in range(problem.days) if d in agent.leave]
        absent_days = [d for d in range(problem.days) if d in agent.unavailable]
        standard = agent.week_hours * 60 * (problem.days - len(absent_days)) / 7 - LEAVE_DAY_MIN * len(leave_days)
        longest = max(shift.paid for shift in problem.shifts)
        if worked < math.floor(standard - longest):
            broke("hours_min", agent.id, [], worked_h=worked / 60, standard_h=standard / 60)
        months: dict[tuple[int, int], list[int]] = defaultdict(list)
        for d in range(problem.days):
            day_date = problem.date_of(d)
            months[(day_date.year, day_date.month)].append(d)
        for month_days in months.values():
            in_month = sum(shift_of[d].paid for d in month_days if d in shift_of)
            leave_m = sum(1 for d in month_days if d in agent.leave)
            absent_m = sum(1 for d in month_days if d in agent.unavailable)
            standard_m = agent.week_hours * 60 * (len(month_days) - absent_m) / 7 - LEAVE_DAY_MIN * leave_m
            if in_month > standard_m + rules.overtime_month_h * 60:
                broke("overtime_month", agent.id, month_days, overtime_h=(in_month - standard_m) / 60)
    if problem.floor:
        staffed = coverage(problem, assignments)
        # Before the earliest shift start of the first day the previous period's night is on duty.
        first_slot = min(shift.start_min for shift in problem.shifts) // 30
        for d in range(problem.days):
            for i in range(INTERVALS):
                if d == 0 and i < first_slot:
                    continue
                if staffed[d][i] < problem.floor[d][i]:
                    broke("coverage_floor", None, [d], interval=i)
    return found
