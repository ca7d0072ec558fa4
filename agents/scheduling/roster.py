"""The roster: a CP-SAT model (OR-Tools) that puts agents on shifts for a period.

Pure: it takes a ``Problem`` (days, shift templates, agents with their bans, leave and
preferences, the staff required per half-hour) and returns a ``Solution``; the database side is
``services``. The solver's word is not trusted: ``validate`` checks every answer independently.

Hard rules (PRC Labour Law and the centre's comprehensive-hours approval, ``docs/wfm.md``):

* ``no_day_after_night`` — no day shift on the day after a night shift;
* ``max_consecutive_nights`` — at most 3 nights in a row, then ``rest_after_nights`` — 2 days off;
* ``max_consecutive_days`` — at most 6 working days in a row; ``weekly_day_off`` — a day off in
  every 7-day week of the period;
* ``hours_min`` / ``overtime_month`` — hours over the period within one shift of the
  40 h/week average (leave counts as worked at 8 h a day), overtime at most 36 h per month;
* ``night_ban`` — no nights for staff barred from them (pregnant or nursing: art. 61/63);
* ``leave`` — nobody works on leave or unavailable days;
* ``coverage_floor`` — at least the floor (default 1) of agents in every half-hour.

Soft goals (weighed, every one bent reported): cover the required staff per half-hour, not
overstaff, a fair share of nights, weekends and holidays, preferences, little overtime.

Infeasible input → ``diagnose``: each group of hard rules is made elastic in turn (a slack per
constraint, the total slack minimised); a group whose slack makes the rest feasible is a cause,
and its constraints with slack name the rule, the agent and the days.
"""

from __future__ import annotations

import math
import time as time_mod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

INTERVALS = 48
SLOT_MIN = 30
LEAVE_DAY_MIN = 8 * 60

HARD_GROUPS = ("nights", "consecutive_days", "hours", "night_ban", "leave", "coverage_floor")
GROUP_OF_RULE = {
    "no_day_after_night": "nights",
    "max_consecutive_nights": "nights",
    "rest_after_nights": "nights",
    "max_consecutive_days": "consecutive_days",
    "weekly_day_off": "consecutive_days",
    "hours_min": "hours",
    "overtime_month": "hours",
    "night_ban": "night_ban",
    "leave": "leave",
    "coverage_floor": "coverage_floor",
}

W_SHORT = 1000
W_OVER = 2
W_FAIR_NIGHTS = 40
W_FAIR_WEEKENDS = 30
W_FAIR_HOLIDAYS = 30
W_OVERTIME_H = 5


@dataclass(frozen=True)
class Shift:
    code: str
    start_min: int  # minutes after midnight
    minutes: int  # length; a shift may run into the next morning
    night: bool
    paid_minutes: int | None = None

    @property
    def paid(self) -> int:
        return self.minutes if self.paid_minutes is None else self.paid_minutes

    def slots(self) -> list[tuple[int, int]]:
        """(day offset 0|1, interval index) of the half-hours it covers."""
        first = self.start_min // SLOT_MIN
        return [divmod(first + k, INTERVALS) for k in range(math.ceil(self.minutes / SLOT_MIN))]


@dataclass(frozen=True)
class Preference:
    day: int
    shift: str | None  # None: a day off
    weight: int = 10


@dataclass(frozen=True)
class AgentSpec:
    id: int
    name: str
    no_nights: bool = False
    leave: frozenset[int] = frozenset()  # day indexes; count as 8 h worked
    unavailable: frozenset[int] = frozenset()  # day indexes, not counted as worked
    preferences: tuple[Preference, ...] = ()
    week_hours: int = 40
    # The days before the period from the published rosters, oldest first: "off", "day" or
    # "night". The rules that reach back honour them (no day shift after a night on the eve, a
    # run of nights or working days carried in, the rest owed after a night block).
    prior: tuple[str, ...] = ()

    def prior_run(self, *kinds: str) -> int:
        """How many of the last prior days in a row were of ``kinds``."""
        run = 0
        for kind in reversed(self.prior):
            if kind not in kinds:
                break
            run += 1
        return run


@dataclass(frozen=True)
class Rules:
    max_consecutive_nights: int = 3
    rest_after_nights: int = 2
    max_consecutive_days: int = 6
    week_hours: int = 40
    overtime_month_h: int = 36


