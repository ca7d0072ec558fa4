"""Every write of the banking app (DESIGN.md §4 and §6 Banking).

Functions are keyword-only and run in one database transaction each; a broken rule raises a
``banking.errors`` domain error with a stable code. Money-moving and state-changing services lock
their rows through ``locks.py`` (registration first, then accounts in primary-key order), check
statuses and balances only after the locks are held, and are retried as a whole when PostgreSQL
picks them as a deadlock victim, so that error never reaches a caller.

Passwords and PINs are compared with Django's hashers and never logged, put in an event, an
exception message or an SMS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record
from contactcenter.errors import DomainError
from notifications.models import SmsOutbox
from notifications.services import sms_enqueue

from . import errors, sms_texts, transfer_rules
from .events import account_event_record
from .locks import lock_accounts, lock_registration, retry_on_conflict
from .models import (
    Account,
    Customer,
    LedgerTransaction,
    LinkedAccount,
    LossReport,
    PhoneBankingRegistration,
    Posting,
    SmsNoticeSubscription,
)
from .models import AccountEvent as Event
from .money import parse_amount
from .transfer_rules import BLOCKED_STATUSES, LOST_STATUSES, Facts, Stage

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PIN_PATTERN = re.compile(r"[0-9]{6}")
ACCOUNT_CODE_PATTERN = re.compile(r"0[1-9]|[1-9][0-9]")
ID_NUMBER_PATTERN = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
MOBILE_PATTERN = re.compile(r"[0-9]{7,20}")
CARD_NUMBER_PATTERN = re.compile(r"[0-9]{16,19}")
PASSBOOK_NUMBER_PATTERN = re.compile(r"[0-9]{8,32}")
INTERNAL_CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{1,27}")
IDEMPOTENCY_KEY_MAX = 100

OPENING_ACCOUNT_CODE = "OPENING"
DEFAULT_TRANSFER_MEMO = "电话银行转账"
OPENING_MEMO = "开户存入"


# --- helpers --------------------------------------------------------------------------------------


def _user_or_none(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _ensure_active(account: Account) -> None:
    """A lost, frozen or closed account can neither send nor receive (checked on locked rows)."""
    if account.status in LOST_STATUSES:
        raise errors.AccountLost()
    if account.status in BLOCKED_STATUSES:
        raise errors.AccountBlocked()


def _validate_choice(value: str, choices: Iterable[str], message: str) -> str:
    if value not in choices:
        raise errors.InvalidInput(message)
    return value


def _validate_pin(pin: Any, message: str) -> str:
    if not isinstance(pin, str) or not PIN_PATTERN.fullmatch(pin):
        raise errors.InvalidInput(message)
    return pin


def _fingerprint(parameters: dict[str, Any]) -> str:
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def id_number_normalize(id_number: str) -> str:
    return str(id_number).strip().upper()


def id_number_digest(id_number: str) -> str:
    """Keyed digest of a whole ID number: finds a customer by it without storing it.

    The key is ``BANKING_ID_DIGEST_KEY`` when set, else ``SECRET_KEY`` (rotating the secret key
    then needs the digests recomputed from the core system; set the dedicated key in production).
    """
    key = (getattr(settings, "BANKING_ID_DIGEST_KEY", "") or settings.SECRET_KEY).encode()
    return hmac.new(key, id_number_normalize(id_number).encode(), hashlib.sha256).hexdigest()


# --- customers, accounts, registrations -----------------------------------------------------------


@transaction.atomic
def customer_create(*, name: str, mobile: str, id_number: str, home_unit) -> Customer:
    """A customer; the ID number is kept only as a keyed digest and its last 6 characters."""
    id_number = id_number_normalize(id_number)
    if not ID_NUMBER_PATTERN.fullmatch(id_number):
        raise errors.InvalidInput(_("The ID number is not valid."))
    if not MOBILE_PATTERN.fullmatch(str(mobile)):
        raise errors.InvalidInput(_("The mobile number is not valid."))
    if not str(name).strip():
        raise errors.InvalidInput(_("The name is required."))
    digest = id_number_digest(id_number)
    if Customer.objects.filter(id_number_digest=digest).exists():
        raise errors.AlreadyExists(_("A customer with this ID number already exists."))
    return Customer.objects.create(
        name=str(name).strip(),
        mobile=str(mobile),
        id_number_digest=digest,
        id_last6=id_number[-6:],
        home_unit=home_unit,
    )


def internal_account(code: str) -> Account:
    """The internal ledger account ``INT-<CODE>`` (``SUSPENSE``, ``SETTLEMENT``, ``OPENING``…),
    created on first use. Internal accounts stand on the other side of batch credits and
    openings; they have no customer and may go negative."""
    code = str(code).strip().upper()
    if not INTERNAL_CODE_PATTERN.fullmatch(code):
        raise errors.InvalidInput(_("Unknown internal account code."))
    account, _created = Account.objects.get_or_create(
        number=f"INT-{code}", defaults={"kind": Account.Kind.INTERNAL, "is_internal": True}
    )
    if not account.is_internal:
        raise errors.InvalidInput(_("Unknown internal account code."))
    return account


@retry_on_conflict
@transaction.atomic
def account_open(
    *,
    customer: Customer,
    kind: str,
    number: str,
    unit,
    outlet=None,
    withdrawal_password: str,
    card_role: str | None = None,
    main_card: Account | None = None,
    opening_balance_fen: int = 0,
) -> Account:
    """Open an account. An opening balance is posted as a ledger transaction of kind ``opening``
    against the internal account ``INT-OPENING``, never written to the balance directly."""
    _validate_choice(kind, [k for k in Account.Kind.values if k != Account.Kind.INTERNAL], _("Unknown account kind."))
    number = str(number).strip()
    _validate_pin(withdrawal_password, _("The withdrawal password must be 6 digits."))
    if isinstance(opening_balance_fen, bool) or not isinstance(opening_balance_fen, int) or opening_balance_fen < 0:
        raise errors.InvalidAmount()
    if kind == Account.Kind.DEBIT_CARD:
        if not CARD_NUMBER_PATTERN.fullmatch(number):
            raise errors.InvalidInput(_("A card number has 16 to 19 digits."))
        card_role = card_role or Account.CardRole.MAIN
        _validate_choice(card_role, Account.CardRole.values, _("Unknown card role."))
        if card_role == Account.CardRole.SUB:
            if main_card is None or not main_card.is_debit_main_card or main_card.customer_id != customer.pk:
                raise errors.InvalidInput(_("A sub card needs a main card of the same customer."))
        elif main_card is not None:
            raise errors.InvalidInput(_("Only a sub card has a main card."))
    else:
        if not PASSBOOK_NUMBER_PATTERN.fullmatch(number):
            raise errors.InvalidInput(_("An account number has 8 to 32 digits."))
        if card_role is not None or main_card is not None:
            raise errors.InvalidInput(_("Only debit cards are main or sub cards."))
    if outlet is not None and outlet.unit_id != unit.pk:
        raise errors.InvalidInput(_("The outlet belongs to another branch."))
    if Account.objects.filter(number=number).exists():
        raise errors.AlreadyExists(_("An account with this number already exists."))
    account = Account.objects.create(
        customer=customer,
        kind=kind,
        number=number,
        unit=unit,
        outlet=outlet,
        card_role=card_role,
        main_card=main_card if card_role == Account.CardRole.SUB else None,
        withdrawal_password=make_password(withdrawal_password),
    )
    account_event_record(
        account=account, kind=Event.Kind.OPENED, after={"kind": kind, "status": account.status}, channel="system"
    )
    if opening_balance_fen:
        opening_deposit_post(account=account, amount_fen=opening_balance_fen)
        account.refresh_from_db(fields=["balance_fen"])
    return account


def opening_deposit_post(*, account: Account, amount_fen: int, posted_at: datetime | None = None) -> LedgerTransaction:
    """Credit ``account`` with an opening deposit against ``INT-OPENING``."""
    return ledger_post(
        kind=LedgerTransaction.Kind.OPENING,
        lines=[(internal_account(OPENING_ACCOUNT_CODE), -amount_fen), (account, amount_fen)],
        channel=LedgerTransaction.Channel.SYSTEM,
        memo=OPENING_MEMO,
        posted_at=posted_at,
    )


@transaction.atomic
def registration_create(*, account: Account, password: str) -> PhoneBankingRegistration:
    """Register ``account`` for phone banking with a 6-digit password."""
    _validate_pin(password, _("The phone-banking password must be 6 digits."))
    if account.is_internal or account.customer_id is None:
        raise errors.NotEligible()
    _ensure_active(account)
    if PhoneBankingRegistration.objects.filter(account=account).exists():
        raise errors.AlreadyExists(_("The account is already registered for phone banking."))
    registration = PhoneBankingRegistration.objects.create(account=account, password=make_password(password))
    account_event_record(account=account, kind=Event.Kind.REGISTERED, after={"registration": registration.pk})
    return registration


@transaction.atomic
def account_link(*, registration: PhoneBankingRegistration, account: Account, code: str) -> LinkedAccount:
    """Link one of the customer's own accounts under ``registration`` with a 2-digit code."""
    if not isinstance(code, str) or not ACCOUNT_CODE_PATTERN.fullmatch(code):
        raise errors.InvalidInput(_("An account code is 2 digits, 01 to 99."))
    registered = registration.account
    if account.is_internal or account.customer_id is None or account.customer_id != registered.customer_id:
        raise errors.NotEligible(_("Only the customer's own accounts can be linked."))
    if account.pk == registered.pk:
        raise errors.NotEligible(_("The registered account cannot be linked to itself."))
    if registration.linked.filter(code=code).exists():
        raise errors.AlreadyExists(_("The account code is already in use."))
    if registration.linked.filter(account=account).exists():
        raise errors.AlreadyExists(_("The account is already linked."))
    try:
        with transaction.atomic():
            link = LinkedAccount.objects.create(registration=registration, account=account, code=code)
    except IntegrityError:
        raise errors.AlreadyExists(_("The account or code is already linked.")) from None
    account_event_record(account=account, kind=Event.Kind.LINKED, after={"registration": registration.pk, "code": code})
    return link


