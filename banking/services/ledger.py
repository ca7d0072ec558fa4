"""The double-entry ledger: postings under an idempotency key, balances and the transaction SMS notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, overload

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications import texts

from .. import errors, sms_texts
from ..locks import lock_accounts, retry_on_conflict
from ..models import Account, LedgerTransaction, PhoneBankingRegistration, Posting, SmsNoticeSubscription
from .common import Actor, ensure_active, params_fingerprint, user_or_none, validate_choice

IDEMPOTENCY_KEY_MAX = 100


# --- the ledger -----------------------------------------------------------------------------------

# The Python transfer path in plain SQL (standard SQL: PostgreSQL and SQLite alike; PostgreSQL runs
# transfers in its function, but the differential test runs this path there too): the ORM's query
# compilation cost several times the database's own work per transfer.
_SQL_KEY_LOOKUP = "SELECT id FROM banking_ledgertransaction WHERE idempotency_key = %s"
_SQL_TRANSACTION_INSERT = """
    INSERT INTO banking_ledgertransaction (kind, idempotency_key, request_fingerprint, registration_id, amount_fen,
                                           channel, call_id, initiated_by_id, memo, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
"""


def replayed_transaction(
    idempotency_key: str | None, fingerprint: str, *, pk: int | None = None
) -> LedgerTransaction | None:
    """The transaction already posted under ``idempotency_key`` (or with id ``pk``), if its
    parameters match; ``IdempotencyConflict`` if they do not."""
    if not idempotency_key:
        return None
    if pk is None:
        with connection.cursor() as cursor:
            cursor.execute(_SQL_KEY_LOOKUP, [idempotency_key])
            row = cursor.fetchone()
        if row is None:
            return None
        pk = row[0]
    existing = LedgerTransaction.objects.get(pk=pk)
    if existing.request_fingerprint != fingerprint:
        raise errors.IdempotencyConflict()
    existing.replayed = True
    return existing


def answer_from_winner(idempotency_key: str | None, fingerprint: str, exc: IntegrityError) -> LedgerTransaction:
    """After an ``IntegrityError``: if a concurrent request with the same key committed first (our
    insert waited for it, then hit the unique constraint and the transaction rolled back), its
    transaction is the answer. Anything else is re-raised."""
    replay = replayed_transaction(idempotency_key, fingerprint)
    if replay is None:
        raise exc
    return replay


@overload
def validate_idempotency_key(key: Any, *, required: Literal[True]) -> str: ...
@overload
def validate_idempotency_key(key: Any, *, required: bool) -> str | None: ...
def validate_idempotency_key(key: Any, *, required: bool) -> str | None:
    if key is None or key == "":
        if required:
            raise errors.InvalidInput(_("An idempotency key is required."))
        return None
    if not isinstance(key, str) or len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise errors.InvalidInput(
            _("The idempotency key must be printable text of at most %(max)d characters.")
            % {"max": IDEMPOTENCY_KEY_MAX}
        )
    return key


def _normalize_lines(lines: list[tuple[Account, int]]) -> list[tuple[int, int]]:
    normalized = []
    for account, amount in lines:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            raise errors.UnbalancedTransaction(_("Every posting amount is a non-zero integer number of fen."))
        normalized.append((account.pk, amount))
    if len(normalized) < 2 or sum(amount for _id, amount in normalized) != 0:
        raise errors.UnbalancedTransaction()
    return normalized


def write_transaction(
    *,
    kind: str,
    lines: list[tuple[int, int]],
    accounts: dict[int, Account],
    idempotency_key: str | None,
    fingerprint: str,
    channel: str,
    memo: str,
    actor: Actor,
    call_id: str,
    registration: PhoneBankingRegistration | None = None,
    posted_at: datetime | None = None,
) -> LedgerTransaction:
    """Post ``lines`` on ``accounts`` (already locked and checked): the transaction row (whose
    unique key makes a concurrent duplicate fail), the postings with their running balances, the
    new balances and the SMS notices."""
    # Taken after the locks: a posting's time is inside its accounts' lock interval, which the
    # concurrency test relies on to prove no posting follows a committed loss report.
    now = posted_at or timezone.now()
    balances = {pk: account.balance_fen for pk, account in accounts.items()}
    planned = []
    for account_id, amount in lines:
        balances[account_id] += amount
        if balances[account_id] < 0 and not accounts[account_id].is_internal:
            raise errors.InsufficientFunds()
        planned.append((account_id, amount, balances[account_id]))
    txn = LedgerTransaction(
        kind=kind,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        registration=registration,
        amount_fen=sum(amount for _id, amount in lines if amount > 0),
        channel=channel,
        call_id=call_id[:128],
        initiated_by=user_or_none(actor),
        memo=memo[:200],
        created_at=now,
    )
    postings = [
        Posting(transaction=txn, account_id=account_id, amount_fen=amount, balance_after_fen=balance, created_at=now)
        for account_id, amount, balance in planned
    ]
    _ledger_rows_insert(txn, postings)
    changed = [account for pk, account in accounts.items() if balances[pk] != account.balance_fen]
    for account in changed:
        account.balance_fen = balances[account.pk]
    _balances_set(changed)
    if posted_at is None:  # loading history must not text customers about the past
        _transaction_notices_enqueue(txn=txn, postings=postings, accounts=accounts)
    txn.replayed = False
    return txn


def _ledger_rows_insert(txn: LedgerTransaction, postings: list[Posting], chunk: int = 500) -> None:
    """Insert the transaction row and its postings, setting their ids (the ORM's ``save`` and
    ``bulk_create`` do the same at several times the CPU cost; every posting's path, and every
    transfer's on SQLite)."""
    if not connection.features.can_return_rows_from_bulk_insert:  # SQLite before 3.35
        txn.save()
        Posting.objects.bulk_create(postings)
        return
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _SQL_TRANSACTION_INSERT,
            [
                txn.kind,
                txn.idempotency_key,
                txn.request_fingerprint,
                txn.registration_id,
                txn.amount_fen,
                txn.channel,
                txn.call_id,
                txn.initiated_by_id,
                txn.memo,
                adapt(txn.created_at),
            ],
        )
        txn.pk = cursor.fetchone()[0]
        txn._state.adding, txn._state.db = False, connection.alias
        for start in range(0, len(postings), chunk):
            part = postings[start : start + chunk]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
            params = [
                value
                for posting in part
                for value in (
                    txn.pk,
                    posting.account_id,
                    posting.amount_fen,
                    posting.balance_after_fen,
                    adapt(posting.created_at),
                )
            ]
            cursor.execute(
                "INSERT INTO banking_posting (transaction_id, account_id, amount_fen, balance_after_fen, created_at) "  # noqa: S608
                f"VALUES {values} RETURNING id",
                params,
            )
            # Rows come back in VALUES order on both databases (Django's bulk_create relies on it too).
            for posting, (pk,) in zip(part, cursor.fetchall(), strict=True):
                posting.pk, posting.transaction_id = pk, txn.pk
                posting._state.adding, posting._state.db = False, connection.alias


def _balances_set(accounts: list[Account], chunk: int = 500) -> None:
    """Write the new balances, one statement per ``chunk`` accounts (one for a transfer)."""
    for start in range(0, len(accounts), chunk):
        part = accounts[start : start + chunk]
        cases = " ".join(["WHEN %s THEN %s"] * len(part))
        ids = ", ".join(["%s"] * len(part))
        sql = f"UPDATE banking_account SET balance_fen = CASE id {cases} END WHERE id IN ({ids})"  # noqa: S608
        params = [value for account in part for value in (account.pk, account.balance_fen)]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *(account.pk for account in part)])


