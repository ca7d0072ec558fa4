"""The demo's campaigns (issue 19): a marketing campaign (理财产品推介, preview) with about 40
card customers of the seeded ledger and a day of dialing history, a revisit campaign (工单回访)
fed from the closed work orders, and a few do-not-call entries. Deterministic; run again it
changes nothing (the campaigns are found by code)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import feeds, jobs, segments, services
from .models import (
    AttemptStatus,
    Campaign,
    CampaignContact,
    CampaignKind,
    ContactStatus,
    DialAttempt,
    DialMode,
    DncReason,
    DoNotCall,
    Outcome,
)

MARKETING_CODE = "wm-2026"
REVISIT_CODE = "revisit-wo"
SEED = 19
MARKETING_SCRIPT = (
    "您好，请问是{姓名}先生/女士吗？我是农村信用社客户服务中心的客服代表，工号{工号}。\n"
    "感谢您一直使用我社的银行卡。我社近期推出一款稳健型理财产品，起购金额五万元，期限九十天，"
    "业绩比较基准年化2.8%。理财非存款，产品有风险，投资须谨慎。请问您是否有兴趣了解？\n"
    "（有兴趣：登记意向，约定网点经理回电；不需要：致谢并结束；要求不再来电：登记免打扰。）"
)
REVISIT_SCRIPT = (
    "您好，我是农村信用社客户服务中心的客服代表。您之前反映的问题（工单号{工单}）已由网点处理办结，"
    "想了解一下您对处理结果是否满意？还有其他需要帮助的吗？"
)


def _queue(code: str) -> Any:
    from ..models import Queue

    return Queue.objects.filter(code=code).first() or Queue.objects.order_by("pk").first()


def _lead() -> Any:
    from agents.selectors import agent_user_get

    return agent_user_get("lead1")


def _free_agent(at: datetime, length: timedelta, agents: list[Any], index: int) -> Any:
    """An agent the demo rotation has on duty at ``at`` (``agents.demo.on_duty``) with no call of
    theirs within ``length`` of it — the dial fits the state log the history writes around the
    calls — else one on duty all the same (the dial shares their time on the phone), and only
    with nobody on duty the next demo agent in turn. (A dial given to an agent off the roster
    stretched their next shift back over the day: a 14-hour shift without a meal.)"""
    from agents.demo import demo_agent_ids, on_duty
    from agents.selectors import agent_user_by_id

    from ..models import Call

    duty = on_duty(at, demo_agent_ids())
    for agent_id in duty:
        busy = Call.objects.filter(
            agent_id=agent_id, answered_at__lt=at + length, ended_at__gt=at - timedelta(minutes=2)
        ).exists()
        if not busy:
            found = agent_user_by_id(agent_id)
            if found is not None:
                return found
    for agent_id in duty:
        found = agent_user_by_id(agent_id)
        if found is not None:
            return found
    return agents[index % len(agents)]


def _agents() -> list[Any]:
    from agents.selectors import agent_user_get

    found = [agent_user_get(f"agent{n:02d}") for n in range(1, 6)]
    return [agent for agent in found if agent is not None]


@transaction.atomic
def seed_outbound_marketing() -> dict[str, int]:
    """The marketing campaign, its list from a customer segment and yesterday's dials. Run by the
    call history before the agents' state log is written (``calls.demo.seed_call_history``), so
    the agents' outbound calls lie in their ``on_call`` spans like the inbound ones."""
    counts = _counts()
    queue = _queue("card")
    if queue is None:
        return counts
    lead = _lead()
    today = timezone.localdate()
    rng = random.Random(SEED)
    marketing = Campaign.objects.filter(code=MARKETING_CODE).first()
    if marketing is None:
        marketing = services.campaign_create(
            code=MARKETING_CODE,
            fields=services.CampaignFields(
                name="理财产品推介",
                kind=CampaignKind.MARKETING,
                mode=DialMode.PREVIEW,
                queue=queue,
                window_start=time(9, 30),
                window_end=time(19, 30),
                date_from=today - timedelta(days=3),
                date_to=today + timedelta(days=60),
                script=MARKETING_SCRIPT,
                max_attempts=3,
                outcomes=(
                    Outcome.INTERESTED,
                    Outcome.NOT_INTERESTED,
                    Outcome.CALLBACK,
                    Outcome.WRONG_NUMBER,
                    Outcome.DNC_REQUEST,
                    Outcome.SALE,
                ),
            ),
            actor=lead,
        )
        counts["campaigns"] += 1
        counts["dnc"] += _seed_dnc(lead)
        job = jobs.segment_build(
            campaign=marketing, min_balance=Decimal("1000.00"), sms_notice=None, limit=44, actor=lead
        )
        segments.run_segment(job.pk)
        services.campaign_start(campaign=marketing, actor=lead)
        counts["contacts"] += CampaignContact.objects.filter(campaign=marketing).count()
        counts["attempts"] += _seed_history(marketing, rng)
    return counts


def _counts() -> dict[str, int]:
    return {"campaigns": 0, "contacts": 0, "attempts": 0, "dnc": 0}


