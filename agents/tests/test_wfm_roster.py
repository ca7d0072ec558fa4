"""The roster: the solver's answers judged by the separate validator (never by the solver's own
status), infeasible inputs diagnosed by rule and day, and the ``/api/wfm/rosters/`` contract."""

from __future__ import annotations

from datetime import date

import pytest

from agents.scheduling import roster as solver
from agents.scheduling import validate
from agents.scheduling.roster import AgentSpec, Preference, Problem, Shift

DAY = Shift("D", 8 * 60, 12 * 60, night=False)
NIGHT = Shift("N", 20 * 60, 12 * 60, night=True)
MONDAY = date(2027, 1, 4)


def _problem(agents: int = 8, days: int = 14, need_day: int = 2, need_night: int = 1, **kw) -> Problem:
    specs = kw.pop("specs", None) or [AgentSpec(i, f"a{i}") for i in range(agents)]
    required = [[need_day if 16 <= i < 40 else need_night for i in range(48)] for _ in range(days)]
    return Problem(MONDAY, days, [DAY, NIGHT], specs, required, floor=[[1] * 48 for _ in range(days)], **kw)


def _rules(found):
    return {v["rule"] for v in found}


def test_solved_roster_breaks_no_hard_rule_by_the_validator():
    specs = [AgentSpec(i, f"a{i}") for i in range(8)]
    specs[0] = AgentSpec(0, "pregnant", no_nights=True)
    specs[1] = AgentSpec(1, "on leave", leave=frozenset({2, 3, 4}))
    specs[2] = AgentSpec(2, "wants a day off", preferences=(Preference(5, None, 50),))
    problem = _problem(specs=specs)
    result = solver.solve(problem, seconds=20)
    assert result.status == "done"
    assert validate.violations(problem, result.assignments) == []
    by_agent = {}
    for agent, day, code in result.assignments:
        by_agent.setdefault(agent, {})[day] = code
    assert "N" not in by_agent.get(0, {}).values()  # the ban held
    assert not {2, 3, 4} & set(by_agent.get(1, {}))  # nobody works on leave
    assert 5 not in by_agent.get(2, {})  # a weighty preference honoured
    staffed = validate.coverage(problem, result.assignments)
    assert all(staffed[d][i] >= 1 for d in range(problem.days) for i in range(48) if d or i >= 16)
    assert result.gap is not None and result.gap <= 0.05


def test_validator_catches_every_kind_of_broken_rule():
    specs = [AgentSpec(0, "x"), AgentSpec(1, "banned", no_nights=True, leave=frozenset({0}))]
    problem = Problem(MONDAY, 14, [DAY, NIGHT], specs, [[0] * 48 for _ in range(14)])
    bad = [(0, d, "N") for d in range(4)]  # four nights in a row
    bad += [(0, 4, "D")]  # a day shift right after the night block (and no rest)
    bad += [(1, d, "D") for d in range(0, 8)]  # works on leave, 8 days straight, no day off in week 1
    bad += [(1, 9, "N")]  # a night for a banned agent
    found = _rules(validate.violations(problem, bad))
    assert {
        "max_consecutive_nights",
        "no_day_after_night",
        "rest_after_nights",
        "leave",
        "max_consecutive_days",
        "weekly_day_off",
        "night_ban",
        "hours_min",
    } <= found


def test_validator_counts_overtime_per_month():
    problem = Problem(MONDAY, 28, [DAY], [AgentSpec(0, "x")], [[0] * 48 for _ in range(28)])
    # 20 day shifts of 12 h = 240 h against 160 h standard: 80 h over the 36 h cap
    plan = [(0, d, "D") for d in range(28) if d % 7 not in (5, 6)][:20]
    assert "overtime_month" in _rules(validate.violations(problem, plan))


def test_short_staff_is_reported_never_silently():
    problem = _problem(agents=6, days=7, need_day=6, need_night=2)
    result = solver.solve(problem, seconds=10)
    assert result.status == "done"
    assert validate.violations(problem, result.assignments) == []
    staffed = validate.coverage(problem, result.assignments)
    short = {(d, i) for d in range(7) for i in range(48) if staffed[d][i] < problem.required[d][i] and (d or i >= 16)}
    reported = {(item["date"], item["interval"]) for item in result.soft if item["rule"] == "coverage"}
    assert short
    assert {(problem.date_of(d).isoformat(), f"{i // 2:02d}:{(i % 2) * 30:02d}") for d, i in short} <= reported


def test_night_ban_for_everyone_is_diagnosed_with_the_rule_and_days():
    specs = [AgentSpec(i, f"a{i}", no_nights=True) for i in range(6)]
    problem = _problem(specs=specs, days=7)
    result = solver.solve(problem, seconds=10, diagnose_seconds=5)
    assert result.status == "infeasible"
    causes = {c["rule"] for c in result.diagnosis}
    assert {"night_ban", "coverage_floor"} & causes
    floor = [c for c in result.diagnosis if c["rule"] == "coverage_floor"]
    assert floor and floor[0]["dates"]  # which days the floor could not be held