def _notice_phone(account: Account) -> str | None:
    """The phone of the account's active SMS notice (``lock_accounts`` has fetched it already)."""
    if not account.is_debit_main_card:
        return None
    if hasattr(account, "notice_active"):
        return account.notice_phone if account.notice_active else None
    subscription = SmsNoticeSubscription.objects.filter(account_id=account.pk, active=True).first()
    return subscription.phone if subscription else None


def _transaction_notices_enqueue(
    *, txn: LedgerTransaction, postings: list[Posting], accounts: dict[int, Account]
) -> None:
    """One outbox SMS per posting on a debit main card with an active SMS notice subscription
    (the template's text read once for the batch)."""
    template = None
    for posting in postings:
        account = accounts[posting.account_id]
        phone = _notice_phone(account)
        if not phone:
            continue
        if template is None:
            template = texts.current_text(sms_texts.TRANSACTION_NOTICE_SPEC.key)
        texts.enqueue(
            key=sms_texts.TRANSACTION_NOTICE_SPEC.key,
            phone=phone,
            values=sms_texts.transaction_notice_values(
                account=account,
                transfer=txn.kind == LedgerTransaction.Kind.TRANSFER,
                amount_fen=posting.amount_fen,
                balance_fen=posting.balance_after_fen,
                at=posting.created_at,
            ),
            text=template,
            related_posting_id=posting.pk,
            created_at=posting.created_at,  # as the database function does
        )


def ledger_post(
    *,
    kind: str,
    lines: list[tuple[Account, int]],
    idempotency_key: str | None = None,
    channel: str,
    memo: str = "",
    actor: Actor = None,
    call_id: str = "",
    posted_at: datetime | None = None,
) -> LedgerTransaction:
    """Post a balanced transaction: ``lines`` are ``(account, signed fen)`` and must sum to zero.

    Accounts are locked in primary-key order; customer accounts must be active and may not go
    below zero, internal accounts may. With an ``idempotency_key``, a repeat with the same lines
    returns the first transaction and a repeat with other lines raises ``IdempotencyConflict``
    (also when the two race). ``posted_at`` backdates the postings: only for loading history in
    chronological order. One database transaction (a savepoint inside a caller's).
    """
    validate_choice(kind, LedgerTransaction.Kind.values, _("Unknown transaction kind."))
    validate_choice(channel, LedgerTransaction.Channel.values, _("Unknown channel."))
    key = validate_idempotency_key(idempotency_key, required=False)
    normalized = _normalize_lines(lines)
    fingerprint = params_fingerprint({"kind": kind, "lines": sorted(normalized)})
    try:
        return _ledger_post(
            kind=kind,
            lines=normalized,
            key=key,
            fingerprint=fingerprint,
            channel=channel,
            memo=memo,
            actor=actor,
            call_id=call_id,
            posted_at=posted_at,
        )
    except IntegrityError as exc:
        return answer_from_winner(key, fingerprint, exc)


@retry_on_conflict
@transaction.atomic
def _ledger_post(
    *,
    kind: str,
    lines: list[tuple[int, int]],
    key: str | None,
    fingerprint: str,
    channel: str,
    memo: str,
    actor: Actor,
    call_id: str,
    posted_at: datetime | None,
) -> LedgerTransaction:
    if (replay := replayed_transaction(key, fingerprint)) is not None:
        return replay
    accounts = lock_accounts(*(account_id for account_id, _amount in lines))
    if (replay := replayed_transaction(key, fingerprint)) is not None:
        return replay
    for account in accounts.values():
        if not account.is_internal:
            ensure_active(account)
    return write_transaction(
        kind=kind,
        lines=lines,
        accounts=accounts,
        idempotency_key=key,
        fingerprint=fingerprint,
        channel=channel,
        memo=memo,
        actor=actor,
        call_id=call_id,
        posted_at=posted_at,
    )
