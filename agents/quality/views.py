"""Quality-scoring pages (``/agent/qa/…``): the lead's work list, the scoring form (the recording
player, the criteria, comments at moments of the call shown as markers), an evaluation's page
(acknowledge / dispute for the agent, reject / uphold for the lead) and the agent's "my scores".

Every write goes through ``services`` (the API's too); who may do what is ``selectors``' and
``services``' rule, the pages only show or hide the buttons."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from core.errors import DomainError
from org.permissions import role_required, staff_user
from org.roles import Role

from . import selectors, services
from .models import Evaluation, EvaluationStatus, Scorecard

LEADS = (Role.TEAM_LEAD,)
READERS = tuple(selectors.READERS)
TIME = re.compile(r"^\s*(?:(\d{1,2}):)?(\d{1,4})(?:\.(\d{1,3}))?\s*$")


def clock(ms: int) -> str:
    seconds = int(ms) // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


def parse_clock(text: str) -> int | None:
    """``m:ss``, ``ss`` or ``ss.mmm`` → milliseconds; None when it is none of them."""
    match = TIME.match(text or "")
    if not match:
        return None
    minutes = int(match.group(1) or 0)
    seconds = int(match.group(2))
    fraction = int((match.group(3) or "0").ljust(3, "0"))
    return (minutes * 60 + seconds) * 1000 + fraction


def _player(summary: dict[str, Any] | None, comments: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {
        "src": summary["audio_url"],
        "page_url": summary["page_url"],
        "peaks": json.dumps(summary.get("peaks") or []),
        "masked": json.dumps(summary.get("masked") or []),
        "duration_ms": int(float(summary["duration_s"]) * 1000),
        "labels": json.dumps({"password": _("Not recorded (password)")}),
        "markers": json.dumps(
            [{"id": f"c{n}", "time": c["at_ms"] / 1000, "label": c["text"][:60]} for n, c in enumerate(comments or [])],
            ensure_ascii=False,
        ),
        "purged": bool(summary.get("purged")),
        "summary": summary,
    }


def _criteria_rows(criteria: list[dict[str, Any]], values: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "value": values.get(int(c["id"]), {})} for c in criteria]


def _form_scores(request: HttpRequest, criteria: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    scores: list[dict[str, Any]] = []
    problems: dict[str, str] = {}
    for c in criteria:
        cid = int(c["id"])
        if c["fatal"]:
            scores.append({"criterion": cid, "failed": request.POST.get(f"failed_{cid}") == "1"})
            continue
        raw = (request.POST.get(f"points_{cid}") or "").strip()
        if not raw.isascii() or not raw.isdigit():
            problems[str(cid)] = _("Enter the points.")
            continue
        scores.append({"criterion": cid, "points": int(raw)})
    return scores, problems


def _form_comments(request: HttpRequest) -> tuple[list[dict[str, Any]], list[str]]:
    comments, bad = [], []
    for at, text in zip(request.POST.getlist("comment_at"), request.POST.getlist("comment_text"), strict=False):
        if not (text or "").strip() and not (at or "").strip():
            continue
        ms = parse_clock(at)
        if ms is None:
            bad.append(at)
            continue
        comments.append({"at_ms": ms, "text": text.strip()})
    return comments, bad


def _comments_view(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**c, "clock": clock(c["at_ms"])} for c in sorted(comments, key=lambda c: c["at_ms"])]


# --- the lead's work list -------------------------------------------------------------------


@role_required(*LEADS)
def worklist(request: HttpRequest) -> HttpResponse:
    everyone = request.GET.get("all") == "1"
    asked = parse_date(request.GET.get("week") or "")
    week = (
        services.iso_week_start(asked)
        if asked
        else selectors.worklist_default_week(staff_user(request), everyone=everyone)
    )
    if request.method == "POST":
        try:
            created = services.sample_propose(week_start=week, actor=staff_user(request))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(count)d recordings proposed.") % {"count": len(created)})
        return redirect(f"{reverse('agents:qa-worklist')}?week={week.isoformat()}")
    work = selectors.worklist(staff_user(request), week_start=week, everyone=everyone)
    summaries = selectors.recording_summaries(row["recording_id"] for row in work["proposals"])
    for row in work["proposals"]:
        row["recording"] = summaries.get(row["recording_id"])
    scorecards = list(selectors.scorecards_active())
    recent = selectors.evaluation_list(request.user).filter(scorer=staff_user(request))[:20]
    return render(
        request,
        "agents/quality/worklist.html",
        {
            "week": week,
            "week_end": week + timedelta(days=6),
            "previous_week": week - timedelta(days=7),
            "next_week": week + timedelta(days=7),
            "everyone": everyone,
            "work": work,
            "scorecard": scorecards[0] if scorecards else None,
            "recent": recent,
        },
    )


# --- scoring --------------------------------------------------------------------------------


def _score_page(
    request: HttpRequest,
    *,
    summary: dict[str, Any],
    scorecard: Scorecard,
    criteria: list[dict[str, Any]],
    mode: str,
    evaluation: Evaluation | None,
    values: dict[int, dict[str, Any]],
    comments: list[dict[str, Any]],
    text: str = "",
    reason: str = "",
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "agents/quality/score.html",
        {
            "recording": summary,
            "player": _player(summary, comments),
            "scorecard": scorecard,
            "criteria": _criteria_rows(criteria, values),
            "mode": mode,
            "evaluation": evaluation,
            "comments": _comments_view(comments),
            "summary_text": text,
            "reason": reason,
            "error": error,
            "may_play": selectors.may_play(request.user, summary["id"]),
        },
        status=status,
    )


def _submit(
    request: HttpRequest,
    *,
    mode: str,
    evaluation: Evaluation | None,
    summary: dict[str, Any],
    scorecard: Scorecard,
    criteria: list[dict[str, Any]],
) -> HttpResponse:
    scores, problems = _form_scores(request, criteria)
    comments, bad_times = _form_comments(request)
    text = request.POST.get("summary", "")[:2000]
    reason = request.POST.get("reason", "")[:300]
    values = {s["criterion"]: s for s in scores}
    error = ""
    status = 400
    if problems:
        error = _("Score every criterion.")
    elif bad_times:
        error = _("A comment's time is m:ss or seconds: %(times)s") % {"times": ", ".join(bad_times)}
    else:
        try:
            actor = staff_user(request)
            if mode == "new":
                done = services.evaluation_submit(
                    recording_id=summary["id"],
                    scorecard_id=scorecard.pk,
                    scorer=actor,
                    scores=scores,
                    comments=comments,
                    summary=text,
                )
            elif mode == "uphold":
                assert evaluation is not None
                done = services.dispute_resolve(
                    evaluation_id=evaluation.pk,
                    actor=actor,
                    upheld=True,
                    reason=reason,
                    scores=scores,
                    comments=comments,
                    summary=text,
                )
            else:
                assert evaluation is not None
                done = services.evaluation_rescore(
                    evaluation_id=evaluation.pk,
                    scorer=actor,
                    scores=scores,
                    comments=comments,
                    summary=text,
                    reason=reason,
                )
        except DomainError as exc:
            error = exc.message
            status = exc.status
        else:
            messages.success(request, _("Evaluation saved: %(score)s%%.") % {"score": done.score})
            return redirect("agents:qa-evaluation", pk=done.pk)
    return _score_page(
        request,
        summary=summary,
        scorecard=scorecard,
        criteria=criteria,
        mode=mode,
        evaluation=evaluation,
        values=values,
        comments=comments,
        text=text,
        reason=reason,
        error=error,
        status=status,
    )


@role_required(*LEADS)
def score(request: HttpRequest, recording_id: int) -> HttpResponse:
    """Score a recording (``?scorecard=`` or the first active one); an existing current evaluation
    with that scorecard is shown instead (re-score it from there)."""
    summary = selectors.recording_summary(recording_id)
    if summary is None or not selectors.may_play(request.user, recording_id):
        raise Http404
    cards = selectors.scorecards_active()
    wanted = request.POST.get("scorecard") or request.GET.get("scorecard") or ""
    scorecard = cards.filter(pk=int(wanted)).first() if wanted.isdigit() else cards.first()
    if scorecard is None:
        raise Http404
    existing = selectors.evaluation_list(request.user, recording=recording_id).filter(scorecard=scorecard).first()
    if existing is not None:
        return redirect("agents:qa-evaluation", pk=existing.pk)
    version = services.scorecard_version_current(scorecard=scorecard, actor=staff_user(request))
    if request.method == "POST":
        return _submit(
            request, mode="new", evaluation=None, summary=summary, scorecard=scorecard, criteria=version.criteria
        )
    return _score_page(
        request,
        summary=summary,
        scorecard=scorecard,
        criteria=version.criteria,
        mode="new",
        evaluation=None,
        values={},
        comments=[],
    )


@role_required(*LEADS)
def rescore(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-score an evaluation: a correction, or upholding its open dispute (the form asks for the
    reason either way); the scores start from the current ones."""
    evaluation = selectors.evaluation_get(request.user, pk)
    if evaluation is None:
        raise Http404
    summary = selectors.recording_summary(evaluation.recording_id)
    if summary is None:
        raise Http404
    mode = "uphold" if evaluation.status == EvaluationStatus.DISPUTED else "correct"
    version = services.scorecard_version_current(scorecard=evaluation.scorecard, actor=staff_user(request))
    if request.method == "POST":
        return _submit(
            request,
            mode=mode,
            evaluation=evaluation,
            summary=summary,
            scorecard=evaluation.scorecard,
            criteria=version.criteria,
        )
    values = {s.criterion_id: {"points": s.points, "failed": s.failed} for s in evaluation.scores.all()}
    comments = [{"at_ms": c.at_ms, "text": c.text} for c in evaluation.comments.all()]
    return _score_page(
        request,
        summary=summary,
        scorecard=evaluation.scorecard,
        criteria=version.criteria,
        mode=mode,
        evaluation=evaluation,
        values=values,
        comments=comments,
        text=evaluation.summary,
    )


