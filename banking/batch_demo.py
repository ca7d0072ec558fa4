"""The demo center's settlement batches: last month's POS prize credits, approved and posted,
and this month's ATM mis-posting adjustments uploaded and waiting for the director — through
the same services as the back office's uploads (deterministic; a second seed adds nothing)."""

from __future__ import annotations

import io
import random
from datetime import date

from django.contrib.auth import get_user_model

from .demo import GENERATED_CARD_PREFIX
from .models import Account, Batch
from .services import batches

SEED = 20260930
PRIZES = ("8.88", "18.80", "28.00", "50.00", "66.00", "88.00", "100.00", "188.00")  # yuan, as the file has them
ADJUSTMENTS = ("100.00", "200.00", "500.00", "1000.00", "2000.00")


def _period(day: date, months_back: int) -> str:
    month, year = day.month - months_back, day.year
    while month < 1:
        month, year = month + 12, year - 1
    return f"{year:04d}-{month:02d}"


def _csv(lines: list[tuple[str, str, str]]) -> io.BytesIO:
    text = "account,amount,reference\n" + "".join(f"{a},{m},{r}\n" for a, m, r in lines)
    return io.BytesIO(text.encode("utf-8"))


def seed_batches(today: date) -> int:
    """The two batches, when the demo has none yet; returns how many were created."""
    if Batch.objects.exists():
        return 0
    users = get_user_model().objects
    analyst, director = users.filter(username="analyst").first(), users.filter(username="director").first()
    if analyst is None or director is None:
        return 0
    # The generated customers' cards: the documented identities' balances (DESIGN.md §6) stay as
    # documented.
    cards = list(
        Account.objects.filter(kind=Account.Kind.DEBIT_CARD, card_role=Account.CardRole.MAIN, is_internal=False)
        .filter(status=Account.Status.ACTIVE, number__startswith=GENERATED_CARD_PREFIX)
        .order_by("pk")
        .values_list("number", flat=True)[:400]
    )
    if len(cards) < 10:
        return 0
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    last_month = _period(today, 1)
    prize_ref = f"POS{last_month.replace('-', '')}"
    prizes = [
        (number, rng.choice(PRIZES), f"{prize_ref}{n:04d}")
        for n, number in enumerate(rng.sample(cards, min(60, len(cards))), start=1)
    ]
    batch = batches.batch_upload(
        kind=Batch.Kind.POS_PRIZE,
        period=last_month,
        file=_csv(prizes),
        file_name=f"pos_prize_{last_month}.csv",
        actor=analyst,
    )
    batches.batch_approve(batch=batch, actor=director, note="卡部奖励清单已核对")
    batches.batch_run_start(batch=batch, actor=director, enqueue=lambda _pk: None)
    batches.batch_run_process(batch_id=batch.pk)
    this_month = _period(today, 0)
    adjustments = [
        (number, rng.choice(ADJUSTMENTS), f"ATM{this_month.replace('-', '')}{n:03d}")
        for n, number in enumerate(rng.sample(cards, 6), start=1)
    ]
    adjustments.append(("6228480199999999", "300.00", f"ATM{this_month.replace('-', '')}007"))  # no such card
    batches.batch_upload(
        kind=Batch.Kind.ATM_ADJUSTMENT,
        period=this_month,
        file=_csv(adjustments),
        file_name=f"atm_adjustment_{this_month}.csv",
        actor=analyst,
    )
    return 2
