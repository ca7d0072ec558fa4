"""The ledger: double entry in fen, postings never changed, balances equal the sum of postings,
``ledger_check`` proves it; on PostgreSQL the database itself refuses changes and unbalanced
transactions."""

import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.models import Sum

from audit.models import AppendOnlyError
from banking import errors
from banking.events import account_event_record
from banking.models import Account, AccountEvent, LedgerTransaction, Posting
from banking.services.accounts import internal_account
from banking.services.ledger import ledger_post
from banking.services.transfers import transfer_execute
from tests.factories_banking import AccountFactory, PassbookFactory, phone_banking

pytestmark = pytest.mark.django_db


def posted_sum(account) -> int:
    return Posting.objects.filter(account=account).aggregate(total=Sum("amount_fen"))["total"] or 0


def run_ledger_check() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ledger_check", stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def busy_ledger(pb):
    """A few transfers, a batch credit and an adjustment."""
    for n in range(5):
        transfer_execute(
            registration=pb.registration,
            from_account=pb.card if n % 2 == 0 else pb.linked[0],
            to_account=pb.linked[0] if n % 2 == 0 else pb.card,
            amount=f"{n + 1}.25",
            idempotency_key=f"t{n}",
            channel="ivr",
        )
    suspense = internal_account("SUSPENSE")
    ledger_post(
        kind="batch_credit",
        lines=[(suspense, -3000), (pb.card, 1000), (pb.linked[1], 2000)],
        idempotency_key="batch-1:1",
        channel="batch",
        memo="POS中奖",
    )
    ledger_post(kind="adjustment", lines=[(pb.card, -500), (suspense, 500)], channel="agent", memo="ATM错账")
    account_event_record(
        account=pb.card, kind="status_changed", before={"status": "active"}, after={"status": "active"}
    )
    return pb


def test_every_transaction_sums_to_zero(busy_ledger):
    totals = LedgerTransaction.objects.annotate(total=Sum("postings__amount_fen")).values_list("total", flat=True)
    assert len(totals) == 5 + 2 + 2  # transfers, batch + adjustment, openings (card, passbook 01)
    assert set(totals) == {0}


def test_balance_equals_the_sum_of_postings(busy_ledger):
    for account in Account.objects.all():
        assert account.balance_fen == posted_sum(account), account.number
    assert Account.objects.aggregate(total=Sum("balance_fen"))["total"] == 0  # double entry: all money has a source


def test_balance_after_is_the_running_balance(busy_ledger):
    running = 0
    for posting in Posting.objects.filter(account=busy_ledger.card).order_by("id"):
        running += posting.amount_fen
        assert posting.balance_after_fen == running


def test_opening_balance_is_posted_against_the_internal_opening_account(pb):
    opening = Account.objects.get(number="INT-OPENING")
    assert opening.is_internal and opening.balance_fen == -(5_000_000 + 100_000)
    txn = LedgerTransaction.objects.filter(kind="opening", postings__account=pb.card).get()
    assert txn.amount_fen == 5_000_000 and txn.channel == "system"


def test_internal_accounts_may_go_negative_customer_accounts_may_not(db):
    customer_account = AccountFactory(opening_fen=100)
    suspense = internal_account("SUSPENSE")
    ledger_post(kind="batch_credit", lines=[(suspense, -100), (customer_account, 100)], channel="batch")
    assert Account.objects.get(pk=suspense.pk).balance_fen == -100
    with pytest.raises(errors.InsufficientFunds):
        ledger_post(kind="adjustment", lines=[(customer_account, -201), (suspense, 201)], channel="agent")
    assert Account.objects.get(pk=customer_account.pk).balance_fen == 200


@pytest.mark.parametrize(
    "amounts",
    [[100, -99], [100], [0, 0], [100, -100, 0], [1.5, -1.5], [True, -1]],
    ids=["unbalanced", "one line", "zeros", "zero line", "float", "bool"],
)
def test_ledger_post_refuses_lines_that_are_not_a_balanced_set_of_fen(db, amounts):
    accounts = [internal_account(f"T{n}") for n in range(len(amounts))]
    with pytest.raises(errors.UnbalancedTransaction):
        ledger_post(kind="adjustment", lines=list(zip(accounts, amounts, strict=True)), channel="system")
    assert not LedgerTransaction.objects.exists()


def test_ledger_post_is_idempotent_by_key(db):
    account = AccountFactory()
    suspense = internal_account("SUSPENSE")
    first = ledger_post(
        kind="batch_credit", lines=[(suspense, -100), (account, 100)], idempotency_key="b:1", channel="batch"
    )
    again = ledger_post(
        kind="batch_credit", lines=[(account, 100), (suspense, -100)], idempotency_key="b:1", channel="batch"
    )
    assert again.pk == first.pk and Account.objects.get(pk=account.pk).balance_fen == 100
    with pytest.raises(errors.IdempotencyConflict):
        ledger_post(
            kind="batch_credit", lines=[(suspense, -101), (account, 101)], idempotency_key="b:1", channel="batch"
        )