@transaction.atomic
def sms_notice_subscribe(*, account: Account, phone: str) -> SmsNoticeSubscription:
    """短信通 for a debit main card (other accounts are not eligible)."""
    if not account.is_debit_main_card:
        raise errors.NotEligible(_("SMS notice is available for debit main cards only."))
    if not MOBILE_PATTERN.fullmatch(str(phone)):
        raise errors.InvalidInput(_("The mobile number is not valid."))
    subscription, created = SmsNoticeSubscription.objects.get_or_create(
        account=account, defaults={"phone": phone, "active": True}
    )
    before = {} if created else {"active": subscription.active}
    if not created:
        subscription.phone, subscription.active = phone, True
        subscription.save(update_fields=["phone", "active"])
    account_event_record(account=account, kind=Event.Kind.SMS_NOTICE_CHANGED, before=before, after={"active": True})
    return subscription


@transaction.atomic
def sms_notice_unsubscribe(
    *, subscription: SmsNoticeSubscription | None = None, account: Account | None = None
) -> SmsNoticeSubscription | None:
    """Switch SMS notice off (the row stays, inactive). Give the subscription or the account."""
    if subscription is None:
        if account is None:
            raise errors.InvalidInput(_("Give the subscription or the account."))
        subscription = SmsNoticeSubscription.objects.filter(account=account).first()
    if subscription is None or not subscription.active:
        return subscription
    subscription.active = False
    subscription.save(update_fields=["active"])
    account_event_record(
        account=subscription.account_id,
        kind=Event.Kind.SMS_NOTICE_CHANGED,
        before={"active": True},
        after={"active": False},
    )
    return subscription