def test_too_few_agents_for_the_floor_is_infeasible_and_names_the_days():
    problem = _problem(agents=1, days=7)
    result = solver.solve(problem, seconds=10, diagnose_seconds=5)
    assert result.status == "infeasible"
    assert result.diagnosis
    assert all(c["rule"] in solver.GROUP_OF_RULE for c in result.diagnosis)
    assert any(c["dates"] for c in result.diagnosis)


def test_three_eight_hour_shifts_are_configurable():
    shifts = [Shift("A", 0, 480, night=True), Shift("B", 480, 480, night=False), Shift("C", 960, 480, night=False)]
    specs = [AgentSpec(i, f"a{i}") for i in range(8)]
    required = [[1] * 48 for _ in range(7)]
    problem = Problem(MONDAY, 7, shifts, specs, required, floor=[[1] * 48 for _ in range(7)])
    result = solver.solve(problem, seconds=10)
    assert result.status == "done"
    assert validate.violations(problem, result.assignments) == []
    assert min(min(row) for row in validate.coverage(problem, result.assignments)) >= 1


# --- the API -----------------------------------------------------------------------------------------


@pytest.fixture
def wfm_settings(settings):
    """A short solve, run in-process even where a broker is configured (no worker in tests)."""
    from contactcenter.celery import app

    settings.WFM = {"SOLVE_SECONDS": 8, "MIN_STAFF": 1}
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield settings
    app.conf.task_always_eager = before