def test_ledger_post_refuses_a_lost_customer_account(db):
    account = AccountFactory(status=Account.Status.VERBALLY_LOST)
    with pytest.raises(errors.AccountLost):
        ledger_post(kind="batch_credit", lines=[(internal_account("SUSPENSE"), -1), (account, 1)], channel="batch")


def test_database_refuses_a_negative_customer_balance(pb):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE banking_account SET balance_fen = -1 WHERE id = %s", [pb.card.pk])


def test_ledger_check_passes_on_a_clean_ledger(busy_ledger):
    code, out, err = run_ledger_check()
    accounts, transactions = Account.objects.count(), LedgerTransaction.objects.count()
    assert code == 0 and err == ""
    assert out.strip() == f"ledger OK: {accounts} accounts, {transactions} transactions"


def test_ledger_check_fails_when_a_balance_is_tampered_with(busy_ledger):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE banking_account SET balance_fen = balance_fen + 1 WHERE id = %s", [busy_ledger.card.pk])
    code, out, err = run_ledger_check()
    assert code == 1 and "ledger OK" not in out
    assert f"account {busy_ledger.card.pk}: balance" in err


@pytest.mark.skipif("connection.vendor == 'postgresql'", reason="the database refuses the tampering itself")
def test_ledger_check_fails_on_an_unbalanced_transaction(busy_ledger):
    txn = LedgerTransaction.objects.filter(kind="transfer").first()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO banking_posting (transaction_id, account_id, amount_fen, balance_after_fen, created_at) "
            "SELECT %s, %s, 7, 0, created_at FROM banking_ledgertransaction WHERE id = %s",
            [txn.pk, internal_account("SUSPENSE").pk, txn.pk],
        )
    code, _out, err = run_ledger_check()
    assert code == 1 and f"transaction {txn.pk}:" in err


def test_postings_and_transactions_refuse_python_updates_and_deletes(busy_ledger):
    posting = Posting.objects.first()
    txn = posting.transaction
    posting.amount_fen = 1
    for attempt in (
        posting.save,
        posting.delete,
        txn.save,
        txn.delete,
        lambda: Posting.objects.filter(pk=posting.pk).update(amount_fen=1),
        lambda: Posting.objects.all().delete(),
        lambda: LedgerTransaction.objects.update(memo="x"),
        lambda: AccountEvent.objects.all().delete(),
    ):
        with pytest.raises(AppendOnlyError):
            attempt()
    assert Posting.objects.get(pk=posting.pk).amount_fen != 1


# --- PostgreSQL: the database enforces it too ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE banking_posting SET amount_fen = amount_fen + 1",
        "DELETE FROM banking_posting",
        "UPDATE banking_ledgertransaction SET memo = 'x'",
        "DELETE FROM banking_ledgertransaction",
        "UPDATE banking_accountevent SET kind = 'x'",
        "DELETE FROM banking_accountevent",
    ],
)
def test_database_refuses_changes_to_ledger_rows(busy_ledger, statement):
    before = (Posting.objects.count(), LedgerTransaction.objects.count(), AccountEvent.objects.count())
    assert 0 not in before
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert (Posting.objects.count(), LedgerTransaction.objects.count(), AccountEvent.objects.count()) == before


def _unbalanced_transaction(account, amounts):
    txn = LedgerTransaction.objects.create(kind="adjustment", amount_fen=100, channel="system")
    for amount in amounts:
        Posting.objects.create(transaction=txn, account=account, amount_fen=amount, balance_after_fen=0)
    return txn


@pytest.mark.postgres
@pytest.mark.parametrize("amounts", [[100, -99], [100], []], ids=["unbalanced", "one posting", "no posting"])
def test_database_refuses_an_unbalanced_transaction_at_commit(db, amounts):
    suspense = internal_account("SUSPENSE")
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        _unbalanced_transaction(suspense, amounts)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT does with deferred triggers
    assert not LedgerTransaction.objects.exists()


@pytest.mark.postgres
def test_database_refuses_a_posting_added_later_to_a_balanced_transaction(busy_ledger):
    txn = LedgerTransaction.objects.filter(kind="transfer").first()
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        Posting.objects.create(transaction=txn, account=busy_ledger.card, amount_fen=5, balance_after_fen=0)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_commit_of_an_unbalanced_transaction_fails(db):
    suspense = internal_account("SUSPENSE")
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic():
            _unbalanced_transaction(suspense, [100, -99])
    assert not LedgerTransaction.objects.exists()
    ledger_post(kind="adjustment", lines=[(suspense, -1), (internal_account("SETTLEMENT"), 1)], channel="system")
    assert LedgerTransaction.objects.count() == 1  # a balanced one commits


def test_the_same_account_twice_in_one_transaction_keeps_a_running_balance(db):
    account = PassbookFactory(opening_fen=1000)
    suspense = internal_account("SUSPENSE")
    ledger_post(kind="batch_credit", lines=[(suspense, -300), (account, 100), (account, 200)], channel="batch")
    balances = list(Posting.objects.filter(account=account).order_by("id").values_list("balance_after_fen", flat=True))
    assert balances == [1000, 1100, 1300]
    assert run_ledger_check()[0] == 0


def test_phone_banking_fixture_leaves_a_clean_ledger(db):
    phone_banking()
    assert run_ledger_check()[0] == 0