@dataclass(frozen=True)
class CustomerImportRow:
    """One customer with one debit main card, for ``customers_import``."""

    name: str
    mobile: str
    id_number: str
    home_unit: Any
    card_number: str
    balance_fen: int = 0
    outlet: Any = None


def customers_import(*, rows: Iterable[CustomerImportRow], withdrawal_password: str) -> int:
    """Bulk-create customers, each with a debit main card (demo data, migrations from a core
    system). Rows whose card number already exists are skipped, so a re-run adds nothing. All
    cards share one withdrawal-password hash (one slow hash, not thousands). Opening balances
    are posted as one ``opening`` ledger transaction against ``INT-OPENING``. Returns how many
    customers were created."""
    _validate_pin(withdrawal_password, _("The withdrawal password must be 6 digits."))
    rows = list(rows)
    for row in rows:
        if not ID_NUMBER_PATTERN.fullmatch(id_number_normalize(row.id_number)):
            raise errors.InvalidInput(_("The ID number is not valid."))
        if not MOBILE_PATTERN.fullmatch(str(row.mobile)) or not CARD_NUMBER_PATTERN.fullmatch(str(row.card_number)):
            raise errors.InvalidInput(_("A mobile or card number is not valid."))
        if isinstance(row.balance_fen, bool) or not isinstance(row.balance_fen, int) or row.balance_fen < 0:
            raise errors.InvalidAmount()
    existing = set(
        Account.objects.filter(number__in=[row.card_number for row in rows]).values_list("number", flat=True)
    )
    rows = [row for row in rows if row.card_number not in existing]
    if not rows:
        return 0
    password_hash = make_password(withdrawal_password)
    return _customers_import(rows=rows, password_hash=password_hash)


