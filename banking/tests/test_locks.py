"""Row locks in primary-key order, the deadlock retry, and the same-key race; on PostgreSQL with
real parallel connections."""

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from banking import errors, locks
from banking.models import Account, LedgerTransaction, Posting
from banking.services import ledger, passwords, transfers
from tests.factories_banking import AccountFactory, phone_banking

pytestmark = pytest.mark.django_db


def test_lock_accounts_returns_fresh_rows_by_id(db):
    first, second = AccountFactory(opening_fen=5), AccountFactory()
    Account.objects.filter(pk=first.pk).update(status="frozen")
    with transaction.atomic():
        rows = locks.lock_accounts(second.pk, first.pk, second.pk)
    assert list(rows) == sorted([first.pk, second.pk])
    assert rows[first.pk].status == "frozen" and rows[first.pk].balance_fen == 5


def test_lock_accounts_refuses_a_missing_account(db):
    with pytest.raises(errors.AccountNotFound), transaction.atomic():
        locks.lock_accounts(AccountFactory().pk, 987654)


def test_lock_accounts_brings_the_sms_notice_along(db):
    pb = phone_banking(sms_notice=True)
    with transaction.atomic():
        rows = locks.lock_accounts(pb.card.pk, pb.linked[0].pk)
    assert rows[pb.card.pk].notice_phone == pb.customer.mobile and rows[pb.card.pk].notice_active
    assert rows[pb.linked[0].pk].notice_phone is None


def test_transaction_insert_names_every_column_of_the_model():
    """The hot path inserts ledger rows in SQL; a new model field must be added there too."""
    columns = {field.column for field in LedgerTransaction._meta.concrete_fields if not field.primary_key}
    sql = ledger._SQL_TRANSACTION_INSERT
    assert all(column in sql for column in columns), columns
    assert {field.column for field in Posting._meta.concrete_fields if not field.primary_key} == {
        "transaction_id",
        "account_id",
        "amount_fen",
        "balance_after_fen",
        "created_at",
    }


class FakeDeadlock(Exception):
    sqlstate = "40P01"


def test_retryable_errors_are_recognised_through_the_wrapper():
    wrapped = OperationalError("deadlock detected")
    wrapped.__cause__ = FakeDeadlock()
    assert locks.is_retryable(wrapped)
    assert not locks.is_retryable(OperationalError("connection refused"))


@pytest.mark.django_db(transaction=True)
def test_retry_runs_the_transaction_again_after_a_deadlock(db):
    calls = []

    @locks.retry_on_conflict
    def flaky():
        calls.append(1)
        if len(calls) < 3:
            error = OperationalError("deadlock detected")
            error.__cause__ = FakeDeadlock()
            raise error
        return "done"

    assert flaky() == "done" and len(calls) == 3


def test_retry_inside_an_enclosing_transaction_leaves_it_to_the_owner(db):
    calls = []

    @locks.retry_on_conflict
    def flaky():
        calls.append(1)
        error = OperationalError("deadlock detected")
        error.__cause__ = FakeDeadlock()
        raise error

    with pytest.raises(OperationalError), transaction.atomic():
        flaky()
    assert len(calls) == 1


def test_a_same_key_request_that_lost_the_race_returns_the_winners_transaction(pb, monkeypatch):
    """Simulates the window in which two requests with one key both saw no transaction: the
    second one's insert hits the unique key, its savepoint rolls back, and it answers with the
    committed transaction (or a conflict when its parameters differ)."""
    first = transfers.transfer_execute(
        registration=pb.registration,
        from_account=pb.card,
        to_account=pb.linked[0],
        amount="10",
        idempotency_key="race",
        channel="ivr",
    )
    real_replay, blind = ledger.replayed_transaction, {"calls": 0}

    def replay_blind_once(key, fingerprint, *, pk=None):
        # The lock-free first look misses the winner; the look after the insert failed sees it.
        blind["calls"] += 1
        return None if blind["calls"] <= 1 else real_replay(key, fingerprint, pk=pk)

    monkeypatch.setattr(transfers, "replayed_transaction", replay_blind_once)
    monkeypatch.setattr(ledger, "replayed_transaction", replay_blind_once)
    # ... and so does the look under the locks.
    monkeypatch.setattr(
        transfers,
        "_SQL_KEY_AND_DAILY_TOTAL",
        transfers._SQL_KEY_AND_DAILY_TOTAL.replace("= %s THEN id", "= %s AND 1 = 0 THEN id"),
    )
    again = transfers.transfer_execute(
        registration=pb.registration,
        from_account=pb.card,
        to_account=pb.linked[0],
        amount="10",
        idempotency_key="race",
        channel="ivr",
    )
    assert again.pk == first.pk and again.replayed
    blind["calls"] = 0
    with pytest.raises(errors.IdempotencyConflict):
        transfers.transfer_execute(
            registration=pb.registration,
            from_account=pb.card,
            to_account=pb.linked[0],
            amount="11",
            idempotency_key="race",
            channel="ivr",
        )
    assert LedgerTransaction.objects.filter(idempotency_key="race").count() == 1
    assert Account.objects.get(pk=pb.linked[0].pk).balance_fen == 100_000 + 1000


