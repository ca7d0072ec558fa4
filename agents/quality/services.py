"""Writes of quality scoring: scorecard versions, evaluations and their re-scoring, the agent's
acknowledgement and dispute, the lead's decision, the weekly sample. Every write is audited.

The score (one rule, here, used by the API, the pages and the seed):

* a scored criterion i earns ``p_i`` of ``m_i`` points (0 ≤ p_i ≤ m_i, whole points) and has
  weight ``w_i`` ≥ 0; the raw score is ``100 × Σ w_i·p_i/m_i ÷ Σ w_i`` percent, computed exactly
  (fractions) and rounded half up to 0.01 once, at the end;
* a fatal criterion is pass/fail and carries no points; if any fatal criterion failed the
  score is 0 (``raw_score`` keeps what the scored criteria gave) and the evaluation is flagged
  ``fatal_failed``.

States: submitted → acknowledged (the agent) → disputed (the agent, once per recording and
scorecard, from submitted or acknowledged) → the lead rejects (dispute_rejected, final) or upholds
with a new score (the old revision superseded, the new one submitted and current). A lead may
also correct a current evaluation that is not under dispute: a new revision, audited.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from org.roles import Role

from . import errors
from .models import (
    Criterion,
    CriterionScore,
    Dispute,
    DisputeStatus,
    Evaluation,
    EvaluationComment,
    EvaluationStatus,
    SampleProposal,
    Scorecard,
    ScorecardVersion,
)
from .recording_port import recording_side

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_COMMENTS = 100
DEFAULT_SAMPLE_PER_AGENT = 3


# --- the score ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    raw: Decimal  # the scored criteria's weighted percentage, 2 decimals
    total: Decimal  # what counts: raw, or 0 when a fatal item failed
    fatal_failed: bool


def _exact_percent(numerator: Fraction) -> Decimal:
    """``numerator`` (a fraction of 1) as a percentage rounded half up to 0.01, without the
    rounding error a Decimal division carries before the quantize (28 digits are not exact)."""
    scaled = numerator * 100 * 100  # in hundredths of a percent
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if rest * 2 >= scaled.denominator:
        whole += 1
    return (Decimal(whole) / 100).quantize(CENT)


def score_compute(criteria: Sequence[Mapping[str, Any]], scores: Mapping[int, Mapping[str, Any]]) -> Score:
    """The score of ``scores`` (``{criterion id: {"points": int} | {"failed": bool}}``) on a
    version's ``criteria`` (the snapshot). Validated first: every criterion scored once, points
    whole and within 0…max, no unknown criterion (``InvalidScores`` with the details)."""
    problems: dict[str, str] = {}
    known = {int(c["id"]): c for c in criteria}
    for cid in scores:
        if cid not in known:
            problems[str(cid)] = "unknown criterion"
    weighted = Fraction(0)
    weights = Fraction(0)
    fatal_failed = False
    for cid, criterion in known.items():
        given = scores.get(cid)
        if given is None:
            problems[str(cid)] = "not scored"
            continue
        if criterion["fatal"]:
            failed = given.get("failed")
            if not isinstance(failed, bool):
                problems[str(cid)] = "a fatal item is passed or failed (failed: true/false)"
                continue
            fatal_failed = fatal_failed or failed
            continue
        points = given.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or not 0 <= points <= int(criterion["max_points"]):
            problems[str(cid)] = f"points must be a whole number from 0 to {criterion['max_points']}"
            continue
        weight = Fraction(Decimal(str(criterion["weight"])))
        weighted += weight * Fraction(points, int(criterion["max_points"]))
        weights += weight
    if problems:
        raise errors.InvalidScores(details=problems)
    if weights == 0:
        raise errors.ScorecardEmpty()
    raw = _exact_percent(weighted / weights)
    return Score(raw=raw, total=Decimal("0.00") if fatal_failed else raw, fatal_failed=fatal_failed)


# --- scorecards -----------------------------------------------------------------------------


def _snapshot(scorecard: Scorecard) -> list[dict[str, Any]]:
    return [
        {
            "id": c.pk,
            "order": c.order,
            "name": c.name,
            "description": c.description,
            "max_points": c.max_points,
            "weight": str(c.weight),
            "fatal": c.fatal,
        }
        for c in Criterion.objects.filter(scorecard=scorecard).order_by("order", "pk")
    ]


@transaction.atomic
def scorecard_version_current(*, scorecard: Scorecard, actor: User | None = None) -> ScorecardVersion:
    """The version matching the scorecard's criteria now: the latest one, or a new one when the
    criteria changed since (audited ``qa.scorecard_versioned``). Called after every edit (admin)
    and before every scoring, so an evaluation always carries what the lead saw."""
    Scorecard.objects.select_for_update().filter(pk=scorecard.pk).first()  # one new version at a time
    criteria = _snapshot(scorecard)
    latest = ScorecardVersion.objects.filter(scorecard=scorecard).order_by("-number").first()
    if latest is not None and latest.criteria == criteria:
        return latest
    if not any(not c["fatal"] and Decimal(c["weight"]) > 0 for c in criteria):
        raise errors.ScorecardEmpty()
    version = ScorecardVersion.objects.create(
        scorecard=scorecard, number=(latest.number + 1) if latest else 1, criteria=criteria, created_by=actor
    )
    audit_record(
        actor=actor,
        action="qa.scorecard_versioned",
        obj=version,
        object_type="qa_scorecard",
        object_id=scorecard.pk,
        details={"version": version.number, "criteria": criteria},
    )
    return version


# --- evaluations ----------------------------------------------------------------------------


def _scores_by_id(items: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for item in items:
        cid = int(item["criterion"])
        if cid in out:
            raise errors.InvalidScores(details={str(cid): "scored twice"})
        out[cid] = {key: item[key] for key in ("points", "failed") if key in item and item[key] is not None}
    return out


def _clean_comments(
    comments: Iterable[Mapping[str, Any]], *, duration_ms: int, criteria: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    known = {int(c["id"]) for c in criteria}
    out = []
    for item in comments:
        text = str(item.get("text") or "").strip()
        at_ms = item.get("at_ms")
        criterion = item.get("criterion")
        if (
            not text
            or len(text) > 500
            or isinstance(at_ms, bool)
            or not isinstance(at_ms, int)
            or not 0 <= at_ms <= duration_ms
            or (criterion is not None and int(criterion) not in known)
        ):
            raise errors.InvalidComment(details={"at_ms": at_ms, "duration_ms": duration_ms})
        out.append({"at_ms": at_ms, "text": text, "criterion_id": int(criterion) if criterion is not None else None})
    if len(out) > MAX_COMMENTS:
        raise errors.InvalidComment(details={"max": MAX_COMMENTS})
    return out


def _write_evaluation(
    *,
    summary: Mapping[str, Any],
    agent: User,
    version: ScorecardVersion,
    scorer: User,
    scores: Mapping[int, Mapping[str, Any]],
    comments: list[dict[str, Any]],
    text: str,
    revision: int,
    supersedes: Evaluation | None,
    reason: str,
) -> Evaluation:
    result = score_compute(version.criteria, scores)
    try:
        with transaction.atomic():
            evaluation = Evaluation.objects.create(
                recording_id=summary["id"],
                call_id=str(summary.get("call_id") or "")[:128],
                recorded_at=summary["started_at"],
                agent=agent,
                scorecard_id=version.scorecard_id,
                version=version,
                revision=revision,
                supersedes=supersedes,
                scorer=scorer,
                raw_score=result.raw,
                score=result.total,
                fatal_failed=result.fatal_failed,
                summary=text[:2000],
                reason=reason[:300],
                submitted_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise errors.AlreadyScored() from exc
    CriterionScore.objects.bulk_create(
        [
            CriterionScore(
                evaluation=evaluation,
                criterion_id=cid,
                points=given.get("points"),
                failed=bool(given.get("failed", False)),
            )
            for cid, given in sorted(scores.items())
        ]
    )
    EvaluationComment.objects.bulk_create([EvaluationComment(evaluation=evaluation, **c) for c in comments])
    return evaluation


def _audit_details(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "recording": evaluation.recording_id,
        "agent": evaluation.agent.get_username(),
        "scorecard": evaluation.scorecard_id,
        "version": evaluation.version.number,
        "revision": evaluation.revision,
        "score": str(evaluation.score),
        "raw_score": str(evaluation.raw_score),
        "fatal_failed": evaluation.fatal_failed,
    }


def _recording(recording_id: int) -> dict[str, Any]:
    summary = recording_side().summary(recording_id)
    if summary is None:
        raise errors.RecordingNotFound()
    return summary


@transaction.atomic
def evaluation_submit(
    *,
    recording_id: int,
    scorecard_id: int,
    scorer: User,
    scores: Iterable[Mapping[str, Any]],
    comments: Iterable[Mapping[str, Any]] = (),
    summary: str = "",
) -> Evaluation:
    """A team lead scores a recorded call (``POST /api/qa/evaluations/``); 409 ``already_scored``
    when the recording has a current evaluation with this scorecard."""
    recording = _recording(recording_id)
    agent_id = recording.get("agent_id")
    if agent_id is None:
        raise errors.RecordingHasNoAgent()
    if agent_id == scorer.pk:
        raise errors.OwnCallNotScored()
    scorecard = Scorecard.objects.filter(pk=scorecard_id, active=True).first()
    if scorecard is None:
        raise errors.ScorecardNotFound()
    version = scorecard_version_current(scorecard=scorecard, actor=scorer)
    agent = User.objects.get(pk=agent_id)
    evaluation = _write_evaluation(
        summary=recording,
        agent=agent,
        version=version,
        scorer=scorer,
        scores=_scores_by_id(scores),
        comments=_clean_comments(
            comments, duration_ms=int(Decimal(str(recording["duration_s"])) * 1000), criteria=version.criteria
        ),
        text=summary,
        revision=1,
        supersedes=None,
        reason="",
    )
    audit_record(
        actor=scorer,
        action="qa.evaluation_submitted",
        obj=evaluation,
        object_type="qa_evaluation",
        details=_audit_details(evaluation),
    )
    return evaluation


def _lock(evaluation_id: int) -> Evaluation:
    evaluation = (
        Evaluation.objects.select_for_update(of=("self",))
        .select_related("agent", "version", "scorecard")
        .filter(pk=evaluation_id)
        .first()
    )
    if evaluation is None:
        raise errors.EvaluationNotFound()
    return evaluation


def _rescore(
    old: Evaluation,
    *,
    scorer: User,
    scores: Iterable[Mapping[str, Any]],
    comments: Iterable[Mapping[str, Any]],
    summary: str,
    reason: str,
) -> Evaluation:
    """A new revision of ``old`` (locked, current) with the scorecard's current version."""
    recording = _recording(old.recording_id)
    version = scorecard_version_current(scorecard=old.scorecard, actor=scorer)
    old.is_current = False
    old.status = EvaluationStatus.SUPERSEDED
    old.save(update_fields=["is_current", "status"])
    return _write_evaluation(
        summary=recording,
        agent=old.agent,
        version=version,
        scorer=scorer,
        scores=_scores_by_id(scores),
        comments=_clean_comments(
            comments, duration_ms=int(Decimal(str(recording["duration_s"])) * 1000), criteria=version.criteria
        ),
        text=summary,
        revision=old.revision + 1,
        supersedes=old,
        reason=reason,
    )


