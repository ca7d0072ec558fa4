"""Demo work orders for ``seed_demo``: the founding document's "182 handled" complaints over the
history window (customer satisfaction near 100%), plus a dozen open ones so the branch inbox and
the analyst's list show every state today.

``seed_tickets(history_days)`` is deterministic (fixed random seed; the plan is the same every
run, laid out backwards from today) and idempotent (each planned work order carries the call id
``DEMO-T####``; existing ones are skipped). Every work order is made through the services, so each
has its full history. No adjustment is posted (the ledger's history is the banking seed's); one open
mis-posting waits for the analyst to post its confirmed amount.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.utils import timezone

from org.models import Outlet, Unit
from org.roles import Role

from .models import Category, ContactKind, Ticket
from .services.contacts import ticket_create
from .services.extensions import ticket_extension_decide, ticket_extension_request
from .services.pauses import ticket_pause
from .services.workflow import ticket_accept, ticket_callback, ticket_dispatch, ticket_reply, ticket_review

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser

logger = logging.getLogger(__name__)

SEED = 20080328  # the day phone banking went live
SHANGHAI = ZoneInfo("Asia/Shanghai")
HANDLED_PER_90_DAYS = 182  # founding document: 182 work orders handled in the first three months
CALL_PREFIX = "DEMO-T"

CATEGORY_WEIGHTS = [
    (Category.ATM_MISPOST, 30),
    (Category.REFUND_POSTING, 14),
    (Category.POS_PRIZE, 10),
    (Category.SERVICE_ATTITUDE, 20),
    (Category.FEES, 16),
    (Category.OTHER, 10),
]

DESCRIPTIONS: dict[str, list[str]] = {
    Category.ATM_MISPOST: [
        "客户在{outlet}ATM取款{amount}元，机器未出钞但账户已扣款，要求核实处理。",
        "客户称在{outlet}ATM存款{amount}元，机器吞钞后显示交易失败，账户未入账。",
        "客户在{outlet}ATM取款时机器故障，实际出钞少于扣款金额，差额{amount}元。",
    ],
    Category.REFUND_POSTING: [
        "客户在商场刷卡消费后办理退货，商户称已退款{amount}元，至今未到账。",
        "客户网上购物退款{amount}元，商户已发起退款，借记卡未见入账。",
    ],
    Category.POS_PRIZE: [
        "客户参加POS刷卡消费抽奖活动中奖{amount}元，奖金尚未划入借记卡。",
        "客户来电查询刷卡消费中奖奖金{amount}元何时到账。",
    ],
    Category.SERVICE_ATTITUDE: [
        "客户反映{outlet}柜员服务态度生硬，对客户询问不予解释。",
        "客户反映{outlet}办理业务等候时间过长，大堂经理未作引导。",
        "客户反映{outlet}工作人员推诿，不予办理存折补登。",
    ],
    Category.FEES: [
        "客户对借记卡年费扣收有异议，称开卡时未告知，要求退还。",
        "客户对短信通服务费扣收有异议，称未开通该服务。",
        "客户对跨行取款手续费标准有疑问，要求说明收费依据。",
    ],
    Category.OTHER: [
        "客户反映{outlet}自助设备长期故障，无法正常使用。",
        "客户反映{outlet}门前无障碍通道被占用，行动不便。",
        "客户建议{outlet}延长周末营业时间。",
    ],
}

REPLIES = {
    Category.ATM_MISPOST: "经核查ATM日终轧账及监控录像，确认长款{amount}元，已为客户调账并电话告知。",
    Category.REFUND_POSTING: "经与收单机构核实，退款已于清算日入账，已向客户说明到账时间。",
    Category.POS_PRIZE: "经核实客户中奖属实，奖金已列入本月POS消费中奖划账批次。",
    Category.SERVICE_ATTITUDE: "已约谈当事员工并进行批评教育，网点负责人已向客户致歉。",
    Category.FEES: "已向客户解释收费依据，经申请为客户减免相关费用。",
    Category.OTHER: "已安排维修人员处理，设备现已恢复正常，已告知客户。",
}


@dataclass
class Actors:
    analyst: AuthUser
    director: AuthUser
    agents: list[AuthUser]
    unit_staff: dict[str, AuthUser]


def _actors() -> Actors | None:
    User = get_user_model()
    users = list(User.objects.filter(is_active=True, profile__isnull=False).select_related("profile__unit"))

    def by_role(role):
        return sorted((user for user in users if user.profile.role == role), key=lambda user: user.username)

    analysts, agents, directors = by_role(Role.ANALYST), by_role(Role.AGENT), by_role(Role.DIRECTOR)
    unit_staff: dict[str, AuthUser] = {}
    for user in by_role(Role.UNIT_STAFF):
        unit_staff.setdefault(user.profile.unit.code, user)
    if not analysts or not agents or not unit_staff:
        return None
    return Actors(analysts[0], directors[0] if directors else analysts[0], agents, unit_staff)


def _at(day, rng: random.Random, start_hour: int = 8, end_hour: int = 20) -> datetime:
    minute = rng.randrange(start_hour * 60, end_hour * 60)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=SHANGHAI)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _description(rng: random.Random, category: str, outlet: str, amount: int) -> str:
    return rng.choice(DESCRIPTIONS[category]).format(outlet=outlet, amount=amount)


def _plan_unit(rng: random.Random, category: str, units: list[str], departments: list[str]) -> str:
    if category == Category.POS_PRIZE and "CARD" in departments:
        return "CARD"
    if category == Category.FEES and "ACCT" in departments and rng.random() < 0.3:
        return "ACCT"
    return rng.choice(units)


def seed_tickets(history_days: int) -> int:
    """Create the demo work orders; returns how many were created (0 on a second run)."""
    if history_days <= 0:
        return 0
    actors = _actors()
    if actors is None:
        logger.warning("seed_tickets: no analyst, agent or unit staff yet; nothing created")
        return 0
    staffed = set(actors.unit_staff)
    units = sorted(code for code in Unit.objects.filter(kind=Unit.Kind.BRANCH).values_list("code", flat=True))
    units = [code for code in units if code in staffed]
    departments = sorted(
        code
        for code in Unit.objects.filter(kind=Unit.Kind.DEPARTMENT).values_list("code", flat=True)
        if code in staffed
    )
    if not units:
        return 0
    outlets: dict[str, list[str]] = {}
    for code, name in Outlet.objects.filter(unit__code__in=units).order_by("code").values_list("unit__code", "name"):
        outlets.setdefault(code, []).append(name)
    from banking.selectors import customer_ids

    customers = customer_ids(limit=600)
    existing = set(Ticket.objects.filter(call_id__startswith=CALL_PREFIX).values_list("call_id", flat=True))

    rng = random.Random(SEED)
    today = timezone.localdate()
    handled = round(HANDLED_PER_90_DAYS * history_days / 90)
    created = 0
    for index in range(handled):
        # received between history_days and ~12 days ago, so every one is finished by today
        days_ago = rng.randint(min(history_days, 25), history_days)
        category = _weighted(rng, CATEGORY_WEIGHTS)
        unit = _plan_unit(rng, category, units, departments)
        plan = {
            "call_id": f"{CALL_PREFIX}{index + 1:04d}",
            "category": category,
            "unit": unit,
            "received": _at(today - timedelta(days=days_ago), rng, 0, 24),
            "customer": rng.choice(customers) if customers and rng.random() < 0.9 else None,
            "outlet": rng.choice(outlets.get(unit, ["营业网点"])),
            "amount": rng.choice([100, 200, 300, 500, 800, 1000, 2000]),
            "late": rng.random() < 0.06,
            "unsatisfied_once": rng.random() < 0.03,
            "extended": category in (Category.SERVICE_ATTITUDE, Category.FEES, Category.OTHER) and rng.random() < 0.05,
            "agent": rng.choice(actors.agents),
            "rng_state": rng.random(),
        }
        if plan["call_id"] in existing:
            continue
        _handled(plan, actors)
        created += 1
    created += _open_ones(rng, actors, units, outlets, customers, existing, today)
    return created


class Clock:
    """Moments of one work order: never before the previous one, never later than ``limit``
    (so a short history window compresses the steps instead of putting them in the future)."""

    def __init__(self, start: datetime, limit: datetime) -> None:
        self.last, self.limit = start, limit

    def at(self, moment: datetime) -> datetime:
        self.last = max(self.last + timedelta(minutes=1), min(moment, self.limit))
        return self.last

    def after(self, delta: timedelta) -> datetime:
        return self.at(self.last + delta)


def _create(plan: dict) -> Ticket:
    customer = None
    if plan["customer"]:
        from banking.selectors import customer_by_id

        customer = customer_by_id(plan["customer"])
    rng = random.Random(plan["call_id"])
    text = _description(rng, plan["category"], plan["outlet"], plan["amount"])
    return ticket_create(
        actor=plan["agent"],
        kind=ContactKind.SUGGESTION if text.startswith("客户建议") else ContactKind.COMPLAINT,
        category=plan["category"],
        description=text,
        customer=customer,
        account=plan.get("account"),
        call_id=plan["call_id"],
        caller_number=_caller_number(rng, customer),
        received_at=plan["received"],
        now=plan["received"] + timedelta(minutes=3),
    )


def _caller_number(rng: random.Random, customer) -> str:
    """The number the demo call came from (there is no call row behind a demo work order): most
    customers ring from their registered mobile, the others and the unidentified callers from
    another phone — a Tianjin landline or a mobile."""
    if customer is not None and rng.random() < 0.8:
        return customer.mobile
    if rng.random() < 0.5:
        return f"022{rng.randint(2000_0000, 8999_9999)}"
    return f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(1000_0000, 9999_9999)}"


def _handled(plan: dict, actors: Actors) -> Ticket:
    rng = random.Random(plan["rng_state"])
    member = actors.unit_staff[plan["unit"]]
    ticket = _create(plan)
    clock = Clock(plan["received"] + timedelta(minutes=3), timezone.now() - timedelta(hours=1))
    ticket = ticket_dispatch(
        ticket=ticket,
        actor=actors.analyst,
        unit_code=plan["unit"],
        now=clock.after(timedelta(minutes=rng.randint(20, 180))),
    )
    ticket = ticket_accept(ticket=ticket, actor=member, now=clock.after(timedelta(hours=rng.randint(1, 20))))
    if plan["extended"]:
        extension = ticket_extension_request(
            ticket=ticket,
            actor=member,
            days=10,
            reason="需调取监控并约谈相关人员，情况较复杂。",
            now=clock.after(timedelta(days=rng.randint(3, 8))),
        )
        ticket_extension_decide(
            extension=extension, actor=actors.analyst, approve=True, now=clock.after(timedelta(hours=3))
        )
        ticket.refresh_from_db()
    due_at = cast(datetime, ticket.due_at)  # set by the dispatch
    span = max((due_at - clock.last).total_seconds(), 3600)
    if plan["late"]:
        replied = due_at + timedelta(hours=rng.randint(4, 40))
    else:
        replied = clock.last + timedelta(seconds=span * rng.uniform(0.25, 0.9))
    reply = REPLIES[plan["category"]].format(amount=plan["amount"])
    ticket = ticket_reply(ticket=ticket, actor=member, result=reply, resolved=True, now=clock.at(replied))
    ticket = ticket_review(
        ticket=ticket, actor=actors.analyst, accepted=True, now=clock.after(timedelta(hours=rng.randint(2, 22)))
    )
    if plan["unsatisfied_once"]:
        ticket_callback(
            ticket=ticket,
            actor=plan["agent"],
            satisfied=False,
            note="客户表示仍有疑问，要求进一步说明。",
            now=clock.after(timedelta(hours=rng.randint(1, 20))),
        )
        ticket_reply(
            ticket=ticket,
            actor=member,
            result=reply + "网点负责人已上门向客户当面说明。",
            resolved=True,
            now=clock.after(timedelta(hours=rng.randint(4, 30))),
        )
    return ticket_callback(
        ticket=ticket,
        actor=plan["agent"],
        satisfied=True,
        note="客户表示满意。",
        now=clock.after(timedelta(hours=rng.randint(1, 20))),
    )


def _open_ones(rng, actors, units, outlets, customers, existing, today) -> int:
    """A dozen work orders in every open state, received in the last days, two of them overdue."""
    now = timezone.now()
    specs = [
        # (state, category, days ago received)
        ("dispatched", Category.ATM_MISPOST, 9),  # overdue (5 working days)
        ("in_progress", Category.REFUND_POSTING, 10),  # overdue
        ("dispatched", Category.ATM_MISPOST, 1),
        ("in_progress", Category.SERVICE_ATTITUDE, 6),
        ("in_progress", Category.FEES, 3),
        ("paused", Category.ATM_MISPOST, 4),
        ("extension", Category.OTHER, 8),
        ("replied", Category.ATM_MISPOST, 3),  # confirmed amount: the analyst posts it
        ("callback_pending", Category.FEES, 5),
        ("returned", Category.SERVICE_ATTITUDE, 7),
        ("dispatched", Category.POS_PRIZE, 2),
        ("new", Category.OTHER, 0),
    ]
    created = 0
    for number, (state, category, days_ago) in enumerate(specs, start=1):
        call_id = f"{CALL_PREFIX}9{number:03d}"
        # half of them in the first branch, so its inbox shows every state
        unit = units[0] if number % 2 else units[(number // 2) % len(units)]
        received = min(_at(today - timedelta(days=days_ago), rng, 8, 18), now - timedelta(hours=2))
        customer = customers[(number * 7) % len(customers)] if customers else None
        account = None
        if state == "replied" and customer:
            from banking.selectors import first_active_account

            account = first_active_account(customer)
        if call_id in existing:
            continue
        plan = {
            "call_id": call_id,
            "category": category,
            "unit": unit,
            "received": received,
            "customer": customer,
            "account": account,
            "outlet": (outlets.get(unit) or ["营业网点"])[number % max(1, len(outlets.get(unit) or [1]))],
            "amount": [200, 500, 1000][number % 3],
            "agent": actors.agents[number % len(actors.agents)],
        }
        _open(plan, state, actors, now)
        created += 1
    return created


def _open(plan: dict, state: str, actors: Actors, now: datetime) -> Ticket:
    member = actors.unit_staff[plan["unit"]]
    ticket = _create(plan)
    if state == "new":
        return ticket
    clock = Clock(plan["received"] + timedelta(minutes=3), now - timedelta(minutes=10))
    ticket = ticket_dispatch(
        ticket=ticket, actor=actors.analyst, unit_code=plan["unit"], now=clock.after(timedelta(minutes=40))
    )
    if state == "dispatched":
        return ticket
    ticket = ticket_accept(ticket=ticket, actor=member, now=clock.after(timedelta(hours=3)))
    if state == "paused":
        return ticket_pause(
            ticket=ticket, actor=member, reason="等待清机加钞单位出具鉴定结果。", now=clock.after(timedelta(hours=1))
        )
    if state == "extension":
        ticket_extension_request(
            ticket=ticket,
            actor=member,
            days=10,
            reason="涉及外包服务商，需协调处理。",
            now=clock.after(timedelta(hours=1)),
        )
        return ticket
    if state == "in_progress":
        return ticket
    amount_fen = plan["amount"] * 100 if plan["category"] == Category.ATM_MISPOST and plan.get("account") else None
    reply = REPLIES[plan["category"]].format(amount=plan["amount"]).replace("已为客户调账并", "请中心调账，已")
    ticket = ticket_reply(
        ticket=ticket,
        actor=member,
        result=reply,
        resolved=True,
        adjustment_fen=amount_fen,
        now=clock.after(timedelta(hours=20)),
    )
    if state == "replied":
        return ticket
    if state == "callback_pending":
        return ticket_review(ticket=ticket, actor=actors.analyst, accepted=True, now=clock.after(timedelta(hours=2)))
    return ticket_review(
        ticket=ticket,
        actor=actors.analyst,
        accepted=False,
        note="回复未说明整改措施，请补充。",
        now=clock.after(timedelta(hours=2)),
    )