@pytest.mark.django_db
def test_api_roster_contract(staff, api_for, wfm_settings, django_capture_on_commit_callbacks):
    from org.roles import Role
    from tests.factories import make_staff

    for n in range(7):
        make_staff(Role.AGENT, username=f"wfm{n:02d}")
    client = api_for(staff["team_lead"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/wfm/rosters/", {"start": "2027-01-04", "days": 7}, format="json")
    assert response.status_code == 202
    roster_id = response.json()["id"]
    body = api_for(staff["director"]).get(f"/api/wfm/rosters/{roster_id}/").json()
    assert body["status"] == "done", body["violations"]
    assert {"status", "shifts", "assignments", "coverage", "violations"} <= set(body)
    night = next(s for s in body["shifts"] if s["code"] == "N")
    assert (night["start"], night["end"]) == ("20:00", "08:00")  # ends the next morning
    assert body["assignments"] and set(body["assignments"][0]) == {"agent", "date", "shift"}
    assert not [v for v in body["violations"] if v.get("hard")]
    assert len(body["coverage"]) == 7 * 48
    short = {
        (c["date"], c["interval"])
        for c in body["coverage"]
        if c["scheduled"] < c["required"] and not c.get("previous_period")
    }
    reported = {(v["date"], v["interval"]) for v in body["violations"] if v["rule"] == "coverage"}
    assert short == reported  # every half-hour short is reported, never silently


@pytest.mark.django_db
def test_published_roster_shows_on_the_agents_own_shifts(
    staff, api_for, wfm_settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from audit.models import AuditEvent
    from org.roles import Role
    from tests.factories import make_staff

    agents = [make_staff(Role.AGENT, username=f"wfm{n:02d}") for n in range(7)]
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    lead = api_for(staff["team_lead"])
    with django_capture_on_commit_callbacks(execute=True):
        roster_id = lead.post("/api/wfm/rosters/", {"start": monday.isoformat(), "days": 7}, format="json").json()["id"]
    mine_before = api_for(agents[0]).get("/api/wfm/me/shifts/").json()["shifts"]
    assert mine_before == []  # not published yet
    assert api_for(staff["team_lead"]).post(f"/api/wfm/rosters/{roster_id}/publish/").status_code == 200
    assert AuditEvent.objects.filter(action="wfm.roster_published").exists()
    body = api_for(staff["director"]).get(f"/api/wfm/rosters/{roster_id}/").json()
    expected = {(a["date"], a["shift"]) for a in body["assignments"] if a["agent"] == "wfm00"}
    mine = api_for(agents[0]).get("/api/wfm/me/shifts/").json()["shifts"]
    assert {(s["date"], s["shift"]) for s in mine} == expected
    assert expected


@pytest.mark.django_db
def test_api_roster_with_one_agent_is_infeasible_with_a_diagnosis(
    staff, api_for, wfm_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(staff["team_lead"]).post(
            "/api/wfm/rosters/", {"start": "2027-01-04", "days": 7}, format="json"
        )
    body = api_for(staff["team_lead"]).get(f"/api/wfm/rosters/{response.json()['id']}/").json()
    assert body["status"] == "infeasible"
    assert body["violations"] and all("rule" in v for v in body["violations"])


@pytest.mark.django_db
def test_api_roster_bad_input_and_roles(staff, api_for, wfm_settings):
    lead = api_for(staff["team_lead"])
    bad = lead.post("/api/wfm/rosters/", {"start": "soon", "days": 0}, format="json")
    assert bad.status_code == 400
    assert {"start", "days"} <= set(bad.json()["error"]["fields"])
    assert (
        api_for(staff["agent"]).post("/api/wfm/rosters/", {"start": "2027-01-04", "days": 7}, format="json").status_code
        == 403
    )
    assert api_for(staff["director"]).get("/api/wfm/rosters/999999/").status_code == 404


@pytest.mark.django_db
def test_swap_that_breaks_a_rule_is_refused_and_a_legal_one_applies(
    staff, api_for, wfm_settings, django_capture_on_commit_callbacks
):
    from org.roles import Role
    from tests.factories import make_staff

    for n in range(7):
        make_staff(Role.AGENT, username=f"wfm{n:02d}")
    lead = api_for(staff["team_lead"])
    with django_capture_on_commit_callbacks(execute=True):
        roster_id = lead.post("/api/wfm/rosters/", {"start": "2027-01-04", "days": 7}, format="json").json()["id"]
    body = lead.get(f"/api/wfm/rosters/{roster_id}/").json()
    plan = {(a["agent"], a["date"]): a["shift"] for a in body["assignments"]}
    agents = sorted({a for a, _d in plan})
    dates = sorted({d for _a, d in plan})
    # someone off the morning after their night, someone else on a day shift that day
    breaking = None
    for d_prev, d_next in zip(dates, dates[1:], strict=False):
        rested = [a for a in agents if plan.get((a, d_prev)) == "N" and (a, d_next) not in plan]
        on_day = [a for a in agents if plan.get((a, d_next)) == "D"]
        if rested and on_day:
            breaking = (rested[0], on_day[0], d_next)
            break
    assert breaking, "the solved roster has a night followed by rest"
    a, b, day = breaking
    refused = lead.post(
        f"/api/wfm/rosters/{roster_id}/swaps/", {"agent_a": a, "agent_b": b, "date": day}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "swap_breaks_rule"
    assert {"no_day_after_night", "rest_after_nights"} & set(refused.json()["error"]["details"]["rules"])
    after = {
        (x["agent"], x["date"]): x["shift"] for x in lead.get(f"/api/wfm/rosters/{roster_id}/").json()["assignments"]
    }
    assert after == plan  # nothing changed
    applied = None
    for day in dates:
        for x in agents:
            for y in agents:
                if x < y and plan.get((x, day)) != plan.get((y, day)):
                    response = lead.post(
                        f"/api/wfm/rosters/{roster_id}/swaps/", {"agent_a": x, "agent_b": y, "date": day}, format="json"
                    )
                    if response.status_code == 200:
                        applied = (x, y, day)
                        break
            if applied:
                break
        if applied:
            break
    assert applied
    x, y, day = applied
    now = {
        (r["agent"], r["date"]): r["shift"] for r in lead.get(f"/api/wfm/rosters/{roster_id}/").json()["assignments"]
    }
    assert now.get((x, day)) == plan.get((y, day)) and now.get((y, day)) == plan.get((x, day))
    assert (
        api_for(staff["agent"])
        .post(f"/api/wfm/rosters/{roster_id}/swaps/", {"agent_a": x, "agent_b": y, "date": day}, format="json")
        .status_code
        == 403
    )


@pytest.mark.django_db
def test_roster_pages(staff, client_for, wfm_settings, django_capture_on_commit_callbacks):
    lead = client_for(staff["team_lead"])
    assert lead.get("/agent/wfm/rosters/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        created = lead.post("/agent/wfm/rosters/", {"start": "2027-01-04", "days": 7})
    assert created.status_code == 302
    detail = lead.get(created["Location"])
    assert detail.status_code == 200
    assert detail.context["roster"].status == "infeasible"  # one agent cannot hold the floor
    assert b"coverage_floor" in detail.content
    assert client_for(staff["agent"]).get("/agent/wfm/rosters/").status_code == 403


@pytest.mark.django_db
def test_adherence_and_conformance_from_the_state_log(staff, api_for):
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    from agents.models import AgentStateLog, Roster, RosterAssignment

    agent = staff["agent"]
    day = timezone.localdate() - timedelta(days=3)
    roster = Roster.objects.create(
        start=day,
        days=1,
        status="done",
        published_at=timezone.now(),
        shifts=[{"code": "D", "start": "08:00", "end": "20:00"}, {"code": "N", "start": "20:00", "end": "08:00"}],
    )
    RosterAssignment.objects.create(roster=roster, agent=agent, date=day, shift_code="D")
    at = timezone.make_aware(datetime.combine(day, time(8)))

    def log(hours: float, state: str, reason: str = "") -> None:
        AgentStateLog.objects.create(agent=agent, state=state, reason=reason, started_at=at + timedelta(hours=hours))

    log(1, "ready")  # an hour late
    log(3, "on_call")
    log(4, "not_ready", "break")  # an hour not ready
    log(5, "ready")
    log(13, "offline")  # an hour past the end of the shift
    body = api_for(staff["team_lead"]).get("/api/wfm/adherence/", {"date": day.isoformat()}).json()
    (row,) = body["results"]
    assert row["agent"] == agent.username
    assert row["adherence"] == pytest.approx(10 / 12, abs=1e-4)
    assert row["conformance"] == pytest.approx(11 / 12, abs=1e-4)
    assert api_for(staff["team_lead"]).get("/api/wfm/adherence/", {"date": "soon"}).status_code == 400
