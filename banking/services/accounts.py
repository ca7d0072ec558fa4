"""Customers, accounts, phone-banking registrations, linked accounts and SMS notice subscriptions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from org.models import Outlet, Unit

from .. import errors
from ..events import account_event_record
from ..locks import retry_on_conflict
from ..masking import mask_mobile
from ..models import (
    Account,
    Customer,
    LedgerTransaction,
    LinkedAccount,
    PhoneBankingRegistration,
    SmsNoticeSubscription,
)
from ..models import AccountEvent as Event
from .common import ensure_active, id_number_digest, id_number_normalize, validate_choice, validate_pin
from .ledger import ledger_post

ACCOUNT_CODE_PATTERN = re.compile(r"0[1-9]|[1-9][0-9]")
ID_NUMBER_PATTERN = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
MOBILE_PATTERN = re.compile(r"[0-9]{7,20}")
CARD_NUMBER_PATTERN = re.compile(r"[0-9]{16,19}")
PASSBOOK_NUMBER_PATTERN = re.compile(r"[0-9]{8,32}")
INTERNAL_CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{1,27}")

OPENING_ACCOUNT_CODE = "OPENING"
OPENING_MEMO = "开户存入"


# --- customers, accounts, registrations -----------------------------------------------------------


@transaction.atomic
def customer_create(*, name: str, mobile: str, id_number: str, home_unit: Unit) -> Customer:
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
    unit: Unit,
    outlet: Outlet | None = None,
    withdrawal_password: str,
    card_role: str | None = None,
    main_card: Account | None = None,
    opening_balance_fen: int = 0,
) -> Account:
    """Open an account. An opening balance is posted as a ledger transaction of kind ``opening``
    against the internal account ``INT-OPENING``, never written to the balance directly."""
    validate_choice(kind, [k for k in Account.Kind.values if k != Account.Kind.INTERNAL], _("Unknown account kind."))
    number = str(number).strip()
    validate_pin(withdrawal_password, _("The withdrawal password must be 6 digits."))
    if isinstance(opening_balance_fen, bool) or not isinstance(opening_balance_fen, int) or opening_balance_fen < 0:
        raise errors.InvalidAmount()
    if kind == Account.Kind.DEBIT_CARD:
        if not CARD_NUMBER_PATTERN.fullmatch(number):
            raise errors.InvalidInput(_("A card number has 16 to 19 digits."))
        card_role = card_role or Account.CardRole.MAIN
        validate_choice(card_role, Account.CardRole.values, _("Unknown card role."))
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
    validate_pin(password, _("The phone-banking password must be 6 digits."))
    if account.is_internal or account.customer_id is None:
        raise errors.NotEligible()
    ensure_active(account)
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


SMS_NOTICE_CHANNELS = ("agent", "outlet", "system")  # on a call / at the customer's outlet / seed, import


def _sms_notice_event(
    subscription: SmsNoticeSubscription, before: dict, *, actor: Any, channel: str, call_id: str
) -> None:
    if channel not in SMS_NOTICE_CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    account_event_record(
        account=subscription.account_id,
        kind=Event.Kind.SMS_NOTICE_CHANGED,
        before=before,
        after={"active": subscription.active, "phone": mask_mobile(subscription.phone)},
        actor=actor,
        channel=channel,
        call_id=call_id,
    )


@transaction.atomic
def sms_notice_subscribe(
    *, account: Account, phone: str, actor: Any = None, channel: str = "system", call_id: str = ""
) -> SmsNoticeSubscription:
    """短信通 for a debit main card (other accounts are not eligible), to ``phone`` (the mobile
    on record). The account event names who, through which channel (``agent`` on ``call_id``,
    ``outlet`` at the customer's request at a branch, ``system``) and the phone, masked."""
    if not account.is_debit_main_card:
        raise errors.NotEligible(_("SMS notice is available for debit main cards only."))
    if not MOBILE_PATTERN.fullmatch(str(phone)):
        raise errors.InvalidInput(_("The mobile number is not valid."))
    subscription, created = SmsNoticeSubscription.objects.get_or_create(
        account=account, defaults={"phone": phone, "active": True}
    )
    before = {} if created else {"active": subscription.active, "phone": mask_mobile(subscription.phone)}
    if not created:
        subscription.phone, subscription.active = phone, True
        subscription.save(update_fields=["phone", "active"])
    _sms_notice_event(subscription, before, actor=actor, channel=channel, call_id=call_id)
    return subscription


@transaction.atomic
def sms_notice_unsubscribe(
    *,
    subscription: SmsNoticeSubscription | None = None,
    account: Account | None = None,
    actor: Any = None,
    channel: str = "system",
    call_id: str = "",
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
    _sms_notice_event(
        subscription,
        {"active": True, "phone": mask_mobile(subscription.phone)},
        actor=actor,
        channel=channel,
        call_id=call_id,
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
    validate_pin(withdrawal_password, _("The withdrawal password must be 6 digits."))
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