# --- an evaluation --------------------------------------------------------------------------


@role_required(*READERS, Role.AGENT)
def evaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = selectors.evaluation_get(request.user, pk)
    if evaluation is None:
        raise Http404
    user = staff_user(request)
    if request.method == "POST":
        action = request.POST.get("action", "")
        reason = request.POST.get("reason", "")
        try:
            if action == "acknowledge":
                services.evaluation_acknowledge(evaluation_id=pk, agent=user)
                messages.success(request, _("Acknowledged."))
            elif action == "dispute":
                services.evaluation_dispute(evaluation_id=pk, agent=user, reason=reason)
                messages.success(request, _("Your dispute has been sent to the team leads."))
            elif action == "reject" and selectors.can_score(user):
                services.dispute_resolve(evaluation_id=pk, actor=user, upheld=False, reason=reason)
                messages.success(request, _("Dispute rejected."))
            else:
                messages.error(request, _("Unknown action."))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("agents:qa-evaluation", pk=pk)
    payload = selectors.evaluation_payload(evaluation, detail=True)
    summary = selectors.recording_summary(evaluation.recording_id)
    comments = _comments_view(payload["comments"])
    names = {c["id"]: c["name"] for c in payload["criteria"]}
    for c in comments:
        c["criterion_name"] = names.get(c["criterion"], "")
    is_agent = evaluation.agent_id == user.pk
    disputed_before = payload["dispute"] is not None or any(
        selectors.dispute_of(e) is not None for e in selectors.evaluation_chain(evaluation)
    )
    return render(
        request,
        "agents/quality/evaluation.html",
        {
            "evaluation": evaluation,
            "payload": payload,
            "comments": comments,
            "player": _player(summary, payload["comments"]) if summary else None,
            "may_play": bool(summary) and selectors.may_play(user, evaluation.recording_id),
            "chain": selectors.evaluation_chain(evaluation),
            "is_agent": is_agent,
            "can_acknowledge": is_agent and evaluation.is_current and evaluation.acknowledged_at is None,
            "can_dispute": is_agent and evaluation.is_current and not disputed_before,
            "can_lead": selectors.can_score(user) and not is_agent and evaluation.is_current,
        },
    )


@role_required(Role.AGENT, Role.TEAM_LEAD)
def mine(request: HttpRequest) -> HttpResponse:
    """The signed-in agent's own evaluations and their average over the last 30 days."""
    today = timezone.localdate()
    since = today - timedelta(days=29)
    rows = selectors.evaluation_list(request.user).filter(agent=staff_user(request))[:100]
    return render(
        request,
        "agents/quality/mine.html",
        {
            "rows": rows,
            "figures": selectors.agent_qa_summary(request.user, since, today),
            "since": since,
            "today": today,
        },
    )