def _check_lead(evaluation: Evaluation, actor: User) -> None:
    if evaluation.agent_id == actor.pk:
        raise errors.OwnCallNotScored()
    if not evaluation.is_current:
        raise errors.NotCurrent()


@transaction.atomic
def evaluation_rescore(
    *,
    evaluation_id: int,
    scorer: User,
    scores: Iterable[Mapping[str, Any]],
    comments: Iterable[Mapping[str, Any]] = (),
    summary: str = "",
    reason: str,
) -> Evaluation:
    """A lead's correction: a new revision (the submitted one is never changed), audited."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.ReasonRequired()
    old = _lock(evaluation_id)
    _check_lead(old, scorer)
    if old.status == EvaluationStatus.DISPUTED:
        raise errors.DisputeOpen()
    new = _rescore(old, scorer=scorer, scores=scores, comments=comments, summary=summary, reason=reason)
    audit_record(
        actor=scorer,
        action="qa.evaluation_rescored",
        obj=new,
        object_type="qa_evaluation",
        details={**_audit_details(new), "supersedes": old.pk, "reason": reason},
    )
    return new


@transaction.atomic
def evaluation_acknowledge(*, evaluation_id: int, agent: User) -> Evaluation:
    """The scored agent has seen the score (``already_acknowledged`` the second time)."""
    evaluation = _lock(evaluation_id)
    if evaluation.agent_id != agent.pk:
        raise errors.NotYourEvaluation()
    if not evaluation.is_current:
        raise errors.NotCurrent()
    if evaluation.acknowledged_at is not None:
        raise errors.AlreadyAcknowledged()
    evaluation.acknowledged_at = timezone.now()
    fields = ["acknowledged_at"]
    if evaluation.status == EvaluationStatus.SUBMITTED:
        evaluation.status = EvaluationStatus.ACKNOWLEDGED
        fields.append("status")
    evaluation.save(update_fields=fields)
    audit_record(
        actor=agent,
        action="qa.evaluation_acknowledged",
        obj=evaluation,
        object_type="qa_evaluation",
        details={"recording": evaluation.recording_id, "revision": evaluation.revision},
    )
    return evaluation


@transaction.atomic
def evaluation_dispute(*, evaluation_id: int, agent: User, reason: str) -> Dispute:
    """The scored agent objects, with a reason — once per recording and scorecard: a re-score
    after an upheld dispute cannot be disputed again (``already_disputed``)."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.ReasonRequired()
    evaluation = _lock(evaluation_id)
    if evaluation.agent_id != agent.pk:
        raise errors.NotYourEvaluation()
    if Dispute.objects.filter(recording_id=evaluation.recording_id, scorecard_id=evaluation.scorecard_id).exists():
        raise errors.AlreadyDisputed()
    if not evaluation.is_current:
        raise errors.NotCurrent()
    now = timezone.now()
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                evaluation=evaluation,
                recording_id=evaluation.recording_id,
                scorecard_id=evaluation.scorecard_id,
                agent=agent,
                reason=reason[:500],
                created_at=now,
            )
    except IntegrityError as exc:
        raise errors.AlreadyDisputed() from exc
    evaluation.status = EvaluationStatus.DISPUTED
    fields = ["status"]
    if evaluation.acknowledged_at is None:
        evaluation.acknowledged_at = now  # disputing is having seen it
        fields.append("acknowledged_at")
    evaluation.save(update_fields=fields)
    audit_record(
        actor=agent,
        action="qa.evaluation_disputed",
        obj=evaluation,
        object_type="qa_evaluation",
        details={"recording": evaluation.recording_id, "reason": reason[:500]},
    )
    return dispute


