"""Transfers between a caller's linked accounts: the verdict (``transfer_refusal``) and the posting,
in Python or in the PL/pgSQL function generated from ``banking.transfer_rules``."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.services import sms_deliver_after_commit

from .. import errors, sms_texts, transfer_rules
from ..locks import lock_accounts, lock_registration, retry_on_conflict
from ..models import Account, LedgerTransaction, PhoneBankingRegistration
from ..money import parse_amount
from ..transfer_rules import Facts, Stage
from .common import Actor, params_fingerprint, user_or_none, validate_choice
from .ledger import answer_from_winner, replayed_transaction, validate_idempotency_key, write_transaction

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_TRANSFER_MEMO = "电话银行转账"

_SQL_LINKED_ACCOUNTS = "SELECT account_id FROM banking_linkedaccount WHERE registration_id = %s"
_SQL_KEY_AND_DAILY_TOTAL = """
    SELECT MAX(CASE WHEN idempotency_key = %s THEN id END),
           SUM(CASE WHEN registration_id = %s AND kind = 'transfer' AND created_at >= %s THEN amount_fen END)
      FROM banking_ledgertransaction
     WHERE idempotency_key = %s OR (registration_id = %s AND kind = 'transfer' AND created_at >= %s)
"""


def _registration_account_ids(registration: PhoneBankingRegistration) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(_SQL_LINKED_ACCOUNTS, [registration.pk])
        return {registration.account_id, *(account_id for (account_id,) in cursor.fetchall())}


def _day_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment, SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


logger = logging.getLogger(__name__)


def transfer_refusal(
    *, registration: PhoneBankingRegistration | None, from_account: Account, to_account: Account | None = None
) -> str | None:
    """The code ``transfer_execute`` would refuse with, judged now on the rows as given (not
    locked), from the rules whose facts are known without an amount: ``not_registered``, then
    ``banking.transfer_rules.RULES`` in order (same account, not linked, registration locked,
    either side lost or blocked); ``None`` when none refuses yet. The IVR asks it before the
    caller keys in the amount; the transfer itself judges again on the locked rows."""
    if registration is None:
        return errors.NotRegistered.code
    facts = Facts(
        from_id=from_account.pk,
        registration_locked=registration.locked,
        source_status=from_account.status,
    )
    if to_account is not None:
        facts = dataclasses.replace(
            facts,
            to_id=to_account.pk,
            target_status=to_account.status,
            allowed_ids=frozenset(_registration_account_ids(registration)),
        )
    rule = transfer_rules.first_refusal(facts)
    return rule.error().code if rule is not None else None


def transfer_execute(
    *,
    registration: PhoneBankingRegistration,
    from_account: Account,
    to_account: Account,
    amount: str | Decimal,
    idempotency_key: str,
    channel: str,
    call_id: str = "",
    actor: Actor = None,
    memo: str = "",
) -> LedgerTransaction:
    """Move ``amount`` yuan between the registered account and one of its linked accounts (either
    direction, or between two linked accounts). One database transaction (a savepoint inside a
    caller's), retried as a whole if PostgreSQL picks it as a deadlock victim.

    Refusals, in order (after the arguments, ``banking.transfer_rules.RULES``):
    ``invalid_amount``, ``invalid_input`` (channel, key), ``not_registered``
    (no registration), a repeated key with other parameters (``idempotency_conflict``),
    ``same_account``, ``not_linked``, ``limit_exceeded`` (per transfer), ``locked``
    (registration), then on the locked rows ``account_lost`` / ``account_blocked`` (either side),
    ``limit_exceeded`` (daily, per registration, Asia/Shanghai day) and ``insufficient_funds``.

    A repeat with the same key and parameters returns the first transaction (its ``replayed``
    attribute is true) and posts nothing, whatever happened to the accounts since; two racing
    requests with one key post once and both get that transaction. A refused request stores
    nothing, so its repeat is judged afresh. The fingerprint covers what moves money
    (registration, accounts, amount), not the channel, call or memo.
    """
    amount_fen = parse_amount(amount)
    validate_choice(channel, LedgerTransaction.Channel.values, _("Unknown channel."))
    key = validate_idempotency_key(idempotency_key, required=True)
    if registration is None:
        raise errors.NotRegistered()
    fingerprint = params_fingerprint(
        {
            "kind": LedgerTransaction.Kind.TRANSFER,
            "registration": registration.pk,
            "from": from_account.pk,
            "to": to_account.pk,
            "amount_fen": amount_fen,
        }
    )
    # PostgreSQL runs the locked section as one function (generated from transfer_rules by
    # banking.transfer_sql, created by migration 0005: one round trip); other
    # databases (SQLite, the embedded default) run the same steps from Python.
    run = _transfer_in_database if connection.vendor == "postgresql" else _transfer_in_python
    try:
        txn, from_balance_fen, to_balance_fen = run(
            registration=registration,
            from_id=from_account.pk,
            to_id=to_account.pk,
            amount_fen=amount_fen,
            key=key,
            fingerprint=fingerprint,
            channel=channel,
            call_id=call_id,
            actor=actor,
            memo=memo or DEFAULT_TRANSFER_MEMO,
        )
    except IntegrityError as exc:
        return answer_from_winner(key, fingerprint, exc)
    if txn.replayed:
        return txn
    # Not a replay: the function / _transfer returned both new balances.
    from_account.balance_fen, to_account.balance_fen = cast(int, from_balance_fen), cast(int, to_balance_fen)
    logger.info(
        "transfer %s posted: account %s -> account %s, %s fen, channel %s, call %s",
        txn.pk,
        from_account.pk,
        to_account.pk,
        amount_fen,
        channel,
        call_id,
    )
    return txn


def _transfer_in_python(**kwargs: Any) -> tuple[LedgerTransaction, int | None, int | None]:
    txn, source, target = _transfer(**kwargs)
    if txn.replayed:
        return txn, None, None
    return txn, cast(Account, source).balance_fen, cast(Account, target).balance_fen  # both set unless replayed


_SQL_TRANSFER_FUNCTION = (
    "SELECT * FROM banking_transfer_execute(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_TRANSFER_COLUMNS = [
    "id",
    "kind",
    "idempotency_key",
    "request_fingerprint",
    "registration_id",
    "amount_fen",
    "channel",
    "call_id",
    "initiated_by_id",
    "memo",
    "created_at",
]


@retry_on_conflict
def _transfer_in_database(
    *,
    registration: PhoneBankingRegistration,
    from_id: int,
    to_id: int,
    amount_fen: int,
    key: str,
    fingerprint: str,
    channel: str,
    call_id: str,
    actor: Actor,
    memo: str,
) -> tuple[LedgerTransaction, int | None, int | None]:
    """``_transfer`` on PostgreSQL: the same steps, refusals and rows, in one statement (and so one
    transaction of its own when the caller has none; a savepoint inside a caller's)."""
    user = user_or_none(actor)
    # The application's clock is ``timezone.now`` (tests move it); the function reads the
    # database clock after taking its locks and shifts it by the same offset (normally zero).
    clock_offset = timezone.now() - datetime.now(tz=UTC)
    params: list[Any] = [
        registration.pk,
        registration.account_id,
        from_id,
        to_id,
        amount_fen,
        key,
        fingerprint,
        channel,
        call_id[:128],
        user.pk if user is not None else None,
        memo[:200],
        *(limit.value() for limit in transfer_rules.LIMITS),
        clock_offset,
        sms_texts.signature(),
        sms_texts.KIND_NAMES[Account.Kind.DEBIT_CARD],  # only debit main cards have SMS notice
    ]
    # Outside a transaction the statement is its own (autocommit: no BEGIN / COMMIT round trips).
    scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with scope, connection.cursor() as cursor:
        cursor.execute(_SQL_TRANSFER_FUNCTION, params)
        row = cursor.fetchone()
    outcome, *values, from_balance_fen, to_balance_fen, sms_ids = row
    if outcome in transfer_rules.REFUSALS:  # refused: nothing was written
        raise transfer_rules.REFUSALS[outcome]()
    # The notices the function queued go to delivery after the commit (the Python path's
    # ``sms_enqueue`` does the same), not 15 s later with the sweep.
    sms_deliver_after_commit(sms_ids or [])
    txn = LedgerTransaction.from_db(connection.alias, _TRANSFER_COLUMNS, values)
    txn.replayed = outcome == "replayed"
    if not txn.replayed:
        txn.registration = registration
        if user is not None:
            txn.initiated_by = user
    return txn, from_balance_fen, to_balance_fen


# The path of databases other than PostgreSQL. The rules are ``transfer_rules.RULES``, which the
# PL/pgSQL function ``banking_transfer_execute`` is generated from (``banking.transfer_sql``); the
# steps around them are the function's, and a differential test runs both on the same states.
@retry_on_conflict
@transaction.atomic
def _transfer(
    *,
    registration: PhoneBankingRegistration,
    from_id: int,
    to_id: int,
    amount_fen: int,
    key: str,
    fingerprint: str,
    channel: str,
    call_id: str,
    actor: Actor,
    memo: str,
) -> tuple[LedgerTransaction, Account | None, Account | None]:
    # Fast path for a resubmission, without taking any lock.
    if (replay := replayed_transaction(key, fingerprint)) is not None:
        return replay, None, None
    facts = Facts(
        from_id=from_id,
        to_id=to_id,
        allowed_ids=frozenset(_registration_account_ids(registration)),
        amount_fen=amount_fen,
        transfer_limit_fen=transfer_rules.PER_TRANSFER.value(),
        daily_limit_fen=transfer_rules.DAILY.value(),
    )
    transfer_rules.enforce(Stage.REQUEST, facts)

    # The registration lock serializes the daily-limit check of one registration.
    locked_registration = lock_registration(registration.pk)
    transfer_rules.enforce(
        Stage.REGISTRATION, dataclasses.replace(facts, registration_locked=locked_registration.locked)
    )
    accounts = lock_accounts(from_id, to_id)
    # One query: did a request with the same key commit while this one waited for the locks,
    # and how much has this registration transferred today?
    since = connection.ops.adapt_datetimefield_value(_day_start(timezone.now()))
    with connection.cursor() as cursor:
        cursor.execute(_SQL_KEY_AND_DAILY_TOTAL, [key, registration.pk, since, key, registration.pk, since])
        existing_id, spent = cursor.fetchone()
    if existing_id is not None:
        # A committed row with this key: never None (the key is not empty).
        return cast(LedgerTransaction, replayed_transaction(key, fingerprint, pk=existing_id)), None, None
    source, target = accounts[from_id], accounts[to_id]
    transfer_rules.enforce(
        Stage.ACCOUNTS,
        dataclasses.replace(
            facts,
            source_status=source.status,
            target_status=target.status,
            spent_today_fen=spent or 0,
            source_balance_fen=source.balance_fen,
        ),
    )
    txn = write_transaction(
        kind=LedgerTransaction.Kind.TRANSFER,
        lines=[(source.pk, -amount_fen), (target.pk, amount_fen)],
        accounts=accounts,
        idempotency_key=key,
        fingerprint=fingerprint,
        channel=channel,
        memo=memo,
        actor=actor,
        call_id=call_id,
        registration=locked_registration,
    )
    return txn, source, target
