"""A roster does not stand alone: the published days before it reach into it. A night on the eve
forbids a day shift on the first day and owes the rest; runs of nights and working days carry
in. The solver honours them; the validator, walking the prior days too, is the judge."""

from __future__ import annotations

from datetime import date

from agents.scheduling import roster as solver
from agents.scheduling import validate
from agents.scheduling.roster import AgentSpec, Problem, Shift

DAY = Shift("D", 8 * 60, 12 * 60, night=False)
NIGHT = Shift("N", 20 * 60, 12 * 60, night=True)
MONDAY = date(2027, 1, 4)


def _problem(specs: list[AgentSpec], days: int = 7) -> Problem:
    required = [[2 if 16 <= i < 40 else 1 for i in range(48)] for _ in range(days)]
    return Problem(MONDAY, days, [DAY, NIGHT], specs, required, floor=[[1] * 48 for _ in range(days)])


def _rules(found):
    return {(v["rule"], v["agent"]) for v in found}


def test_validator_sees_a_night_on_the_eve():
    eve_night = AgentSpec(0, "x", prior=("off",) * 6 + ("night",))
    problem = _problem([eve_night])
    assert ("no_day_after_night", 0) in _rules(validate.violations(problem, [(0, 0, "D")]))
    # the block ended on the eve: day 1 is still owed as rest
    assert ("rest_after_nights", 0) in _rules(validate.violations(problem, [(0, 1, "D")]))
    rested = _rules(validate.violations(problem, [(0, 2, "D")]))
    assert not {("no_day_after_night", 0), ("rest_after_nights", 0)} & rested
    # without the prior day the same plan is legal: the rule is the prior's
    plain = _problem([AgentSpec(0, "x")])
    assert ("no_day_after_night", 0) not in _rules(validate.violations(plain, [(0, 0, "D")]))


def test_validator_carries_runs_of_nights_and_working_days_in():
    three_nights = AgentSpec(0, "x", prior=("off",) * 4 + ("night",) * 3)
    problem = _problem([three_nights])
    assert ("max_consecutive_nights", 0) in _rules(validate.violations(problem, [(0, 0, "N")]))
    six_days = AgentSpec(1, "y", prior=("off",) + ("day",) * 6)
    problem = _problem([six_days])
    assert ("max_consecutive_days", 1) in _rules(validate.violations(problem, [(1, 0, "D")]))
    assert ("max_consecutive_days", 1) not in _rules(validate.violations(problem, [(1, 1, "D")]))


def test_solver_honours_the_prior_days():
    specs = [
        AgentSpec(0, "eve night", prior=("off",) * 6 + ("night",)),
        AgentSpec(1, "three nights", prior=("off",) * 4 + ("night",) * 3),
        AgentSpec(2, "six days", prior=("off",) + ("day",) * 6),
    ] + [AgentSpec(i, f"a{i}") for i in range(3, 8)]
    problem = _problem(specs, days=14)
    result = solver.solve(problem, seconds=15)
    assert result.status == "done"
    assert validate.violations(problem, result.assignments) == []
    plan = {(a, d): code for a, d, code in result.assignments}
    assert plan.get((0, 0)) in (None, "N")
    assert plan.get((1, 0)) is None and plan.get((1, 1)) is None  # no 4th night, then the rest
    assert plan.get((2, 0)) is None  # the seventh day in a row is off


def test_prior_days_that_cannot_be_honoured_are_diagnosed():
    # one agent, a night on the eve, a floor of one every half-hour of the first day: infeasible
    problem = _problem([AgentSpec(0, "alone", prior=("off",) * 4 + ("night",) * 3)], days=2)
    result = solver.solve(problem, seconds=10)
    assert result.status == "infeasible"
    assert result.diagnosis
