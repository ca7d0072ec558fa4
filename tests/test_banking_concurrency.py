"""The ledger under real concurrency on PostgreSQL: parallel connections from threads, no mocks.

16 workers run 5,000 transfers (plus 30% resubmissions with the same key, a quarter of them with a
changed amount) over 20 accounts: 5 customers with 4 accounts each and two registrations per
customer (each card registered, every other account of the customer linked under both), so the
same rows are reached under different registration locks and in opposing directions. A verbal
loss report races the transfers, and 20 parallel wrong passwords hit one registration.

Replay a failure with ``BANKING_CONCURRENCY_SEED=<seed>`` (the seed is logged and is in every
assertion message; the operations are the same, the interleaving is up to the scheduler).
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from random import Random

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from banking.models import (
    Account,
    AccountEvent,
    LedgerTransaction,
    LinkedAccount,
    LossReport,
    PhoneBankingRegistration,
    Posting,
)
from banking.money import fen_to_yuan
from banking.services.loss_reports import loss_report_register
from banking.services.passwords import password_verify
from banking.services.transfers import transfer_execute
from core.errors import DomainError
from tests.factories import UnitFactory
from tests.factories_banking import AccountFactory, CustomerFactory, PassbookFactory, RegistrationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
logger = logging.getLogger(__name__)

WORKERS = 16
TRANSFERS = int(os.environ.get("BANKING_CONCURRENCY_TRANSFERS", "5000"))
RESUBMIT_SHARE = 0.30
CHANGED_SHARE = 0.25  # of the resubmissions
CUSTOMERS = 5
OPENING_FEN = 200_000  # 2,000.00 per account; amounts up to 300.00, so some transfers overdraw
PASSWORD_THREADS = 20
LOSS_AFTER_SHARE = 0.4  # the loss report fires when this share of the operations is done
WRONG_PIN = "000000"


@dataclass(frozen=True)
class Op:
    key: str
    registration_id: int
    source_id: int
    target_id: int
    amount_fen: int
    resubmission: bool = False


def _seed() -> int:
    return int(os.environ.get("BANKING_CONCURRENCY_SEED") or time.time_ns() % 2**32)


def _build_ledger() -> tuple[dict[int, list[int]], list[list[int]], int]:
    """Customers' accounts and registrations; returns (registration → its accounts, accounts per
    customer, the password-test registration id)."""
    unit = UnitFactory(code="B01")
    allowed: dict[int, list[int]] = {}
    groups = []
    for _ in range(CUSTOMERS):
        customer = CustomerFactory(home_unit=unit)
        cards = [AccountFactory(customer=customer, opening_fen=OPENING_FEN) for _ in range(2)]
        books = [PassbookFactory(customer=customer, opening_fen=OPENING_FEN) for _ in range(2)]
        accounts = cards + books
        groups.append([account.pk for account in accounts])
        for card in cards:
            registration = RegistrationFactory(account=card)
            others = [account for account in accounts if account.pk != card.pk]
            for code, account in enumerate(others, start=1):
                LinkedAccount.objects.create(registration=registration, account=account, code=f"{code:02d}")
            allowed[registration.pk] = [account.pk for account in accounts]
    password_registration = RegistrationFactory(account=AccountFactory(customer=CustomerFactory(home_unit=unit)))
    return allowed, groups, password_registration.pk


def _operations(rng: Random, seed: int, allowed: dict[int, list[int]]) -> list[Op]:
    """Originals in order; each resubmission placed a few slots after its original, so the two
    run at about the same time on different workers."""
    registrations = sorted(allowed)
    originals = []
    for index in range(TRANSFERS):
        registration_id = rng.choice(registrations)
        source_id, target_id = rng.sample(allowed[registration_id], 2)
        originals.append(Op(f"s{seed}-t{index}", registration_id, source_id, target_id, rng.randint(1, 30_000)))
    slots = [(index, 0, op) for index, op in enumerate(originals)]
    for index in rng.sample(range(TRANSFERS), int(TRANSFERS * RESUBMIT_SHARE)):
        original = originals[index]
        amount = original.amount_fen + 1 if rng.random() < CHANGED_SHARE else original.amount_fen
        repeat = Op(original.key, original.registration_id, original.source_id, original.target_id, amount, True)
        slots.append((index + rng.randint(0, 2 * WORKERS), 1, repeat))
    slots.sort(key=lambda slot: (slot[0], slot[1]))
    return [op for _, _, op in slots]


class Run:
    """Results collected from the threads (list.append is atomic under the GIL)."""

    def __init__(self, total: int):
        self.results: list[tuple[Op, str, int | None]] = []
        self.unexpected: list[str] = []
        self.passwords: list[str] = []
        self.loss_report_id: int | None = None
        self.done = 0
        self.total = total
        self.lock = threading.Lock()
        self.loss_due = threading.Event()
        self.passwords_due = threading.Event()

    def tick(self) -> None:
        with self.lock:
            self.done += 1
            if self.done >= self.total * LOSS_AFTER_SHARE:
                self.loss_due.set()
            if self.done >= self.total * 0.2:
                self.passwords_due.set()


def _transfer_worker(run: Run, ops: list[Op], start: threading.Barrier) -> None:
    try:
        registrations = {r.pk: r for r in PhoneBankingRegistration.objects.all()}
        accounts = {a.pk: a for a in Account.objects.filter(is_internal=False)}
        start.wait()
        for op in ops:
            try:
                txn = transfer_execute(
                    registration=registrations[op.registration_id],
                    from_account=accounts[op.source_id],
                    to_account=accounts[op.target_id],
                    amount=fen_to_yuan(op.amount_fen),
                    idempotency_key=op.key,
                    channel="ivr",
                    call_id=op.key,
                )
                run.results.append((op, "ok", txn.pk))
            except DomainError as exc:
                run.results.append((op, exc.code, None))
            except Exception as exc:  # a deadlock or serialization error reaching the caller is a failure
                run.unexpected.append(f"{op.key}: {exc.__class__.__name__}: {exc}")
            run.tick()
    except Exception as exc:
        run.unexpected.append(f"worker: {exc.__class__.__name__}: {exc}")
    finally:
        connection.close()


def _loss_report_worker(run: Run, account_id: int) -> None:
    try:
        run.loss_due.wait(timeout=300)
        report = loss_report_register(
            account=Account.objects.get(pk=account_id), verification="id_document", channel="agent", call_id="race"
        )
        run.loss_report_id = report.pk
    except Exception as exc:
        run.unexpected.append(f"loss report: {exc.__class__.__name__}: {exc}")
    finally:
        connection.close()


def _password_worker(run: Run, registration_id: int, start: threading.Barrier) -> None:
    try:
        registration = PhoneBankingRegistration.objects.get(pk=registration_id)
        run.passwords_due.wait(timeout=300)
        start.wait()
        try:
            ok = password_verify(registration=registration, password=WRONG_PIN, channel="ivr", call_id="pw")
            run.passwords.append("accepted" if ok else "wrong")
        except DomainError as exc:
            run.passwords.append(exc.code)
    except Exception as exc:
        run.unexpected.append(f"password: {exc.__class__.__name__}: {exc}")
    finally:
        connection.close()


def test_ledger_invariants_hold_under_parallel_transfers_loss_report_and_passwords(settings):
    settings.BANKING_DAILY_LIMIT_FEN = 10**12  # the daily limit would refuse most of a run this size
    seed = _seed()
    logger.warning("banking concurrency test: BANKING_CONCURRENCY_SEED=%s", seed)
    rng = Random(seed)
    allowed, groups, password_registration_id = _build_ledger()
    customer_ids = [pk for group in groups for pk in group]
    money_before = Account.objects.filter(pk__in=customer_ids).aggregate(total=Sum("balance_fen"))["total"]
    lost_id = groups[0][2]  # a passbook of the first customer, linked under both its registrations
    ops = _operations(rng, seed, allowed)
    run = Run(total=len(ops))
    start = threading.Barrier(WORKERS)
    password_start = threading.Barrier(PASSWORD_THREADS)
    threads = [threading.Thread(target=_transfer_worker, args=(run, ops[n::WORKERS], start)) for n in range(WORKERS)]
    threads.append(threading.Thread(target=_loss_report_worker, args=(run, lost_id)))
    threads += [
        threading.Thread(target=_password_worker, args=(run, password_registration_id, password_start))
        for _ in range(PASSWORD_THREADS)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.monotonic() - started
    logger.warning("%d transfer calls in %.1f s (%.0f/s), seed %s", len(ops), elapsed, len(ops) / elapsed, seed)
    why = f"(BANKING_CONCURRENCY_SEED={seed})"

    # Nothing but rule refusals reached a caller: no deadlock, no serialization failure, no crash.
    assert not any(thread.is_alive() for thread in threads), why
    assert run.unexpected == [], f"{run.unexpected[:5]} {why}"
    assert len(run.results) == len(ops), why
    outcomes = Counter(code for _, code, _ in run.results)
    assert set(outcomes) <= {"ok", "insufficient_funds", "idempotency_conflict", "account_lost"}, f"{outcomes} {why}"
    assert outcomes["ok"] > TRANSFERS // 2 and outcomes["idempotency_conflict"] > 0, f"{outcomes} {why}"

    # Total money unchanged, no negative balance, balances equal the postings.
    money_after = Account.objects.filter(pk__in=customer_ids).aggregate(total=Sum("balance_fen"))["total"]
    assert money_after == money_before, why
    assert not Account.objects.filter(is_internal=False, balance_fen__lt=0).exists(), why
    assert Account.objects.aggregate(total=Sum("balance_fen"))["total"] == 0, why

    # Each key posted at most once; every caller that got a result got the one posted for its key.
    transfers = LedgerTransaction.objects.filter(kind="transfer")
    assert not transfers.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1).exists(), why
    posted = {t.idempotency_key: t for t in transfers}
    by_key: dict[str, set[int]] = defaultdict(set)
    for op, code, txn_id in run.results:
        if code == "ok":
            by_key[op.key].add(txn_id)
            txn = posted[op.key]
            assert txn.pk == txn_id and txn.amount_fen == op.amount_fen, f"{op} {why}"
        elif code == "idempotency_conflict":
            assert op.key in posted and posted[op.key].amount_fen != op.amount_fen, f"{op} {why}"
    assert all(len(ids) == 1 for ids in by_key.values()), why
    assert set(by_key) == set(posted), why
    assert Posting.objects.filter(transaction__kind="transfer").count() == 2 * len(posted), why

    # No posting on the lost account after its loss report committed. Both a posting's and the
    # report's created_at are taken while holding that account's row lock (FOR UPDATE), and a row
    # lock is held until commit, so the lock intervals on the account are disjoint: a posting
    # that committed after the report must have taken the lock after the report's commit, hence
    # has a later timestamp (one host clock). Any such posting would show up here.
    assert run.loss_report_id is not None, why
    report = LossReport.objects.get(pk=run.loss_report_id)
    assert Account.objects.get(pk=lost_id).status == "verbally_lost", why
    lost_postings = Posting.objects.filter(account_id=lost_id).exclude(transaction__kind="opening")
    assert not lost_postings.filter(created_at__gt=report.created_at).exists(), why
    # ... and the race was real: transfers on it before the report, refusals after it.
    assert lost_postings.filter(created_at__lt=report.created_at).exists(), why
    refused_lost = [op for op, code, _ in run.results if code == "account_lost"]
    assert refused_lost and all(lost_id in (op.source_id, op.target_id) for op in refused_lost), why

    # Parallel wrong passwords: exactly the limit counted, locked by exactly one of them.
    limit = settings.BANKING_PASSWORD_MAX_ATTEMPTS
    assert Counter(run.passwords) == {"wrong": limit - 1, "locked": PASSWORD_THREADS - limit + 1}, why
    registration = PhoneBankingRegistration.objects.get(pk=password_registration_id)
    assert registration.locked and registration.failed_attempts == limit, why
    events = Counter(AccountEvent.objects.filter(account_id=registration.account_id).values_list("kind", flat=True))
    assert events["password_failed"] == limit - 1 and events["registration_locked"] == 1, why

    out = io.StringIO()
    call_command("ledger_check", stdout=out)  # exits 1 on any difference
    assert out.getvalue().startswith("ledger OK"), why