@retry_on_conflict
@transaction.atomic
def _customers_import(*, rows: list[CustomerImportRow], password_hash: str) -> int:
    customers = Customer.objects.bulk_create(
        [
            Customer(
                name=row.name,
                mobile=row.mobile,
                id_number_digest=id_number_digest(row.id_number),
                id_last6=id_number_normalize(row.id_number)[-6:],
                home_unit=row.home_unit,
            )
            for row in rows
        ],
        batch_size=500,
    )
    cards = Account.objects.bulk_create(
        [
            Account(
                customer=customer,
                kind=Account.Kind.DEBIT_CARD,
                card_role=Account.CardRole.MAIN,
                number=row.card_number,
                unit=row.home_unit,
                outlet=row.outlet,
                withdrawal_password=password_hash,
            )
            for customer, row in zip(customers, rows, strict=True)
        ],
        batch_size=500,
    )
    Event.objects.bulk_create(
        [
            Event(
                account=card, kind=Event.Kind.OPENED, after={"kind": card.kind, "status": card.status}, channel="system"
            )
            for card in cards
        ],
        batch_size=500,
    )
    lines = [(card, row.balance_fen) for card, row in zip(cards, rows, strict=True) if row.balance_fen]
    if lines:
        ledger_post(
            kind=LedgerTransaction.Kind.OPENING,
            lines=[(internal_account(OPENING_ACCOUNT_CODE), -sum(fen for _card, fen in lines)), *lines],
            channel=LedgerTransaction.Channel.SYSTEM,
            memo=OPENING_MEMO,
        )
    return len(customers)


# --- the ledger -----------------------------------------------------------------------------------

# The Python transfer path in plain SQL (standard SQL: PostgreSQL and SQLite alike; PostgreSQL runs
# transfers in its function, but the differential test runs this path there too): the ORM's query
# compilation cost several times the database's own work per transfer.
_SQL_KEY_LOOKUP = "SELECT id FROM banking_ledgertransaction WHERE idempotency_key = %s"
_SQL_LINKED_ACCOUNTS = "SELECT account_id FROM banking_linkedaccount WHERE registration_id = %s"
_SQL_TRANSACTION_INSERT = """
    INSERT INTO banking_ledgertransaction (kind, idempotency_key, request_fingerprint, registration_id, amount_fen,
                                           channel, call_id, initiated_by_id, memo, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
"""
_SQL_KEY_AND_DAILY_TOTAL = """
    SELECT MAX(CASE WHEN idempotency_key = %s THEN id END),
           SUM(CASE WHEN registration_id = %s AND kind = 'transfer' AND created_at >= %s THEN amount_fen END)
      FROM banking_ledgertransaction
     WHERE idempotency_key = %s OR (registration_id = %s AND kind = 'transfer' AND created_at >= %s)
"""


def _replay(idempotency_key: str | None, fingerprint: str, *, pk: int | None = None) -> LedgerTransaction | None:
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


def _answer_from_winner(idempotency_key: str | None, fingerprint: str, exc: IntegrityError) -> LedgerTransaction:
    """After an ``IntegrityError``: if a concurrent request with the same key committed first (our
    insert waited for it, then hit the unique constraint and the transaction rolled back), its
    transaction is the answer. Anything else is re-raised."""
    replay = _replay(idempotency_key, fingerprint)
    if replay is None:
        raise exc
    return replay


def _validate_idempotency_key(key: Any, *, required: bool) -> str | None:
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