@transaction.atomic
def dispute_resolve(
    *,
    evaluation_id: int,
    actor: User,
    upheld: bool,
    reason: str,
    scores: Iterable[Mapping[str, Any]] | None = None,
    comments: Iterable[Mapping[str, Any]] = (),
    summary: str = "",
) -> Evaluation:
    """A team lead decides an open dispute: rejected (with a reason: the score stands) or upheld
    (with the new scores: a new revision replaces the disputed one). Returns the evaluation that
    is current afterwards."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.ReasonRequired()
    evaluation = _lock(evaluation_id)
    _check_lead(evaluation, actor)
    dispute = Dispute.objects.select_for_update().filter(evaluation=evaluation).first()
    if dispute is None or dispute.status != DisputeStatus.OPEN:
        raise errors.NotDisputed()
    if upheld and scores is None:
        raise errors.InvalidScores(details={"scores": "an upheld dispute is re-scored: send the new scores"})
    dispute.resolved_by = actor
    dispute.resolved_at = timezone.now()
    dispute.resolution = reason[:500]
    if upheld:
        dispute.status = DisputeStatus.UPHELD
        dispute.save()
        new = _rescore(evaluation, scorer=actor, scores=scores or (), comments=comments, summary=summary, reason=reason)
        audit_record(
            actor=actor,
            action="qa.dispute_upheld",
            obj=new,
            object_type="qa_evaluation",
            details={**_audit_details(new), "supersedes": evaluation.pk, "reason": reason[:500]},
        )
        return new
    dispute.status = DisputeStatus.REJECTED
    dispute.save()
    evaluation.status = EvaluationStatus.DISPUTE_REJECTED
    evaluation.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="qa.dispute_rejected",
        obj=evaluation,
        object_type="qa_evaluation",
        details={"recording": evaluation.recording_id, "reason": reason[:500]},
    )
    return evaluation


# --- the weekly sample ----------------------------------------------------------------------


def iso_week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def last_week() -> date:
    """The Monday of the ISO week before this one (what the Monday job samples)."""
    return iso_week_start(timezone.localdate()) - timedelta(days=7)


def sample_seed(week_start: date, agent_id: int) -> str:
    """The draw's seed: fixed by the ISO week and the agent, so a re-run draws the same."""
    year, week, _ = week_start.isocalendar()
    return f"qa-sample:{year}-W{week:02d}:{agent_id}"


