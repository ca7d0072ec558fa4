"""Quality scoring inside the agents app, with a fake recording side plugged into the port: the
score's arithmetic (exact, weights, fatal items), versioned scorecards, immutable evaluations, the
dispute-once rule, the weekly sample's determinism, and the port unregistered."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.quality import errors, recording_port, services
from agents.quality.models import (
    Criterion,
    CriterionScore,
    Evaluation,
    EvaluationStatus,
    ImmutableEvaluation,
    SampleProposal,
    Scorecard,
)
from audit.models import AppendOnlyError, AuditEvent
from core.errors import DomainError
from org.roles import Role
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

WEEK = date(2026, 11, 23)  # a Monday


class FakeSide:
    def __init__(self):
        self.rows: dict[int, dict] = {}

    def add(self, pk: int, agent, started_at: datetime, duration_s: float = 120.0) -> None:
        self.rows[pk] = {
            "id": pk,
            "call_id": f"call-{pk}",
            "agent_id": agent.pk if agent else None,
            "started_at": started_at,
            "duration_s": duration_s,
            "audio_url": f"/api/recordings/{pk}/audio/",
            "page_url": f"/recordings/{pk}/",
            "peaks": [1, 2, 3],
            "masked": [],
        }

    def port(self) -> recording_port.RecordingSide:
        return recording_port.RecordingSide(
            summary=lambda pk: self.rows.get(pk),
            summaries=lambda ids: {pk: self.rows[pk] for pk in ids if pk in self.rows},
            agent_recordings=lambda agent_id, start, end: sorted(
                pk for pk, r in self.rows.items() if r["agent_id"] == agent_id and start <= r["started_at"] < end
            ),
            may_play=lambda user, pk: pk in self.rows,
        )


@pytest.fixture
def side():
    before = recording_port.registered()
    fake = FakeSide()
    recording_port.register(fake.port())
    yield fake
    if before is not None:
        recording_port.register(before)
    else:
        recording_port.unregister()


@pytest.fixture
def people():
    return {
        "lead": make_staff(Role.TEAM_LEAD, username="qa-lead"),
        "agent": make_staff(Role.AGENT, username="qa-agent"),
        "other": make_staff(Role.AGENT, username="qa-other"),
    }


def card(*specs: tuple[str, int, str, bool]) -> Scorecard:
    scorecard = Scorecard.objects.create(name=f"card-{Scorecard.objects.count()}")
    for order, (name, max_points, weight, fatal) in enumerate(specs):
        Criterion.objects.create(
            scorecard=scorecard, order=order, name=name, max_points=max_points, weight=Decimal(weight), fatal=fatal
        )
    return scorecard


def criteria_of(scorecard: Scorecard) -> list[dict]:
    return services.scorecard_version_current(scorecard=scorecard).criteria


def by_name(scorecard: Scorecard) -> dict[str, int]:
    return {c.name: c.pk for c in scorecard.criteria.all()}


# --- arithmetic -----------------------------------------------------------------------------


def test_equal_weights_giving_a_third_are_exact_to_the_cent():
    sc = card(("a", 3, "1", False), ("b", 3, "1", False), ("c", 3, "1", False))
    ids = by_name(sc)
    result = services.score_compute(
        criteria_of(sc), {ids["a"]: {"points": 1}, ids["b"]: {"points": 1}, ids["c"]: {"points": 1}}
    )
    assert result.total == Decimal("33.33") and isinstance(result.total, Decimal)
    assert not result.fatal_failed


def test_weights_weigh_the_criteria():
    # weight 1: 2/3 of the points; weight 2: nothing → (2/3) / 3 = 22.22…%
    sc = card(("a", 3, "1", False), ("b", 10, "2", False))
    ids = by_name(sc)
    assert services.score_compute(criteria_of(sc), {ids["a"]: {"points": 2}, ids["b"]: {"points": 0}}).total == Decimal(
        "22.22"
    )
    # weight 1 full, weight 2 full but for one of 10 points → (1 + 2·0.9) / 3 = 93.33…%
    assert services.score_compute(criteria_of(sc), {ids["a"]: {"points": 3}, ids["b"]: {"points": 9}}).total == Decimal(
        "93.33"
    )


def test_a_half_cent_rounds_up_and_decimal_weights_add_up_exactly():
    sc = card(("a", 32, "1", False))
    ids = by_name(sc)
    # 1/32 = 3.125 %: half up → 3.13 (a float or banker's rounding gives 3.12)
    assert services.score_compute(criteria_of(sc), {ids["a"]: {"points": 1}}).total == Decimal("3.13")
    tenths = card(("x", 10, "0.10", False), ("y", 10, "0.20", False), ("z", 10, "0.70", False))
    t = by_name(tenths)
    full = {t["x"]: {"points": 10}, t["y"]: {"points": 10}, t["z"]: {"points": 10}}
    assert services.score_compute(criteria_of(tenths), full).total == Decimal("100.00")
    nearly = {t["x"]: {"points": 10}, t["y"]: {"points": 10}, t["z"]: {"points": 9}}
    assert services.score_compute(criteria_of(tenths), nearly).total == Decimal("93.00")


def test_a_failed_fatal_item_makes_the_score_zero_and_flags_it():
    sc = card(("a", 10, "1", False), ("b", 10, "1", False), ("leak", 1, "0", True))
    ids = by_name(sc)
    passed = services.score_compute(
        criteria_of(sc), {ids["a"]: {"points": 10}, ids["b"]: {"points": 5}, ids["leak"]: {"failed": False}}
    )
    assert passed.total == Decimal("75.00") and not passed.fatal_failed
    failed = services.score_compute(
        criteria_of(sc), {ids["a"]: {"points": 10}, ids["b"]: {"points": 5}, ids["leak"]: {"failed": True}}
    )
    assert failed.total == Decimal("0.00") and failed.raw == Decimal("75.00") and failed.fatal_failed


@pytest.mark.parametrize(
    "scores",
    [
        {"a": {"points": 11}},  # above the maximum
        {"a": {"points": -1}},
        {"a": {"points": 2.5}},
        {"a": {"points": True}},
        {},  # not scored
        {"a": {"points": 3}, "leak": {"points": 1}},  # a fatal item is passed or failed
    ],
)
def test_scores_that_do_not_fit_the_scorecard_are_refused(scores):
    sc = card(("a", 10, "1", False), ("leak", 1, "0", True))
    ids = by_name(sc)
    given = {ids[name]: value for name, value in scores.items()}
    if "leak" not in scores:
        given[ids["leak"]] = {"failed": False}
    with pytest.raises(errors.InvalidScores):
        services.score_compute(criteria_of(sc), given)


def test_an_unknown_criterion_is_refused():
    sc = card(("a", 10, "1", False))
    ids = by_name(sc)
    with pytest.raises(errors.InvalidScores) as caught:
        services.score_compute(criteria_of(sc), {ids["a"]: {"points": 1}, 999999: {"points": 1}})
    assert "999999" in caught.value.details


# --- evaluations, versions, immutability ----------------------------------------------------


def submit(sc: Scorecard, lead, recording_id: int, **points: int) -> Evaluation:
    ids = by_name(sc)
    return services.evaluation_submit(
        recording_id=recording_id,
        scorecard_id=sc.pk,
        scorer=lead,
        scores=[
            {"criterion": ids[name], **({"failed": bool(p)} if name.startswith("fatal") else {"points": p})}
            for name, p in points.items()
        ],
        comments=[{"at_ms": 1500, "text": "greeting ok"}],
    )


def test_an_old_evaluation_keeps_its_scorecard_as_it_was(side, people):
    side.add(1, people["agent"], timezone.now())
    side.add(2, people["agent"], timezone.now())
    sc = card(("a", 10, "1", False), ("b", 10, "1", False))
    first = submit(sc, people["lead"], 1, a=10, b=0)
    assert first.score == Decimal("50.00") and first.version.number == 1
    b = sc.criteria.get(name="b")
    b.weight = Decimal("3")
    b.save()
    second = submit(sc, people["lead"], 2, a=10, b=0)
    assert second.version.number == 2 and second.score == Decimal("25.00")
    first.refresh_from_db()
    assert first.version.number == 1
    assert {c["name"]: c["weight"] for c in first.version.criteria} == {"a": "1.00", "b": "1.00"}
    assert AuditEvent.objects.filter(action="qa.scorecard_versioned", object_id=str(sc.pk)).count() == 2


def test_a_submitted_evaluation_cannot_be_changed_only_re_scored(side, people):
    side.add(1, people["agent"], timezone.now())
    sc = card(("a", 10, "1", False))
    evaluation = submit(sc, people["lead"], 1, a=4)
    evaluation.score = Decimal("100")
    with pytest.raises(ImmutableEvaluation):
        evaluation.save()
    with pytest.raises(ImmutableEvaluation):
        evaluation.save(update_fields=["score"])
    with pytest.raises(AppendOnlyError):
        CriterionScore.objects.filter(evaluation_id=evaluation.pk).update(points=10)
    evaluation.refresh_from_db()
    assert evaluation.score == Decimal("40.00")
    with pytest.raises(errors.AlreadyScored):
        submit(sc, people["lead"], 1, a=9)
    with pytest.raises(errors.ReasonRequired):
        services.evaluation_rescore(
            evaluation_id=evaluation.pk,
            scorer=people["lead"],
            scores=[{"criterion": by_name(sc)["a"], "points": 9}],
            reason=" ",
        )
    new = services.evaluation_rescore(
        evaluation_id=evaluation.pk,
        scorer=people["lead"],
        scores=[{"criterion": by_name(sc)["a"], "points": 9}],
        reason="misheard the greeting",
    )
    evaluation.refresh_from_db()
    assert (new.revision, new.score, new.supersedes_id, new.is_current) == (2, Decimal("90.00"), evaluation.pk, True)
    assert (evaluation.is_current, evaluation.status, evaluation.score) == (
        False,
        EvaluationStatus.SUPERSEDED,
        Decimal("40.00"),
    )
    assert AuditEvent.objects.filter(action="qa.evaluation_rescored", object_id=str(new.pk)).exists()


def test_a_comment_outside_the_recording_is_refused(side, people):
    side.add(1, people["agent"], timezone.now(), duration_s=10.0)
    sc = card(("a", 10, "1", False))
    with pytest.raises(errors.InvalidComment):
        services.evaluation_submit(
            recording_id=1,
            scorecard_id=sc.pk,
            scorer=people["lead"],
            scores=[{"criterion": by_name(sc)["a"], "points": 1}],
            comments=[{"at_ms": 10_001, "text": "late"}],
        )
    assert not Evaluation.objects.exists()


def test_a_lead_does_not_score_their_own_call(side, people):
    side.add(1, people["lead"], timezone.now())
    sc = card(("a", 10, "1", False))
    with pytest.raises(errors.OwnCallNotScored):
        submit(sc, people["lead"], 1, a=1)


# --- acknowledge, dispute once, resolve -----------------------------------------------------


def test_the_agent_disputes_once_whatever_the_revision(side, people):
    side.add(1, people["agent"], timezone.now())
    sc = card(("a", 10, "1", False))
    a = by_name(sc)["a"]
    evaluation = submit(sc, people["lead"], 1, a=3)
    with pytest.raises(errors.NotYourEvaluation):
        services.evaluation_dispute(evaluation_id=evaluation.pk, agent=people["other"], reason="not me")
    with pytest.raises(errors.ReasonRequired):
        services.evaluation_dispute(evaluation_id=evaluation.pk, agent=people["agent"], reason="  ")
    services.evaluation_acknowledge(evaluation_id=evaluation.pk, agent=people["agent"])
    with pytest.raises(errors.AlreadyAcknowledged):
        services.evaluation_acknowledge(evaluation_id=evaluation.pk, agent=people["agent"])
    services.evaluation_dispute(evaluation_id=evaluation.pk, agent=people["agent"], reason="the customer hung up")
    with pytest.raises(errors.AlreadyDisputed):
        services.evaluation_dispute(evaluation_id=evaluation.pk, agent=people["agent"], reason="again")
    with pytest.raises(errors.DisputeOpen):
        services.evaluation_rescore(
            evaluation_id=evaluation.pk, scorer=people["lead"], scores=[{"criterion": a, "points": 9}], reason="x"
        )
    with pytest.raises(errors.InvalidScores):
        services.dispute_resolve(evaluation_id=evaluation.pk, actor=people["lead"], upheld=True, reason="fair")
    new = services.dispute_resolve(
        evaluation_id=evaluation.pk,
        actor=people["lead"],
        upheld=True,
        reason="fair",
        scores=[{"criterion": a, "points": 8}],
    )
    assert (new.revision, new.score, new.status) == (2, Decimal("80.00"), EvaluationStatus.SUBMITTED)
    evaluation.refresh_from_db()
    assert evaluation.dispute.status == "upheld" and evaluation.dispute.resolution == "fair"
    with pytest.raises(errors.AlreadyDisputed):
        services.evaluation_dispute(evaluation_id=new.pk, agent=people["agent"], reason="still unfair")
    with pytest.raises(errors.NotDisputed):
        services.dispute_resolve(evaluation_id=new.pk, actor=people["lead"], upheld=False, reason="no")
    actions = list(AuditEvent.objects.filter(action__startswith="qa.evaluation_").values_list("action", flat=True))
    assert actions.count("qa.evaluation_disputed") == 1 and "qa.evaluation_acknowledged" in actions


def test_a_rejected_dispute_keeps_the_score(side, people):
    side.add(1, people["agent"], timezone.now())
    sc = card(("a", 10, "1", False))
    evaluation = submit(sc, people["lead"], 1, a=3)
    services.evaluation_dispute(evaluation_id=evaluation.pk, agent=people["agent"], reason="too low")
    with pytest.raises(errors.ReasonRequired):
        services.dispute_resolve(evaluation_id=evaluation.pk, actor=people["lead"], upheld=False, reason="")
    done = services.dispute_resolve(
        evaluation_id=evaluation.pk, actor=people["lead"], upheld=False, reason="the greeting was missing"
    )
    assert (done.pk, done.status, done.score) == (evaluation.pk, EvaluationStatus.DISPUTE_REJECTED, Decimal("30.00"))
    assert AuditEvent.objects.filter(action="qa.dispute_rejected", object_id=str(evaluation.pk)).exists()


# --- the weekly sample ----------------------------------------------------------------------


def at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def test_the_draw_is_fixed_by_week_and_agent():
    pool = list(range(1, 41))
    first = services.sample_pick(pool, seed=services.sample_seed(WEEK, 7), count=3)
    assert first == services.sample_pick(list(reversed(pool)), seed=services.sample_seed(WEEK, 7), count=3)
    assert first != services.sample_pick(pool, seed=services.sample_seed(WEEK + timedelta(days=7), 7), count=3)
    assert services.sample_seed(WEEK + timedelta(days=3), 7) == services.sample_seed(WEEK, 7)


def test_the_sample_skips_scored_recordings_and_draws_the_same_again(side, people):
    for n in range(1, 13):
        side.add(n, people["agent"], at(WEEK, 8) + timedelta(hours=n))
    side.add(50, people["agent"], at(WEEK - timedelta(days=1), 9))  # the Sunday before: another week
    for n in range(20, 24):
        side.add(n, people["other"], at(WEEK + timedelta(days=2), 9) + timedelta(minutes=n))
    sc = card(("a", 10, "1", False))
    scored = {1, 2, 3, 4, 5, 6, 7, 8}
    for n in scored:
        submit(sc, people["lead"], n, a=5)
    services.sample_propose(week_start=WEEK + timedelta(days=4), per_agent=3)  # any day of the week
    picked = set(SampleProposal.objects.filter(agent=people["agent"]).values_list("recording_id", flat=True))
    assert len(picked) == 3 and picked <= {9, 10, 11, 12}
    other = set(SampleProposal.objects.filter(agent=people["other"]).values_list("recording_id", flat=True))
    assert len(other) == 3 and other <= {20, 21, 22, 23}
    assert SampleProposal.objects.filter(week_start=WEEK).count() == 6
    services.sample_propose(week_start=WEEK, per_agent=3)  # a re-run proposes nothing new
    assert SampleProposal.objects.count() == 6
    SampleProposal.objects.all().delete()
    services.sample_propose(week_start=WEEK, per_agent=3)
    again = set(SampleProposal.objects.filter(agent=people["agent"]).values_list("recording_id", flat=True))
    assert again == picked
    assert AuditEvent.objects.filter(action="qa.sample_proposed").count() == 2  # not the re-run that found nothing


def test_the_monday_job_samples_last_week(side, people, monkeypatch):
    from agents.quality.tasks import qa_sample_weekly

    monday = date(2026, 11, 30)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: monday)
    side.add(1, people["agent"], at(monday - timedelta(days=3), 10))  # last week's Friday
    side.add(2, people["agent"], at(monday, 10))  # this week: not yet
    assert qa_sample_weekly() == 1  # the task body, as the worker runs it
    proposal = SampleProposal.objects.get()
    assert (proposal.week_start, proposal.recording_id) == (monday - timedelta(days=7), 1)


# --- the port -------------------------------------------------------------------------------


def test_without_the_call_side_scoring_says_so(people):
    before = recording_port.registered()
    recording_port.unregister()
    try:
        sc = card(("a", 10, "1", False))
        with pytest.raises(recording_port.RecordingPortMissing) as caught:
            services.evaluation_submit(
                recording_id=1,
                scorecard_id=sc.pk,
                scorer=people["lead"],
                scores=[{"criterion": by_name(sc)["a"], "points": 1}],
            )
        assert isinstance(caught.value, DomainError) and caught.value.code == "recording_port_unregistered"
        with pytest.raises(recording_port.RecordingPortMissing):
            services.sample_propose(week_start=WEEK)
    finally:
        if before is not None:
            recording_port.register(before)