def _write_transaction(
    *,
    kind: str,
    lines: list[tuple[int, int]],
    accounts: dict[int, Account],
    idempotency_key: str | None,
    fingerprint: str,
    channel: str,
    memo: str,
    actor,
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
        initiated_by=_user_or_none(actor),
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
    """One outbox SMS per posting on a debit main card with an active SMS notice subscription."""
    for posting in postings:
        account = accounts[posting.account_id]
        phone = _notice_phone(account)
        if not phone:
            continue
        text = sms_texts.transaction_notice(
            account=account,
            transfer=txn.kind == LedgerTransaction.Kind.TRANSFER,
            amount_fen=posting.amount_fen,
            balance_fen=posting.balance_after_fen,
            at=posting.created_at,
        )
        sms_enqueue(
            phone=phone,
            kind=SmsOutbox.Kind.TRANSACTION_NOTICE,
            text=text,
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
    actor=None,
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
    _validate_choice(kind, LedgerTransaction.Kind.values, _("Unknown transaction kind."))
    _validate_choice(channel, LedgerTransaction.Channel.values, _("Unknown channel."))
    key = _validate_idempotency_key(idempotency_key, required=False)
    normalized = _normalize_lines(lines)
    fingerprint = _fingerprint({"kind": kind, "lines": sorted(normalized)})
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
        return _answer_from_winner(key, fingerprint, exc)


@retry_on_conflict
@transaction.atomic
def _ledger_post(*, kind, lines, key, fingerprint, channel, memo, actor, call_id, posted_at) -> LedgerTransaction:
    if (replay := _replay(key, fingerprint)) is not None:
        return replay
    accounts = lock_accounts(*(account_id for account_id, _amount in lines))
    if (replay := _replay(key, fingerprint)) is not None:
        return replay
    for account in accounts.values():
        if not account.is_internal:
            _ensure_active(account)
    return _write_transaction(
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


def _registration_account_ids(registration: PhoneBankingRegistration) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(_SQL_LINKED_ACCOUNTS, [registration.pk])
        return {registration.account_id, *(account_id for (account_id,) in cursor.fetchall())}


def _day_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment, SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


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
    actor=None,
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
    _validate_choice(channel, LedgerTransaction.Channel.values, _("Unknown channel."))
    key = _validate_idempotency_key(idempotency_key, required=True)
    if registration is None:
        raise errors.NotRegistered()
    fingerprint = _fingerprint(
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
        return _answer_from_winner(key, fingerprint, exc)
    if txn.replayed:
        return txn
    from_account.balance_fen, to_account.balance_fen = from_balance_fen, to_balance_fen
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


def _transfer_in_python(**kwargs) -> tuple[LedgerTransaction, int | None, int | None]:
    txn, source, target = _transfer(**kwargs)
    if txn.replayed:
        return txn, None, None
    return txn, source.balance_fen, target.balance_fen


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
    actor,
    memo: str,
) -> tuple[LedgerTransaction, int | None, int | None]:
    """``_transfer`` on PostgreSQL: the same steps, refusals and rows, in one statement (and so one
    transaction of its own when the caller has none; a savepoint inside a caller's)."""
    user = _user_or_none(actor)
    # The application's clock is ``timezone.now`` (tests move it); the function reads the
    # database clock after taking its locks and shifts it by the same offset (normally zero).
    clock_offset = timezone.now() - datetime.now(tz=UTC)
    params = [
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
    outcome, *values, from_balance_fen, to_balance_fen = row
    if outcome in transfer_rules.REFUSALS:  # refused: nothing was written
        raise transfer_rules.REFUSALS[outcome]()
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
    actor,
    memo: str,
) -> tuple[LedgerTransaction, Account | None, Account | None]:
    # Fast path for a resubmission, without taking any lock.
    if (replay := _replay(key, fingerprint)) is not None:
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
        return _replay(key, fingerprint, pk=existing_id), None, None
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
    txn = _write_transaction(
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


# --- phone-banking password -----------------------------------------------------------------------


class PasswordOutcome(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    LOCKED = "locked"


def password_matches(registration: PhoneBankingRegistration, password: Any) -> bool:
    """Whether ``password`` is the registration's phone-banking password (six digits, checked
    against the stored hash). Changes nothing and counts nothing: ``password_verify`` does."""
    return (
        isinstance(password, str)
        and PIN_PATTERN.fullmatch(password) is not None
        and check_password(password, registration.password)
    )


def password_accepted_as_read(registration: PhoneBankingRegistration, password: Any) -> bool | None:
    """``password_verify``'s answer without a lock or a write, for a registration row read in
    this very request: True when the row is neither locked nor carries failures to reset and the
    password is right (nothing to record). Otherwise ``None`` — the locked path decides — or
    False when the password is wrong, which the caller must still record with
    ``password_verify(..., known=(registration.password, False))``.

    A concurrent change after the read is ordered after this check, as under the lock."""
    right = password_matches(registration, password)
    if right and not registration.locked and not registration.failed_attempts:
        return True
    return None if right else False


# The attempt runs inside a caller's transaction without a savepoint of its own (the IVR locks the
# call first): a database error aborts the caller's transaction anyway, so a savepoint could only
# cost two round trips. Outside any transaction it is one.
@retry_on_conflict
@transaction.atomic(savepoint=False)
def _password_attempt(*, registration_id: int, password: Any, channel: str, call_id: str, known=None):
    registration = lock_registration(registration_id)
    if registration.locked:
        return PasswordOutcome.LOCKED, registration
    if known is not None and known[0] == registration.password:
        right = known[1]  # this very password checked against this very hash a moment ago
    else:
        right = password_matches(registration, password)
    if right:
        if registration.failed_attempts:
            registration.failed_attempts = 0
            registration.save(update_fields=["failed_attempts"])
        return PasswordOutcome.ACCEPTED, registration
    before = {"failed_attempts": registration.failed_attempts, "locked": False}
    registration.failed_attempts += 1
    if registration.failed_attempts >= settings.BANKING_PASSWORD_MAX_ATTEMPTS:
        registration.locked, registration.locked_at = True, timezone.now()
        registration.save(update_fields=["failed_attempts", "locked", "locked_at"])
        account_event_record(
            account=registration.account_id,
            kind=Event.Kind.REGISTRATION_LOCKED,
            before=before,
            after={"failed_attempts": registration.failed_attempts, "locked": True, "registration": registration.pk},
            channel=channel,
            call_id=call_id,
        )
        logger.warning(
            "phone-banking registration %s locked after %d wrong passwords (channel %s, call %s)",
            registration.pk,
            registration.failed_attempts,
            channel,
            call_id,
        )
        return PasswordOutcome.LOCKED, registration
    registration.save(update_fields=["failed_attempts"])
    account_event_record(
        account=registration.account_id,
        kind=Event.Kind.PASSWORD_FAILED,
        before=before,
        after={"failed_attempts": registration.failed_attempts, "registration": registration.pk},
        channel=channel,
        call_id=call_id,
    )
    logger.info(
        "phone-banking password wrong for registration %s (attempt %d)", registration.pk, registration.failed_attempts
    )
    return PasswordOutcome.WRONG, registration


def password_verify(
    *, registration: PhoneBankingRegistration, password: str, channel: str, call_id: str = "", known=None
) -> bool:
    """Check the phone-banking password. True when right (the failure counter is reset), False when
    wrong; raises ``RegistrationLocked`` when the registration is locked — also with the right
    password — or when this wrong entry reached ``BANKING_PASSWORD_MAX_ATTEMPTS``.

    The counter is one per registration, shared by every call and channel, and updated under the
    registration's row lock, so N parallel wrong entries count exactly N and the lock happens at
    exactly the limit. The update commits in its own transaction before this function returns or
    raises, so the caller's failure cannot roll it back (call it outside ``atomic`` blocks, or
    make sure the enclosing block is not rolled back).

    ``known`` — ``(stored hash, right?)`` from ``password_accepted_as_read`` moments before for
    this same password — saves hashing it again while the stored hash is still that one.
    """
    outcome, fresh = _password_attempt(
        registration_id=registration.pk, password=password, channel=channel, call_id=call_id, known=known
    )
    registration.failed_attempts, registration.locked, registration.locked_at = (
        fresh.failed_attempts,
        fresh.locked,
        fresh.locked_at,
    )
    if outcome is PasswordOutcome.LOCKED:
        raise errors.RegistrationLocked()
    return outcome is PasswordOutcome.ACCEPTED


@retry_on_conflict
@transaction.atomic
def registration_unlock(
    *, registration: PhoneBankingRegistration, actor, call_id: str = "", reason: str = ""
) -> PhoneBankingRegistration:
    """Reset the failure counter and the lock (a team lead, after an identity check). Audited."""
    locked = lock_registration(registration.pk)
    before = {"locked": locked.locked, "failed_attempts": locked.failed_attempts}
    locked.failed_attempts, locked.locked, locked.locked_at = 0, False, None
    locked.save(update_fields=["failed_attempts", "locked", "locked_at"])
    account_event_record(
        account=locked.account_id,
        kind=Event.Kind.REGISTRATION_UNLOCKED,
        before=before,
        after={"locked": False, "failed_attempts": 0, "registration": locked.pk, "reason": reason[:200]},
        actor=actor,
        channel=LossReport.Channel.AGENT,
        call_id=call_id,
    )
    audit_record(
        actor=actor,
        action="banking.registration_unlock",
        obj=locked,
        details={"call_id": call_id[:128], "reason": reason[:200], **before},
    )
    registration.failed_attempts, registration.locked, registration.locked_at = 0, False, None
    return locked


# --- verbal loss reports --------------------------------------------------------------------------


def _customer_sms(account: Account, text: str) -> None:
    mobile = account.customer.mobile if account.customer_id else ""
    if mobile:
        sms_enqueue(phone=mobile, kind=SmsOutbox.Kind.LOSS_REPORT, text=text)


@retry_on_conflict
@transaction.atomic
def _withdrawal_password_failed(*, account: Account, channel: str, call_id: str, actor) -> None:
    account_event_record(
        account=account,
        kind=Event.Kind.PASSWORD_FAILED,
        after={"purpose": "loss_report"},
        actor=actor,
        channel=channel,
        call_id=call_id,
    )


def loss_report_register(
    *,
    account: Account,
    verification: str,
    channel: str,
    call_id: str = "",
    actor=None,
    password: str | None = None,
) -> LossReport:
    """A verbal loss report: the account is blocked at once (``verbally_lost``) and the report is
    valid ``BANKING_LOSS_REPORT_VALID_DAYS`` days; the customer gets an SMS.

    ``verification`` is ``id_document`` (the agent checked the caller) or ``password`` (the
    account's withdrawal password, given in ``password``; a wrong one is refused with
    ``wrong_password`` and recorded as a ``password_failed`` event, which stays recorded).
    Refused with ``account_lost`` when already lost and ``account_blocked`` when frozen/closed.
    """
    _validate_choice(verification, LossReport.Verification.values, _("Unknown verification method."))
    _validate_choice(channel, LossReport.Channel.values, _("Unknown channel."))
    if account.is_internal:
        raise errors.AccountNotFound()
    if verification == LossReport.Verification.PASSWORD:
        if not (isinstance(password, str) and password and check_password(password, account.withdrawal_password)):
            _withdrawal_password_failed(account=account, channel=channel, call_id=call_id, actor=actor)
            raise errors.WrongPassword()
    report = _loss_report_create(
        account=account, verification=verification, channel=channel, call_id=call_id, actor=actor
    )
    account.status = report.account.status
    return report


@retry_on_conflict
@transaction.atomic
def _loss_report_create(*, account: Account, verification: str, channel: str, call_id: str, actor) -> LossReport:
    locked = lock_accounts(account.pk)[account.pk]
    _ensure_active(locked)
    # After the lock, like a posting's time (see _write_transaction).
    now = timezone.now()
    valid_until = now + timedelta(days=settings.BANKING_LOSS_REPORT_VALID_DAYS)
    Account.objects.filter(pk=locked.pk).update(status=Account.Status.VERBALLY_LOST)
    locked.status = Account.Status.VERBALLY_LOST
    report = LossReport.objects.create(
        account=locked,
        channel=channel,
        verification=verification,
        call_id=call_id[:128],
        reported_by=_user_or_none(actor),
        valid_until=valid_until,
        created_at=now,
    )
    account_event_record(
        account=locked,
        kind=Event.Kind.LOSS_REPORTED,
        before={"status": Account.Status.ACTIVE},
        after={
            "status": Account.Status.VERBALLY_LOST,
            "loss_report": report.pk,
            "verification": verification,
            "valid_until": valid_until.isoformat(),
        },
        actor=actor,
        channel=channel,
        call_id=call_id,
    )
    _customer_sms(
        locked,
        sms_texts.render(
            sms_texts.LOSS_REPORTED,
            **sms_texts.account_values(locked),
            time=sms_texts.sms_time(now),
            valid_until=sms_texts.sms_time(valid_until),
        ),
    )
    logger.info(
        "verbal loss report %s registered for account %s (channel %s, call %s)", report.pk, locked.pk, channel, call_id
    )
    return report


@retry_on_conflict
@transaction.atomic
def loss_report_cancel(*, loss_report: LossReport, actor, channel: str, call_id: str = "") -> LossReport:
    """Cancel an active verbal loss report (after an identity check); the account is active again.
    Refused with ``loss_report_not_active`` for a cancelled, expired or formalized report."""
    _validate_choice(channel, LossReport.Channel.values, _("Unknown channel."))
    locked = lock_accounts(loss_report.account_id)[loss_report.account_id]
    report = LossReport.objects.get(pk=loss_report.pk)  # re-read under the account's lock
    if report.status != LossReport.Status.ACTIVE:
        raise errors.LossReportNotActive()
    now = timezone.now()
    report.status, report.cancelled_at, report.cancelled_by = LossReport.Status.CANCELLED, now, _user_or_none(actor)
    report.save(update_fields=["status", "cancelled_at", "cancelled_by"])
    before_status = locked.status
    if locked.status == Account.Status.VERBALLY_LOST:
        Account.objects.filter(pk=locked.pk).update(status=Account.Status.ACTIVE)
        locked.status = Account.Status.ACTIVE
    account_event_record(
        account=locked,
        kind=Event.Kind.LOSS_CANCELLED,
        before={"status": before_status, "loss_report": report.pk},
        after={"status": locked.status, "loss_report": report.pk},
        actor=actor,
        channel=channel,
        call_id=call_id,
    )
    _customer_sms(
        locked,
        sms_texts.render(sms_texts.LOSS_CANCELLED, **sms_texts.account_values(locked), time=sms_texts.sms_time(now)),
    )
    report.account = locked
    loss_report.status, loss_report.cancelled_at = report.status, report.cancelled_at
    return report


def loss_reports_expire(*, now: datetime | None = None) -> int:
    """Mark active reports past ``valid_until`` as expired; returns how many.

    The account stays ``verbally_lost`` (blocked): a verbal report only protects the customer for
    a few days, after which DESIGN.md §4 requires a formal report at an outlet, and unblocking
    automatically would expose a card that is still missing. Turning it ``formally_lost`` is
    the outlet's act, not a timer's. Each report is expired in its own short transaction.
    """
    now = now or timezone.now()
    due = LossReport.objects.filter(status=LossReport.Status.ACTIVE, valid_until__lte=now).values_list(
        "pk", "account_id"
    )
    return sum(_loss_report_expire(report_id=pk, account_id=account_id, now=now) for pk, account_id in list(due))


@retry_on_conflict
@transaction.atomic
def _loss_report_expire(*, report_id: int, account_id: int, now: datetime) -> int:
    locked = lock_accounts(account_id)[account_id]
    report = LossReport.objects.get(pk=report_id)
    if report.status != LossReport.Status.ACTIVE or report.valid_until > now:
        return 0
    report.status = LossReport.Status.EXPIRED
    report.save(update_fields=["status"])
    account_event_record(
        account=locked,
        kind=Event.Kind.LOSS_EXPIRED,
        before={"loss_report": report.pk, "report_status": LossReport.Status.ACTIVE},
        after={"loss_report": report.pk, "report_status": LossReport.Status.EXPIRED, "status": locked.status},
        channel="system",
    )
    return 1


def loss_report_reminders_send(*, now: datetime | None = None) -> int:
    """SMS a reminder for active reports that expire within ``BANKING_LOSS_REPORT_REMIND_HOURS``
    (once per report); returns how many were sent."""
    now = now or timezone.now()
    horizon = now + timedelta(hours=settings.BANKING_LOSS_REPORT_REMIND_HOURS)
    due = LossReport.objects.filter(
        status=LossReport.Status.ACTIVE, reminded_at__isnull=True, valid_until__gt=now, valid_until__lte=horizon
    ).values_list("pk", "account_id")
    return sum(_loss_report_remind(report_id=pk, account_id=account_id, now=now) for pk, account_id in list(due))


@retry_on_conflict
@transaction.atomic
def _loss_report_remind(*, report_id: int, account_id: int, now: datetime) -> int:
    locked = lock_accounts(account_id)[account_id]
    report = LossReport.objects.get(pk=report_id)
    if report.status != LossReport.Status.ACTIVE or report.reminded_at is not None:
        return 0
    report.reminded_at = now
    report.save(update_fields=["reminded_at"])
    _customer_sms(
        locked,
        sms_texts.render(
            sms_texts.LOSS_REMINDER,
            **sms_texts.account_values(locked),
            valid_until=sms_texts.sms_time(report.valid_until),
        ),
    )
    return 1


# --- simulation (the IVR simulator's test calls) ---------------------------------------------------


class _Undone(Exception):  # noqa: N818 - carries an answer out of the rolled-back savepoint
    def __init__(self, outcome: Any):
        super().__init__()
        self.outcome = outcome


def simulate(service: Callable[..., Any], /, *, sandbox: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Run the banking service ``service(**kwargs)`` exactly as it would run — the same rules,
    locks, refusals and answer — in a transaction (a savepoint inside the caller's) that is then
    rolled back whatever happened: no posting, balance change, idempotency record, loss report,
    account event, SMS outbox row, password-failure count or lock is kept, and the on-commit work
    registered inside goes with it. A domain error comes out as the service raised it. On
    PostgreSQL the transfer's PL/pgSQL function runs inside the same savepoint.

    ``sandbox``: a JSON-able dict the caller keeps for one session (a test call's data). It
    carries what the session's earlier simulated writes would have left on the registrations and
    accounts they touched — a registration's failure counter and lock, an account's status — and
    is applied inside the savepoint before the service runs, so the third wrong password of a
    test call meets the lock a real caller would, and a simulated loss report is seen by a
    simulated transfer after it. It holds ids and those states only: no secret, no money.
    """
    state = sandbox if sandbox is not None else {}
    try:
        with transaction.atomic():
            _sandbox_apply(state)
            try:
                outcome = service(**kwargs)
            except DomainError as error:
                _sandbox_keep(state, kwargs)
                raise _Undone(error) from None
            _sandbox_keep(state, kwargs)
            raise _Undone(outcome)
    except _Undone as undone:
        logger.info("simulated %s rolled back", getattr(service, "__name__", "banking call"))
        if isinstance(undone.outcome, DomainError):
            raise undone.outcome from None
        return undone.outcome


def _sandbox_apply(state: dict[str, Any]) -> None:
    for pk, values in (state.get("registrations") or {}).items():
        locked_at = values.get("locked_at")
        PhoneBankingRegistration.objects.filter(pk=int(pk)).update(
            failed_attempts=int(values.get("failed_attempts") or 0),
            locked=bool(values.get("locked")),
            locked_at=datetime.fromisoformat(locked_at) if locked_at else None,
        )
    for pk, status in (state.get("accounts") or {}).items():
        if status in Account.Status.values:
            Account.objects.filter(pk=int(pk)).update(status=status)


def _sandbox_keep(state: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """Note, before the rollback, the states the service left on the rows it was given."""
    registration = kwargs.get("registration")
    if isinstance(registration, PhoneBankingRegistration):
        row = (
            PhoneBankingRegistration.objects.filter(pk=registration.pk)
            .values("failed_attempts", "locked", "locked_at")
            .first()
        )
        if row is not None:
            at = row["locked_at"]
            state.setdefault("registrations", {})[str(registration.pk)] = {
                "failed_attempts": row["failed_attempts"],
                "locked": row["locked"],
                "locked_at": at.isoformat() if at else None,
            }
    ids = [
        account.pk
        for account in (kwargs.get(name) for name in ("account", "from_account", "to_account"))
        if isinstance(account, Account)
    ]
    if ids:
        statuses = dict(Account.objects.filter(pk__in=ids).values_list("pk", "status"))
        state.setdefault("accounts", {}).update({str(pk): status for pk, status in statuses.items()})
