"""Demo data of quality scoring (``seed_demo`` calls ``seed_quality`` after the recordings are
seeded): the default scorecard of a bank's service center, two teams (lead1: agent01–08, lead2:
agent09–15), a few evaluations of seeded recordings (one with a failed fatal item, one
acknowledged, one disputed) and last week's sample. Deterministic and idempotent; recordings are
read through the port, so without them only the scorecard and the teams are created."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from . import services
from .models import Criterion, Evaluation, Scorecard, Team, TeamMember
from .recording_port import registered

DEFAULT_SCORECARD = "电话银行服务质检标准"
# (name, description, max points, weight, fatal)
DEFAULT_CRITERIA: list[tuple[str, str, int, str, bool]] = [
    ("开场白规范", "使用标准问候语，主动报工号", 10, "1", False),
    ("身份核实", "办理账户类业务前按规定核实客户身份", 10, "2", False),
    ("业务解答准确", "政策、利率、业务流程解答准确完整", 10, "3", False),
    ("服务态度", "语气亲切、耐心倾听、不打断客户", 10, "2", False),
    ("结束语规范", "确认客户无其他问题，使用标准结束语", 10, "1", False),
    ("泄露客户信息", "向非本人透露账户、交易或身份信息", 1, "0", True),
    ("违规承诺收益", "对理财、存款等产品承诺保本或收益", 1, "0", True),
]
TEAMS = [("座席一组", "lead1", range(1, 9)), ("座席二组", "lead2", range(9, 16))]
DEMO_EVALUATIONS = 6


def seed_scorecard() -> Scorecard:
    scorecard, _ = Scorecard.objects.get_or_create(
        name=DEFAULT_SCORECARD,
        defaults={"description": "中心默认质检评分表：五项评分项按权重计分，两项致命项任一不合格则本次质检得0分。"},
    )
    for order, (name, description, max_points, weight, fatal) in enumerate(DEFAULT_CRITERIA, start=1):
        Criterion.objects.get_or_create(
            scorecard=scorecard,
            name=name,
            defaults={
                "order": order * 10,
                "description": description,
                "max_points": max_points,
                "weight": Decimal(weight),
                "fatal": fatal,
            },
        )
    services.scorecard_version_current(scorecard=scorecard)
    return scorecard


def seed_teams() -> int:
    User = get_user_model()
    created = 0
    for name, lead_name, numbers in TEAMS:
        lead = User.objects.filter(username=lead_name).first()
        team, made = Team.objects.get_or_create(name=name, defaults={"lead": lead})
        created += made
        for number in numbers:
            agent = User.objects.filter(username=f"agent{number:02d}").first()
            if agent is not None:
                created += TeamMember.objects.get_or_create(agent=agent, defaults={"team": team})[1]
    return created


def _points(criteria: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    scores = []
    for k, c in enumerate(criteria):
        if c["fatal"]:
            # The third demo evaluation promised a return: the fatal item fails.
            scores.append({"criterion": c["id"], "failed": n == 2 and c["name"] == "违规承诺收益"})
        else:
            scores.append({"criterion": c["id"], "points": max(0, int(c["max_points"]) - (n + k) % 4)})
    return scores


@transaction.atomic
def seed_quality() -> dict[str, int]:
    """``{"teams", "evaluations", "proposed"}`` created by this run."""
    scorecard = seed_scorecard()
    teams = seed_teams()
    side = registered()
    if side is None:
        return {"teams": teams, "evaluations": 0, "proposed": 0}
    User = get_user_model()
    leads = {t.name: t.lead for t in Team.objects.select_related("lead")}
    member_team = dict(TeamMember.objects.values_list("agent_id", "team__name"))
    now = timezone.now()
    # The first recording of the first agents of each team, alternating teams.
    by_team: dict[str, list[int]] = {}
    for agent_id in sorted(member_team):
        by_team.setdefault(member_team[agent_id], []).extend(
            side.agent_recordings(agent_id, now - timedelta(days=60), now)[:1]
        )
    queues = [by_team[name] for name in sorted(by_team)]
    ids = [queue[k] for k in range(max(map(len, queues), default=0)) for queue in queues if k < len(queue)]
    made = 0
    for n, recording_id in enumerate(ids[:DEMO_EVALUATIONS]):
        if Evaluation.objects.filter(recording_id=recording_id, scorecard=scorecard).exists():
            continue
        summary = side.summary(recording_id)
        if summary is None or summary.get("agent_id") is None:
            continue
        lead = leads.get(member_team.get(summary["agent_id"], ""))
        if lead is None:
            continue
        version = services.scorecard_version_current(scorecard=scorecard)
        duration_ms = int(Decimal(str(summary["duration_s"])) * 1000)
        evaluation = services.evaluation_submit(
            recording_id=recording_id,
            scorecard_id=scorecard.pk,
            scorer=lead,
            scores=_points(version.criteria, n),
            comments=[
                {"at_ms": min(1500, duration_ms), "text": "开场白完整，报了工号。"},
                {"at_ms": duration_ms // 2, "text": "核实身份时可以再完整一些。"},
            ],
            summary="整体规范，注意身份核实的完整性。",
        )
        made += 1
        agent = User.objects.get(pk=summary["agent_id"])
        if n == 1:
            services.evaluation_acknowledge(evaluation_id=evaluation.pk, agent=agent)
        elif n == 3:
            services.evaluation_dispute(
                evaluation_id=evaluation.pk, agent=agent, reason="客户主动要求结束通话，结束语无法完整说出。"
            )
    proposed = len(services.sample_propose(week_start=services.last_week(), per_agent=2))
    proposed += len(services.sample_propose(week_start=timezone.localdate(), per_agent=2))  # this week so far
    return {"teams": teams, "evaluations": made, "proposed": proposed}
