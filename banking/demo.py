"""Demo customers and accounts: the four documented identities of DESIGN.md §6, exactly, plus a
few thousand generated customers across the branches with consistent ledger history.

Deterministic (fixed random seed) and idempotent (existing numbers are left alone)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from org.models import Outlet, Unit

from .models import Account, LedgerTransaction
from .services.accounts import (
    OPENING_ACCOUNT_CODE,
    OPENING_MEMO,
    CustomerImportRow,
    account_link,
    account_open,
    customer_create,
    customers_import,
    internal_account,
    registration_create,
    sms_notice_subscribe,
    sms_notice_unsubscribe,
)
from .services.ledger import ledger_post

SEED = 20080328  # the day phone banking went live
GENERATED_CARD_PREFIX = "62284802"
GENERATED_WITHDRAWAL_PIN = "000000"


@dataclass(frozen=True)
class LinkedSpec:
    number: str
    kind: str
    code: str
    balance: str


@dataclass(frozen=True)
class IdentitySpec:
    name: str
    mobile: str
    id_number: str
    card: str
    card_password: str
    card_balance: str
    sms_notice: bool | None  # None: no subscription row at all
    pb_password: str | None  # None: not registered for phone banking
    linked: tuple[LinkedSpec, ...] = ()
    unit_code: str = "B01"


# The documented identities (DESIGN.md §6 "Demo data"); acceptance scripts rely on them.
IDENTITIES = (
    IdentitySpec(
        name="张伟",
        mobile="13800000001",
        id_number="120110198001010011",
        card="6228480100000001",
        card_password="654321",
        card_balance="50000.00",
        sms_notice=True,
        pb_password="123456",
        linked=(
            LinkedSpec("01010000000001", Account.Kind.SAVINGS_PASSBOOK, "01", "1000.00"),
            LinkedSpec("01020000000002", Account.Kind.SETTLEMENT_PASSBOOK, "02", "0.00"),
        ),
    ),
    IdentitySpec(
        name="李娜",
        mobile="13800000002",
        id_number="120111198502020022",
        card="6228480100000002",
        card_password="111111",
        card_balance="2000.00",
        sms_notice=None,
        pb_password=None,
        unit_code="B02",
    ),
    IdentitySpec(
        name="王强",
        mobile="13800000003",
        id_number="120112197803030033",
        card="6228480100000003",
        card_password="222222",
        card_balance="10000.00",
        sms_notice=True,
        pb_password="223344",
        linked=(LinkedSpec("01010000000003", Account.Kind.SAVINGS_PASSBOOK, "01", "500.00"),),
        unit_code="B03",
    ),
    IdentitySpec(
        name="赵敏",
        mobile="13800000004",
        id_number="120113199004040044",
        card="6228480100000004",
        card_password="333333",
        card_balance="8000.00",
        sms_notice=False,
        pb_password="334455",
        linked=(LinkedSpec("01010000000004", Account.Kind.SAVINGS_PASSBOOK, "01", "0.00"),),
        unit_code="B04",
    ),
)


def _fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def seed_identities() -> int:
    """Create the four documented identities; returns how many customers were created."""
    created = 0
    for spec in IDENTITIES:
        if Account.objects.filter(number=spec.card).exists():
            continue
        unit = Unit.objects.get(code=spec.unit_code)
        outlet = Outlet.objects.filter(unit=unit).order_by("code").first()
        customer = customer_create(name=spec.name, mobile=spec.mobile, id_number=spec.id_number, home_unit=unit)
        card = account_open(
            customer=customer,
            kind=Account.Kind.DEBIT_CARD,
            number=spec.card,
            unit=unit,
            outlet=outlet,
            withdrawal_password=spec.card_password,
            card_role=Account.CardRole.MAIN,
            opening_balance_fen=_fen(spec.card_balance),
        )
        if spec.sms_notice is not None:
            subscription = sms_notice_subscribe(account=card, phone=spec.mobile)
            if not spec.sms_notice:
                sms_notice_unsubscribe(subscription=subscription)
        if spec.pb_password is not None:
            registration = registration_create(account=card, password=spec.pb_password)
            for linked in spec.linked:
                account = account_open(
                    customer=customer,
                    kind=linked.kind,
                    number=linked.number,
                    unit=unit,
                    outlet=outlet,
                    withdrawal_password=spec.card_password,
                    opening_balance_fen=_fen(linked.balance),
                )
                account_link(registration=registration, account=account, code=linked.code)
        created += 1
    return created


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰萍鹏辉宇浩凯晨雪琳欣怡婷慧颖佳倩梅林斌波海峰亮飞"  # noqa: E501


def generated_customer_specs(count: int):
    """Deterministic synthetic customers: (name, mobile, id number, unit index, card, balance fen)."""
    rng = random.Random(SEED)
    for index in range(count):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        mobile = f"13{rng.randint(5, 9)}{index + 10000000:08d}"
        birth = datetime(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55))  # noqa: DTZ001 - a birth date
        id_number = f"1201{rng.randint(10, 25):02d}{birth:%Y%m%d}{rng.randint(100, 999)}{rng.randint(0, 9)}"
        card = f"{GENERATED_CARD_PREFIX}{index + 1:08d}"
        balance_fen = int(rng.lognormvariate(10.5, 1.3)) * 100 // 100 * 100
        yield name, mobile, id_number, index % 10, card, min(balance_fen, 500_000_000), rng


def seed_generated(count: int = 2000, *, history_days: int = 90) -> int:
    """Generated customers through the bulk import service (one password hash shared by all),
    with ``history_days`` of card activity ending today. Returns how many customers were created.

    Balances: each customer's opening deposit is posted at the start of the history window, then
    the day's card/counter activity of each branch as one journal transaction per branch and day
    against ``INT-CASH`` (the way a core system's daily journal would be loaded), oldest first,
    so every posting's ``balance_after`` is consistent and ``ledger_check`` is clean.
    """
    if Account.objects.filter(number__startswith=GENERATED_CARD_PREFIX).exists():
        return 0
    branches = list(Unit.objects.filter(kind=Unit.Kind.BRANCH).order_by("code"))
    outlets = {unit.pk: list(Outlet.objects.filter(unit=unit).order_by("code")) for unit in branches}
    specs = list(generated_customer_specs(count))
    rows = [
        CustomerImportRow(
            name=name,
            mobile=mobile,
            id_number=id_number,
            home_unit=branches[unit_index],
            outlet=rng.choice(outlets[branches[unit_index].pk]),
            card_number=card,
            balance_fen=0,
        )
        for name, mobile, id_number, unit_index, card, _balance, rng in specs
    ]
    created = customers_import(rows=rows, withdrawal_password=GENERATED_WITHDRAWAL_PIN)
    cards = {a.number: a for a in Account.objects.filter(number__startswith=GENERATED_CARD_PREFIX)}
    start = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=history_days)
    balances = {card: balance for _n, _m, _i, _u, card, balance, _r in specs}
    opening = [(cards[number], fen) for number, fen in balances.items() if fen]
    ledger_post(
        kind=LedgerTransaction.Kind.OPENING,
        lines=[(internal_account(OPENING_ACCOUNT_CODE), -sum(f for _a, f in opening)), *opening],
        channel=LedgerTransaction.Channel.SYSTEM,
        memo=OPENING_MEMO,
        posted_at=start,
    )
    _post_history(specs, cards, balances, start=start, days=history_days)
    return created


# Card and counter activity: withdrawals and POS (debit), deposits and payroll (credit).
ACTIVITY_SIGNS = (-1, 1, -1, 1, 1)


def _post_history(specs, cards, balances, *, start, days: int) -> None:
    rng = random.Random(SEED + 1)
    cash = internal_account("CASH")
    by_branch: dict[int, list[str]] = {}
    for _n, _m, _i, unit_index, card, _b, _r in specs:
        by_branch.setdefault(unit_index, []).append(card)
    for day in range(1, days + 1):
        for unit_index in sorted(by_branch):
            # About one card in twelve is used on a given day.
            active = [card for card in by_branch[unit_index] if rng.random() < 1 / 12]
            lines = []
            for card in active:
                sign = rng.choice(ACTIVITY_SIGNS)
                amount = rng.choice((100, 200, 300, 500, 800, 1000, 2000, 3000)) * 100
                if sign < 0 and balances[card] < amount:
                    sign = 1
                balances[card] += sign * amount
                lines.append((cards[card], sign * amount))
            if not lines:
                continue
            moment = start + timedelta(days=day, hours=unit_index % 8, minutes=rng.randint(0, 59))
            if moment > timezone.now():
                continue
            net = sum(fen for _a, fen in lines)
            ledger_post(
                kind=LedgerTransaction.Kind.EXTERNAL,
                lines=[(cash, -net), *lines] if net else lines,
                channel=LedgerTransaction.Channel.BATCH,
                memo=f"{moment:%m-%d} 卡/柜面日间流水",
                posted_at=moment,
            )
