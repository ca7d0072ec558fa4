"""Reads of quality scoring for the API, the pages and the reports (``reports`` imports
``qa_averages`` / ``agent_qa_summary``; agents never import reports).

Who reads what: the scored agent their own evaluations; team leads, the director, the analyst and
the maintainer every evaluation (``can_read_all``); anybody else nothing (404, not 403)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet, Sum

from core.dates import local_day_bounds
from org.roles import Role
from org.scoping import user_role

from .models import (
    Dispute,
    DisputeStatus,
    Evaluation,
    EvaluationStatus,
    SampleProposal,
    Scorecard,
    ScorecardVersion,
    Team,
    TeamMember,
)
from .recording_port import registered

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()

READERS = frozenset({Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST, Role.MAINTAINER})
SCORERS = frozenset({Role.TEAM_LEAD})
CENT = Decimal("0.01")


def can_read_all(user: Any) -> bool:
    return user_role(user) in READERS


def can_score(user: Any) -> bool:
    return user_role(user) in SCORERS


def scorecards_active() -> QuerySet[Scorecard]:
    return Scorecard.objects.filter(active=True).prefetch_related("criteria").order_by("name")


def scorecard_latest_version(scorecard: Scorecard) -> ScorecardVersion | None:
    return ScorecardVersion.objects.filter(scorecard=scorecard).order_by("-number").first()


def evaluations_visible_to(user: Any) -> QuerySet[Evaluation]:
    rows = Evaluation.objects.select_related("agent", "scorer", "scorecard", "version")
    if can_read_all(user):
        return rows
    if user_role(user) in (Role.AGENT, Role.TEAM_LEAD):
        return rows.filter(agent=user)
    return rows.none()


def evaluation_list(
    user: Any,
    *,
    agent: str = "",
    status: str = "",
    recording: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    current_only: bool = True,
) -> QuerySet[Evaluation]:
    rows = evaluations_visible_to(user)
    if current_only:
        rows = rows.filter(is_current=True)
    if agent:
        rows = rows.filter(agent__username=agent)
    if status:
        rows = rows.filter(status=status)
    if recording is not None:
        rows = rows.filter(recording_id=recording)
    if date_from and date_to:
        start, end = local_day_bounds(date_from, date_to)
        rows = rows.filter(recorded_at__gte=start, recorded_at__lt=end)
    return rows.order_by("-submitted_at", "-pk")


def evaluation_get(user: Any, pk: int) -> Evaluation | None:
    return evaluations_visible_to(user).filter(pk=pk).first()


def dispute_of(evaluation: Evaluation) -> Dispute | None:
    return Dispute.objects.filter(evaluation=evaluation).select_related("resolved_by", "agent").first()


def evaluation_chain(evaluation: Evaluation) -> list[Evaluation]:
    """Every revision of the evaluation's recording and scorecard, oldest first."""
    return list(
        Evaluation.objects.filter(recording_id=evaluation.recording_id, scorecard_id=evaluation.scorecard_id)
        .select_related("scorer")
        .order_by("revision")
    )


def _display(user: Any) -> str:
    full = f"{user.last_name}{user.first_name}".strip()
    return full or user.get_username()