@transaction.atomic
def seed_outbound() -> dict[str, int]:
    """→ ``{"campaigns", "contacts", "attempts", "dnc"}`` created: the marketing campaign (unless
    the call history made it, ``seed_outbound_marketing``) and the revisit campaign fed from the
    closed work orders."""
    counts = seed_outbound_marketing()
    queue = _queue("card")
    if queue is None:
        return counts
    lead = _lead()
    today = timezone.localdate()

    revisit = Campaign.objects.filter(code=REVISIT_CODE).first()
    if revisit is None:
        revisit = services.campaign_create(
            code=REVISIT_CODE,
            fields=services.CampaignFields(
                name="工单回访",
                kind=CampaignKind.REVISIT,
                mode=DialMode.PREVIEW,
                queue=_queue("complaint") or queue,
                window_start=time(9, 0),
                window_end=time(20, 0),
                date_from=today - timedelta(days=30),
                date_to=today + timedelta(days=335),
                script=REVISIT_SCRIPT,
                max_attempts=3,
                outcomes=(Outcome.COMPLETED, Outcome.CALLBACK, Outcome.WRONG_NUMBER, Outcome.DNC_REQUEST),
            ),
            actor=lead,
        )
        services.campaign_start(campaign=revisit, actor=lead)
        counts["campaigns"] += 1
        fed = feeds.feed_revisit_campaigns(lookback=timedelta(days=14))
        counts["contacts"] += fed["added"]
    return counts


def _seed_dnc(lead: Any) -> int:
    """A regulator's entry, a complaint and a customer's opt-out (one of the segment's customers,
    so the demo list shows a number kept out)."""
    from banking.selectors import customers_in_segment

    created = 0
    for phone, reason, every in (
        ("13900000001", DncReason.REGULATOR, True),
        ("13900000002", DncReason.COMPLAINT, True),
    ):
        if not DoNotCall.objects.filter(phone=phone, removed_at__isnull=True).exists():
            services.dnc_add(phone=phone, reason=reason, all_campaigns=every, note="演示", actor=lead)
            created += 1
    first = next(iter(customers_in_segment(min_balance_fen=100_000, limit=1)), None)
    if first is not None:
        customer_id, _name, mobile = first
        services.customer_opt_out(customer_id=customer_id, phone=mobile, note="客户来电要求不接受营销电话", actor=lead)
        created += 1
    return created


def _seed_history(campaign: Campaign, rng: random.Random) -> int:
    """Yesterday's dials of about half the list: busy and unanswered numbers waiting for their
    retry, sales, refusals, a call-back and a do-not-call request — the campaign page's figures."""
    from ..models import Call, CallState, Direction

    agents = _agents()
    if not agents:
        return 0
    yesterday = timezone.localdate() - timedelta(days=1)
    tz = timezone.get_default_timezone()
    contacts = list(campaign.contacts.filter(status=ContactStatus.PENDING).order_by("pk")[:22])
    made = 0
    for index, contact in enumerate(contacts):
        at = timezone.make_aware(datetime.combine(yesterday, time(10, 0)), tz) + timedelta(minutes=17 * index)
        roll = rng.random()
        answered = roll >= 0.35
        agent = _free_agent(at, timedelta(minutes=8), agents, index)
        attempt = DialAttempt.objects.create(
            campaign=campaign,
            contact=contact,
            phone=contact.phone,
            agent=agent,
            mode=campaign.mode,
            allowed_because={"demo": "seeded history"},
            command_id=f"demo-{uuid.UUID(int=rng.getrandbits(128)).hex}",
            status=AttemptStatus.ENDED,
            sends=1,
            last_sent_at=at,
            acknowledged_at=at,
            decided_at=at,
            answered_at=at + timedelta(seconds=12) if answered else None,
            ended_at=at + timedelta(seconds=12 + (rng.randint(60, 300) if answered else 30)),
            call_id=f"OB{yesterday:%Y%m%d}{index:04d}" if answered else "",
        )
        made += 1
        if not answered:
            services.record_cause(attempt, Outcome.BUSY if roll < 0.15 else Outcome.NO_ANSWER, now=at, actor=None)
            continue
        assert attempt.answered_at is not None and attempt.ended_at is not None
        Call.objects.create(
            call_id=attempt.call_id,
            direction=Direction.OUTBOUND,
            ani=contact.phone,  # the customer's number, as on a dialled call (docs/cti.md)
            dnis=campaign.caller_id,
            state=CallState.ENDED,
            agent=agent,
            queue=campaign.queue,
            customer_id=contact.customer_id,
            started_at=at,
            offered_at=at,
            answered_at=attempt.answered_at,
            ended_at=attempt.ended_at,
            wrapup_at=attempt.ended_at + timedelta(seconds=20),
        )
        outcome = rng.choices(
            [Outcome.NOT_INTERESTED, Outcome.INTERESTED, Outcome.SALE, Outcome.CALLBACK, Outcome.DNC_REQUEST],
            weights=[50, 20, 10, 15, 5],
        )[0]
        callback_at = None
        if outcome == Outcome.CALLBACK:
            tomorrow = timezone.localdate() + timedelta(days=1)
            callback_at = timezone.make_aware(datetime.combine(tomorrow, time(15, 0)), tz)
        services.record_outcome(
            attempt, outcome=outcome, agent=agent, callback_at=callback_at, note="", now=attempt.ended_at
        )
    return made