def sample_pick(candidates: Sequence[int], *, seed: str, count: int) -> list[int]:
    """``count`` of ``candidates`` drawn with ``seed`` (string seeds are stable across processes)."""
    pool = sorted(set(candidates))
    rng = random.Random(seed)  # noqa: S311 - a fair, reproducible draw, not a secret
    rng.shuffle(pool)
    return pool[:count]


def _sample_agents() -> list[User]:
    return list(User.objects.filter(is_active=True, profile__role=Role.AGENT).order_by("pk"))


@transaction.atomic
def sample_propose(
    *, week_start: date, per_agent: int = DEFAULT_SAMPLE_PER_AGENT, actor: User | None = None
) -> list[SampleProposal]:
    """Propose ``per_agent`` recordings of each agent from the ISO week starting ``week_start``
    that nobody has scored or proposed yet (a re-run tops up to ``per_agent``, the same draw).
    The Monday beat job proposes last week's; a lead may run it on demand."""
    week_start = iso_week_start(week_start)
    start = timezone.make_aware(datetime.combine(week_start, time.min))
    end = start + timedelta(days=7)
    side = recording_side()
    created: list[SampleProposal] = []
    for agent in _sample_agents():
        candidates = side.agent_recordings(agent.pk, start, end)
        if not candidates:
            continue
        proposed = set(
            SampleProposal.objects.filter(week_start=week_start, agent=agent).values_list("recording_id", flat=True)
        )
        missing = per_agent - len(proposed)
        if missing <= 0:
            continue
        scored = set(Evaluation.objects.filter(recording_id__in=candidates).values_list("recording_id", flat=True))
        elsewhere = set(
            SampleProposal.objects.filter(recording_id__in=candidates).values_list("recording_id", flat=True)
        )
        pool = [rid for rid in candidates if rid not in scored and rid not in elsewhere]
        picks = sample_pick(pool, seed=sample_seed(week_start, agent.pk), count=missing)
        created += SampleProposal.objects.bulk_create(
            [SampleProposal(week_start=week_start, agent=agent, recording_id=rid) for rid in picks],
            ignore_conflicts=True,
        )
    if not created and actor is None:
        return created  # the job found nothing new: no audit row for nothing
    audit_record(
        actor=actor,
        action="qa.sample_proposed",
        object_type="qa_sample",
        object_id=week_start.isoformat(),
        details={"week_start": week_start.isoformat(), "per_agent": per_agent, "proposed": len(created)},
    )
    return created