@dataclass
class Problem:
    start: date
    days: int
    shifts: list[Shift]
    agents: list[AgentSpec]
    required: list[list[int]]  # [day][interval]
    floor: list[list[int]] | None = None  # [day][interval], hard minimum
    holidays: frozenset[int] = frozenset()
    rules: Rules = field(default_factory=Rules)

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def weekend(self, day: int) -> bool:
        return self.date_of(day).weekday() >= 5

    def covering(self) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """(day, interval) → [(day the shift starts, shift index)] covering it, in the period."""
        cover: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for s, shift in enumerate(self.shifts):
            for offset, slot in shift.slots():
                for d in range(self.days):
                    if d + offset < self.days:
                        cover.setdefault((d + offset, slot), []).append((d, s))
        return cover

    def month_parts(self) -> dict[tuple[int, int], list[int]]:
        parts: dict[tuple[int, int], list[int]] = {}
        for d in range(self.days):
            day = self.date_of(d)
            parts.setdefault((day.year, day.month), []).append(d)
        return parts

    def standard_minutes(self, agent: AgentSpec, days: list[int] | None = None) -> float:
        """The agent's standard hours (minutes) over ``days``: the weekly hours averaged, the
        leave days already counted as worked."""
        days = list(range(self.days)) if days is None else days
        leave = sum(1 for d in days if d in agent.leave)
        absent = sum(1 for d in days if d in agent.unavailable)
        return agent.week_hours * 60 * (len(days) - absent) / 7 - leave * LEAVE_DAY_MIN


@dataclass
class Solution:
    status: str  # done | infeasible | failed
    assignments: list[tuple[int, int, str]] = field(default_factory=list)  # (agent id, day, shift code)
    objective: float | None = None
    bound: float | None = None
    seconds: float = 0.0
    soft: list[dict[str, Any]] = field(default_factory=list)
    diagnosis: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        if self.objective == 0:
            return 0.0
        return abs(self.objective - self.bound) / abs(self.objective)