# --- PostgreSQL: real parallel connections -----------------------------------------------------


def _in_thread(target, *args):
    errors_seen = []

    def run():
        try:
            target(*args)
        except Exception as exc:  # reported to the test thread
            errors_seen.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors_seen


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_lock_accounts_waits_for_the_holder_and_then_sees_its_commit(db):
    account = AccountFactory(opening_fen=100)
    held = threading.Event()

    def holder():
        with transaction.atomic():
            locks.lock_accounts(account.pk)
            held.set()
            time.sleep(0.5)
            Account.objects.filter(pk=account.pk).update(status="frozen")

    thread, seen = _in_thread(holder)
    held.wait(5)
    started = time.monotonic()
    with transaction.atomic():
        row = locks.lock_accounts(account.pk)[account.pk]
    waited = time.monotonic() - started
    thread.join()
    assert seen == [] and waited >= 0.3 and row.status == "frozen"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_lock_registration_serializes_password_checks(db):
    pb = phone_banking()
    held = threading.Event()

    def holder():
        with transaction.atomic():
            locks.lock_registration(pb.registration.pk)
            held.set()
            time.sleep(0.5)

    thread, seen = _in_thread(holder)
    held.wait(5)
    started = time.monotonic()
    assert passwords.password_verify(registration=pb.registration, password="000000", channel="ivr") is False
    waited = time.monotonic() - started
    thread.join()
    assert seen == [] and waited >= 0.3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_is_retried_and_never_reaches_the_caller(db):
    """Two transactions lock two rows in opposite orders (what lock_accounts prevents); PostgreSQL
    aborts one as the deadlock victim and retry_on_conflict runs it again."""
    first, second = AccountFactory(), AccountFactory()
    both_hold_one = threading.Barrier(2)
    attempts = []

    @locks.retry_on_conflict
    @transaction.atomic
    def lock_in_order(a, b):
        attempts.append(a)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM banking_account WHERE id = %s FOR UPDATE", [a])
            if len(attempts) <= 2:
                both_hold_one.wait(5)
            cursor.execute("SELECT id FROM banking_account WHERE id = %s FOR UPDATE", [b])

    thread, seen = _in_thread(lock_in_order, first.pk, second.pk)
    try:
        lock_in_order(second.pk, first.pk)
    finally:
        thread.join()
    assert seen == [] and len(attempts) == 3  # one of the two ran twice


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_key_raced_by_different_registrations_posts_once(db):
    """Eight callers (different registrations, so no shared lock) send one key at once: exactly one
    transfer posts; every other caller is told the key is taken with other parameters."""
    callers = [phone_banking(card_fen=10_000) for _ in range(8)]
    start = threading.Barrier(len(callers))
    outcomes = []

    def send(pb):
        start.wait(5)
        try:
            transfers.transfer_execute(
                registration=pb.registration,
                from_account=pb.card,
                to_account=pb.linked[0],
                amount="1",
                idempotency_key="shared-key",
                channel="ivr",
            )
            outcomes.append("ok")
        except errors.IdempotencyConflict:
            outcomes.append("conflict")

    threads = [_in_thread(send, pb) for pb in callers]
    for thread, seen in threads:
        thread.join()
        assert seen == []
    assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]
    assert LedgerTransaction.objects.filter(idempotency_key="shared-key").count() == 1
    assert Posting.objects.filter(transaction__idempotency_key="shared-key").count() == 2