def evaluation_payload(evaluation: Evaluation, *, detail: bool = False) -> dict[str, Any]:
    """An evaluation as the API gives it (the list without criteria and comments)."""
    body: dict[str, Any] = {
        "id": evaluation.pk,
        "recording": evaluation.recording_id,
        "call_id": evaluation.call_id,
        "recorded_at": evaluation.recorded_at.isoformat(),
        "agent": evaluation.agent.get_username(),
        "scorer": evaluation.scorer.get_username(),
        "scorecard": {"id": evaluation.scorecard_id, "name": evaluation.scorecard.name},
        "version": evaluation.version.number,
        "revision": evaluation.revision,
        "score": str(evaluation.score),
        "raw_score": str(evaluation.raw_score),
        "fatal_failed": evaluation.fatal_failed,
        "status": evaluation.status,
        "is_current": evaluation.is_current,
        "submitted_at": evaluation.submitted_at.isoformat(),
        "acknowledged_at": evaluation.acknowledged_at.isoformat() if evaluation.acknowledged_at else None,
    }
    if not detail:
        return body
    scores = {s.criterion_id: s for s in evaluation.scores.all()}
    body["summary"] = evaluation.summary
    body["reason"] = evaluation.reason
    body["supersedes"] = evaluation.supersedes_id
    body["criteria"] = [
        {
            **criterion,
            "points": scores[criterion["id"]].points if criterion["id"] in scores else None,
            "failed": scores[criterion["id"]].failed if criterion["id"] in scores else None,
        }
        for criterion in evaluation.version.criteria
    ]
    body["comments"] = [
        {"at_ms": c.at_ms, "text": c.text, "criterion": c.criterion_id} for c in evaluation.comments.all()
    ]
    dispute = dispute_of(evaluation)
    body["dispute"] = (
        {
            "reason": dispute.reason,
            "created_at": dispute.created_at.isoformat(),
            "status": dispute.status,
            "resolved_by": dispute.resolved_by.get_username() if dispute.resolved_by else None,
            "resolved_at": dispute.resolved_at.isoformat() if dispute.resolved_at else None,
            "resolution": dispute.resolution,
        }
        if dispute
        else None
    )
    return body


def recording_summary(recording_id: int) -> dict[str, Any] | None:
    """The recording through the port (None when the call side is not plugged in or it is gone)."""
    side = registered()
    return side.summary(recording_id) if side else None