class _Builder:
    def __init__(self, problem: Problem, elastic: frozenset[str], *, with_objective: bool = True) -> None:
        from ortools.sat.python import cp_model

        self.cp = cp_model
        self.p = problem
        self.m = cp_model.CpModel()
        self.elastic = elastic
        self.slacks: list[tuple[str, int | None, list[int], Any, int | None]] = []
        self.x: dict[tuple[int, int, int], Any] = {}
        self.build(with_objective)

    # hard constraint "expr ≤ ub", elastic when its group is
    def le(
        self, rule: str, agent: int | None, days: list[int], expr: Any, ub: int, interval: int | None = None
    ) -> None:
        if GROUP_OF_RULE[rule] in self.elastic:
            slack = self.m.new_int_var(0, 10_000, f"slack_{rule}_{agent}_{days[0] if days else 0}_{len(self.slacks)}")
            self.m.add(expr <= ub + slack)
            self.slacks.append((rule, agent, days, slack, interval))
        else:
            self.m.add(expr <= ub)

    def build(self, with_objective: bool) -> None:
        p, m = self.p, self.m
        days = range(p.days)
        night = [s for s, sh in enumerate(p.shifts) if sh.night]
        rules = p.rules
        for a in range(len(p.agents)):
            for d in days:
                for s in range(len(p.shifts)):
                    self.x[a, d, s] = m.new_bool_var(f"x_{a}_{d}_{s}")
                m.add_at_most_one(self.x[a, d, s] for s in range(len(p.shifts)))
        self.work = {
            (a, d): sum(self.x[a, d, s] for s in range(len(p.shifts))) for a in range(len(p.agents)) for d in days
        }
        self.nights = {(a, d): sum(self.x[a, d, s] for s in night) for a in range(len(p.agents)) for d in days}
        for a, agent in enumerate(p.agents):
            for d in days:
                if d in agent.leave or d in agent.unavailable:
                    self.le("leave", agent.id, [d], self.work[a, d], 0)
                if agent.no_nights and night:
                    self.le("night_ban", agent.id, [d], self.nights[a, d], 0)
            self.carried_in(a, agent)
            for d in range(p.days - 1):
                day_next = self.work[a, d + 1] - self.nights[a, d + 1]
                self.le("no_day_after_night", agent.id, [d, d + 1], self.nights[a, d] + day_next, 1)
            k = rules.max_consecutive_nights
            for d in range(p.days - k):
                self.le(
                    "max_consecutive_nights",
                    agent.id,
                    list(range(d, d + k + 1)),
                    sum(self.nights[a, d + j] for j in range(k + 1)),
                    k,
                )
            for d in range(p.days - 1):
                for r in range(1, rules.rest_after_nights + 1):
                    if d + r < p.days:
                        # the last night of a block (night on d, none on d+1) → off on d+1 … d+rest
                        self.le(
                            "rest_after_nights",
                            agent.id,
                            [d, d + r],
                            self.nights[a, d] - self.nights[a, d + 1] + self.work[a, d + r],
                            1,
                        )
            k = rules.max_consecutive_days
            for d in range(p.days - k):
                self.le(
                    "max_consecutive_days",
                    agent.id,
                    list(range(d, d + k + 1)),
                    sum(self.work[a, d + j] for j in range(k + 1)),
                    k,
                )
            for w in range(p.days // 7):
                week = list(range(7 * w, 7 * w + 7))
                self.le("weekly_day_off", agent.id, week, sum(self.work[a, d] for d in week), 6)
            minutes = self.minutes(a)
            longest = max(sh.paid for sh in p.shifts)
            std = p.standard_minutes(agent)
            self.le("hours_min", agent.id, [], -minutes, -max(0, math.floor(std - longest)))
            for month_days in p.month_parts().values():
                std_m = p.standard_minutes(agent, month_days)
                cap = math.floor(std_m + rules.overtime_month_h * 60)
                self.le("overtime_month", agent.id, month_days, self.minutes(a, month_days), max(cap, 0))
        self.cover = p.covering()
        self.short: dict[tuple[int, int], Any] = {}
        self.over: dict[tuple[int, int], Any] = {}
        n_agents = len(p.agents)
        # Half-hours covered by the same shifts share one staffed count (a 12-hour shift's 24
        # half-hours: one sum over the agents instead of 24), which keeps the model small.
        staffed_of: dict[tuple[tuple[int, int], ...], Any] = {}
        for d in days:
            for i in range(INTERVALS):
                if not self.cover.get((d, i)):
                    continue  # the first morning: the previous period's night shift covers it
                key = tuple(sorted(self.cover[d, i]))
                if key not in staffed_of:
                    count = m.new_int_var(0, n_agents, f"staffed_{d}_{i}")
                    m.add(count == sum(self.x[a, dd, s] for (dd, s) in key for a in range(n_agents)))
                    staffed_of[key] = count
                staffed = staffed_of[key]
                floor = p.floor[d][i] if p.floor else 0
                if floor:
                    self.le("coverage_floor", None, [d], -staffed, -floor, interval=i)
                req = p.required[d][i]
                short = m.new_int_var(0, max(req, 0), f"short_{d}_{i}")
                over = m.new_int_var(0, n_agents, f"over_{d}_{i}")
                m.add(staffed + short - over == req)
                self.short[d, i] = short
                self.over[d, i] = over
        if not with_objective:
            return
        terms = [W_SHORT * v for v in self.short.values()] + [W_OVER * v for v in self.over.values()]
        terms += self.spread(
            W_FAIR_NIGHTS,
            [a for a, ag in enumerate(p.agents) if not ag.no_nights],
            lambda a: sum(self.nights[a, d] for d in days),
        )
        weekend_days = [d for d in days if p.weekend(d)]
        if weekend_days:
            terms += self.spread(W_FAIR_WEEKENDS, range(n_agents), lambda a: sum(self.work[a, d] for d in weekend_days))
        holidays = [d for d in days if d in p.holidays]
        if holidays:
            terms += self.spread(W_FAIR_HOLIDAYS, range(n_agents), lambda a: sum(self.work[a, d] for d in holidays))
        self.pref_miss: list[tuple[int, Preference, Any]] = []
        codes = {sh.code: s for s, sh in enumerate(p.shifts)}
        for a, agent in enumerate(p.agents):
            for pref in agent.preferences:
                if not 0 <= pref.day < p.days:
                    continue
                honoured = (
                    (1 - self.work[a, pref.day]) if pref.shift is None else self.x[a, pref.day, codes[pref.shift]]
                )
                miss = m.new_bool_var(f"pref_{a}_{pref.day}")
                m.add(miss + honoured >= 1)  # miss ≥ 1 − honoured
                self.pref_miss.append((agent.id, pref, miss))
                terms.append(pref.weight * miss)
        self.overtime: dict[int, Any] = {}
        for a, agent in enumerate(p.agents):
            ot = m.new_int_var(0, 100_000, f"ot_{a}")
            m.add(ot * 60 >= self.minutes(a) - math.floor(p.standard_minutes(agent)))
            self.overtime[a] = ot
            terms.append(W_OVERTIME_H * ot)
        m.minimize(sum(terms))

    def carried_in(self, a: int, agent: AgentSpec) -> None:
        """The rules that reach back into the days before the period (``AgentSpec.prior``)."""
        p, rules = self.p, self.p.rules
        if not agent.prior or not p.days:
            return
        nights_in = agent.prior_run("night")
        if nights_in:
            # a night on the eve: no day shift on the first day
            self.le("no_day_after_night", agent.id, [0], self.work[a, 0] - self.nights[a, 0], 0)
            k = rules.max_consecutive_nights
            first = list(range(min(p.days, max(1, k - nights_in + 1))))
            self.le(
                "max_consecutive_nights", agent.id, first, sum(self.nights[a, d] for d in first), max(0, k - nights_in)
            )
            # the block ends on the eve unless the first day is a night: then the rest is owed
            for d in range(min(p.days, rules.rest_after_nights)):
                self.le("rest_after_nights", agent.id, [d], self.work[a, d] - self.nights[a, 0], 0)
        else:
            off_since = agent.prior_run("off")
            if off_since < len(agent.prior) and agent.prior[-1 - off_since] == "night":
                for d in range(min(p.days, max(0, rules.rest_after_nights - off_since))):
                    self.le("rest_after_nights", agent.id, [d], self.work[a, d], 0)
        days_in = agent.prior_run("day", "night")
        if days_in:
            k = rules.max_consecutive_days
            first = list(range(min(p.days, max(1, k - days_in + 1))))
            self.le("max_consecutive_days", agent.id, first, sum(self.work[a, d] for d in first), max(0, k - days_in))

    def minutes(self, a: int, days: list[int] | None = None) -> Any:
        days = list(range(self.p.days)) if days is None else days
        return sum(self.x[a, d, s] * sh.paid for d in days for s, sh in enumerate(self.p.shifts))

    def spread(self, weight: int, agents: Any, count: Callable[[int], Any]) -> list[Any]:
        agents = list(agents)
        if len(agents) < 2:
            return []
        hi = self.m.new_int_var(0, self.p.days, "hi")
        lo = self.m.new_int_var(0, self.p.days, "lo")
        for a in agents:
            c = count(a)
            self.m.add(c <= hi)
            self.m.add(c >= lo)
        self.spreads = getattr(self, "spreads", [])
        self.spreads.append((weight, hi, lo))
        return [weight * (hi - lo)]


def _solver(seconds: float, workers: int, progress: Callable[[float, float | None, float | None], None] | None):
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    solver.parameters.relative_gap_limit = 0.01
    # The LP relaxation with the coverage rows gives a much better bound on the staff short; with
    # 8 portfolio workers (even on 2 cores) bench_wfm closes 20 agents × 28 days to < 1 % in
    # ~6 s and 200 agents to 1 % in ~130 s, where 2 workers took twice as long or stalled.
    solver.parameters.linearization_level = 2
    callback = None
    if progress is not None:
        started = time_mod.monotonic()

        report = progress

        class _Progress(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                elapsed = time_mod.monotonic() - started
                report(min(elapsed / seconds, 0.99), self.objective_value, self.best_objective_bound)

        callback = _Progress()
    return solver, callback


def solve(
    problem: Problem,
    *,
    seconds: float = 30.0,
    workers: int = 8,
    progress: Callable[[float, float | None, float | None], None] | None = None,
    diagnose_seconds: float = 10.0,
) -> Solution:
    from ortools.sat.python import cp_model

    started = time_mod.monotonic()
    b = _Builder(problem, frozenset())
    solver, callback = _solver(seconds, workers, progress)
    status = solver.solve(b.m, callback)
    elapsed = time_mod.monotonic() - started
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sol = Solution("done", seconds=elapsed, objective=solver.objective_value, bound=solver.best_objective_bound)
        for (a, d, s), var in b.x.items():
            if solver.value(var):
                sol.assignments.append((problem.agents[a].id, d, problem.shifts[s].code))
        sol.soft = _soft_report(problem, b, solver)
        return sol
    if status == cp_model.INFEASIBLE:
        return Solution(
            "infeasible", seconds=elapsed, diagnosis=diagnose(problem, seconds=diagnose_seconds, workers=workers)
        )
    return Solution("failed", seconds=elapsed, diagnosis=[{"rule": "time_limit", "detail": solver.status_name(status)}])


def _soft_report(problem: Problem, b: _Builder, solver: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for (d, i), var in sorted(b.short.items()):
        missing = solver.value(var)
        if missing:
            out.append(
                {
                    "rule": "coverage",
                    "date": problem.date_of(d).isoformat(),
                    "interval": f"{i // 2:02d}:{(i % 2) * 30:02d}",
                    "missing": missing,
                }
            )
    for agent_id, pref, miss in b.pref_miss:
        if solver.value(miss):
            out.append(
                {
                    "rule": "preference",
                    "agent": agent_id,
                    "date": problem.date_of(pref.day).isoformat(),
                    "wanted": pref.shift or "off",
                }
            )
    names = {W_FAIR_NIGHTS: "fair_nights", W_FAIR_WEEKENDS: "fair_weekends", W_FAIR_HOLIDAYS: "fair_holidays"}
    for weight, hi, lo in getattr(b, "spreads", []):
        spread = solver.value(hi) - solver.value(lo)
        if spread > 1:
            out.append(
                {
                    "rule": names.get(weight, "fairness"),
                    "spread": spread,
                    "most": solver.value(hi),
                    "fewest": solver.value(lo),
                }
            )
    for a, ot in b.overtime.items():
        hours = solver.value(ot)
        if hours > 0:
            out.append({"rule": "overtime", "agent": problem.agents[a].id, "hours": hours})
    return out


def diagnose(problem: Problem, *, seconds: float = 10.0, workers: int = 2) -> list[dict[str, Any]]:
    """Why ``problem`` is infeasible: each hard-rule group made elastic in turn."""
    from ortools.sat.python import cp_model

    def elastic_run(groups: frozenset[str]) -> list[dict[str, Any]] | None:
        b = _Builder(problem, groups, with_objective=False)
        b.m.minimize(sum(item[3] for item in b.slacks) if b.slacks else 0)
        solver, _cb = _solver(seconds, workers, None)
        status = solver.solve(b.m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        found = []
        for rule, agent, days, slack, interval in b.slacks:
            value = solver.value(slack)
            if value:
                found.append(
                    {
                        "rule": rule,
                        "group": GROUP_OF_RULE[rule],
                        "agent": agent,
                        "dates": [problem.date_of(d).isoformat() for d in days],
                        "excess": value,
                        "intervals": [] if interval is None else [f"{interval // 2:02d}:{interval % 2 * 30:02d}"],
                    }
                )
        return found

    causes: list[dict[str, Any]] = []
    for group in HARD_GROUPS:
        result = elastic_run(frozenset({group}))
        if result is not None:
            causes.extend(result or [{"rule": group, "group": group, "agent": None, "dates": [], "excess": 0}])
    if not causes:
        causes = elastic_run(frozenset(HARD_GROUPS)) or [
            {"rule": "unknown", "group": None, "agent": None, "dates": [], "excess": 0}
        ]
    return _merge(causes)


def _merge(causes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (rule, agent): the days involved and the total excess."""
    merged: dict[tuple[str, Any], dict[str, Any]] = {}
    for cause in causes:
        key = (cause["rule"], cause["agent"])
        entry = merged.setdefault(key, {**cause, "dates": [], "excess": 0, "intervals": []})
        entry["dates"] = sorted(set(entry["dates"]) | set(cause["dates"]))
        entry["intervals"] = sorted(set(entry["intervals"]) | set(cause.get("intervals", [])))
        entry["excess"] += cause["excess"]
    return list(merged.values())