def recording_summaries(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    side = registered()
    return side.summaries(list(ids)) if side else {}


def may_play(user: Any, recording_id: int) -> bool:
    side = registered()
    return bool(side and side.may_play(user, recording_id))


# --- the lead's work list -------------------------------------------------------------------


def team_of(agent_id: int) -> Team | None:
    member = TeamMember.objects.filter(agent_id=agent_id).select_related("team").first()
    return member.team if member else None


def lead_agent_ids(lead: Any) -> set[int] | None:
    """The agents of the teams ``lead`` leads; None when they lead none (they see everyone)."""
    ids = set(TeamMember.objects.filter(team__lead=lead).values_list("agent_id", flat=True))
    return ids or None


def worklist_default_week(lead: Any, *, everyone: bool = False) -> date:
    """The latest week with proposals for the lead's teams (this week at most), else last week."""
    from django.utils import timezone

    this_week = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    agents = None if everyone else lead_agent_ids(lead)
    rows = SampleProposal.objects.filter(week_start__lte=this_week)
    if agents is not None:
        rows = rows.filter(agent_id__in=agents)
    latest = rows.order_by("-week_start").values_list("week_start", flat=True).first()
    return latest or this_week - timedelta(days=7)


def worklist(lead: Any, *, week_start: date, everyone: bool = False) -> dict[str, Any]:
    """The proposals of the week (with whether each is scored yet) and the open disputes, for the
    lead's own teams unless ``everyone`` (or they lead no team)."""
    agents = None if everyone else lead_agent_ids(lead)
    proposals = SampleProposal.objects.filter(week_start=week_start).select_related("agent")
    disputes = Dispute.objects.filter(status=DisputeStatus.OPEN).select_related("evaluation", "agent")
    if agents is not None:
        proposals = proposals.filter(agent_id__in=agents)
        disputes = disputes.filter(agent_id__in=agents)
    proposals_list = list(proposals.order_by("agent__username", "recording_id"))
    scored = dict(
        Evaluation.objects.filter(
            recording_id__in=[p.recording_id for p in proposals_list], is_current=True
        ).values_list("recording_id", "pk")
    )
    return {
        "proposals": [
            {
                "proposal": p,
                "agent": p.agent,
                "recording_id": p.recording_id,
                "evaluation_id": scored.get(p.recording_id),
            }
            for p in proposals_list
        ],
        "disputes": list(disputes.order_by("created_at")),
        "scoped": agents is not None,
    }


# --- averages (reports, the agent's own figures) -------------------------------------------


def _average(total: Decimal | None, count: int) -> Decimal | None:
    if not count or total is None:
        return None
    return (Decimal(total) / count).quantize(CENT, rounding=ROUND_HALF_UP)


def _current_in(date_from: date, date_to: date) -> QuerySet[Evaluation]:
    start, end = local_day_bounds(date_from, date_to)
    return Evaluation.objects.filter(is_current=True, recorded_at__gte=start, recorded_at__lt=end)


def qa_averages(date_from: date, date_to: date, *, agent: str = "") -> dict[str, Any]:
    """The current evaluations of calls recorded from ``date_from`` to ``date_to`` (local dates,
    inclusive): per agent ``{"agent", "name", "team", "evaluations", "average", "fatal"}``, per team
    ``{"team", "lead", "agents", "evaluations", "average", "fatal"}`` (agents in no team under
    "—"), and the total. Averages are the mean of the scores (fatal zeros count), 2 decimals."""
    rows = _current_in(date_from, date_to)
    if agent:
        rows = rows.filter(agent__username=agent)
    per_agent = list(
        rows.values("agent_id", "agent__username", "agent__last_name", "agent__first_name")
        .annotate(n=Count("pk"), total=Sum("score"), fatal=Count("pk", filter=Q(fatal_failed=True)))
        .order_by("agent__username")
    )
    teams = {
        m.agent_id: m.team
        for m in TeamMember.objects.filter(agent_id__in=[r["agent_id"] for r in per_agent]).select_related("team__lead")
    }
    agents_out = []
    team_acc: dict[str, dict[str, Any]] = {}
    for row in per_agent:
        team = teams.get(row["agent_id"])
        name = f"{row['agent__last_name']}{row['agent__first_name']}".strip() or row["agent__username"]
        agents_out.append(
            {
                "agent": row["agent__username"],
                "name": name,
                "team": team.name if team else "",
                "evaluations": row["n"],
                "average": _average(row["total"], row["n"]),
                "fatal": row["fatal"],
            }
        )
        key = team.name if team else ""
        acc = team_acc.setdefault(
            key,
            {
                "team": key,
                "lead": _display(team.lead) if team and team.lead else "",
                "agents": 0,
                "evaluations": 0,
                "total": Decimal(0),
                "fatal": 0,
            },
        )
        acc["agents"] += 1
        acc["evaluations"] += row["n"]
        acc["total"] += Decimal(row["total"] or 0)
        acc["fatal"] += row["fatal"]
    teams_out = [
        {**{k: v for k, v in acc.items() if k != "total"}, "average": _average(acc["total"], acc["evaluations"])}
        for _key, acc in sorted(team_acc.items(), key=lambda item: (item[0] == "", item[0]))
    ]
    count = sum(a["evaluations"] for a in agents_out)
    total = sum((acc["total"] for acc in team_acc.values()), Decimal(0))
    return {
        "agents": agents_out,
        "teams": teams_out,
        "total": {
            "evaluations": count,
            "average": _average(total, count),
            "fatal": sum(a["fatal"] for a in agents_out),
        },
    }


def agent_qa_summary(user: Any, date_from: date, date_to: date) -> dict[str, Any]:
    """One agent's QA figures over the period: ``{"evaluations", "average", "fatal",
    "unacknowledged"}`` (the last counts every current evaluation still to acknowledge)."""
    rows = _current_in(date_from, date_to).filter(agent=user)
    figures = rows.aggregate(n=Count("pk"), total=Sum("score"), fatal=Count("pk", filter=Q(fatal_failed=True)))
    pending = Evaluation.objects.filter(agent=user, is_current=True, status=EvaluationStatus.SUBMITTED).count()
    return {
        "evaluations": figures["n"],
        "average": _average(figures["total"], figures["n"]),
        "fatal": figures["fatal"],
        "unacknowledged": pending,
    }


def scored_recording_ids() -> QuerySet[Evaluation, int]:
    """The recordings with a current quality score (for the recordings search's filter)."""
    return Evaluation.objects.filter(is_current=True).values_list("recording_id", flat=True)
