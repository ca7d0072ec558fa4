"""Reads of the banking app: what pages, APIs and the IVR show. Customer-facing reads are scoped
with ``visible_to(user)``: an object outside the user's units does not exist for them (404)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org.scoping import UnitScopedQuerySet

from .errors import AccountNotFound
from .models import Account, Customer, LinkedAccount, LossReport, PhoneBankingRegistration, Posting

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _accounts_prefetch() -> Prefetch:
    return Prefetch("accounts", queryset=Account.objects.select_related("sms_notice", "phone_banking").order_by("id"))


def customer_search(*, user: AbstractBaseUser | AnonymousUser, q: str) -> QuerySet[Customer]:
    """Customers whose mobile, full card or account number, or ID number's last 6 is ``q``
    (exact match), within the user's scope, with their accounts prefetched."""
    term = str(q).strip().upper()
    if not term:
        return Customer.objects.none()
    by_account = Account.objects.filter(number=term, customer__isnull=False).values("customer_id")
    return (
        Customer.objects.visible_to(user)
        .filter(Q(mobile=term) | Q(id_last6=term) | Q(pk__in=by_account))
        .select_related("home_unit")
        .prefetch_related(_accounts_prefetch())
        .order_by("id")
    )


def customer_get(*, user: AbstractBaseUser | AnonymousUser, customer_id: int) -> Customer:
    customer = (
        Customer.objects.visible_to(user)
        .select_related("home_unit")
        .prefetch_related(_accounts_prefetch())
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise AccountNotFound(_("Customer not found."))
    return customer


def account_get(*, user: AbstractBaseUser | AnonymousUser, account_id: int) -> Account:
    """A customer account within the user's scope (internal ledger accounts are not for agents)."""
    account = (
        Account.objects.visible_to(user)
        .filter(pk=account_id, is_internal=False)
        .select_related("customer", "unit")
        .first()
    )
    if account is None:
        raise AccountNotFound()
    return account


def account_by_number(number: str) -> Account | None:
    """The account with this full number (the IVR's entry, a batch file's line), unscoped."""
    return Account.objects.select_related("customer").filter(number=str(number).strip()).first()


def account_balance(account: Account) -> int:
    """The current balance in fen, read fresh from the database."""
    return Account.objects.values_list("balance_fen", flat=True).get(pk=account.pk)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def account_transactions(
    *, account: Account, date_from: date | None = None, date_to: date | None = None, limit: int | None = None
) -> QuerySet[Posting]:
    """The account's postings, newest first; ``date_from``/``date_to`` are inclusive local dates
    (Asia/Shanghai)."""
    postings = (
        Posting.objects.filter(account_id=account.pk).select_related("transaction").order_by("-created_at", "-id")
    )
    if date_from is not None:
        postings = postings.filter(created_at__gte=_local_midnight(date_from))
    if date_to is not None:
        postings = postings.filter(created_at__lt=_local_midnight(date_to + timedelta(days=1)))
    if limit is not None:
        postings = postings[:limit]
    return postings


def today_transactions(account: Account) -> QuerySet[Posting]:
    today = timezone.localtime(timezone.now(), SHANGHAI).date()
    return account_transactions(account=account, date_from=today, date_to=today)


def recent_transactions(account: Account, n: int = 10) -> QuerySet[Posting]:
    return account_transactions(account=account, limit=n)


def _registration_queryset() -> UnitScopedQuerySet:
    return PhoneBankingRegistration.objects.select_related("account", "account__customer").prefetch_related(
        Prefetch("linked", queryset=LinkedAccount.objects.select_related("account").order_by("code"))
    )


def registration_for_account(account: Account) -> PhoneBankingRegistration | None:
    """The registration whose registered account is ``account``, else the first one that links it;
    ``None`` when the account is not in phone banking at all."""
    registrations = _registration_queryset()
    registered = registrations.filter(account_id=account.pk).first()
    if registered is not None:
        return registered
    return registrations.filter(linked__account_id=account.pk).order_by("id").first()


def registration_for_customer(customer: Customer) -> PhoneBankingRegistration | None:
    """The customer's registration (the first one, should a customer have several)."""
    return _registration_queryset().filter(account__customer_id=customer.pk).order_by("id").first()


def registration_get(*, user: AbstractBaseUser | AnonymousUser, registration_id: int) -> PhoneBankingRegistration:
    registration = _registration_queryset().visible_to(user).filter(pk=registration_id).first()
    if registration is None:
        raise AccountNotFound(_("Registration not found."))
    return registration


def linked_account_by_code(registration: PhoneBankingRegistration, code: str) -> Account | None:
    link = LinkedAccount.objects.select_related("account").filter(registration_id=registration.pk, code=code).first()
    return link.account if link is not None else None


def account_labels() -> dict[str, Any]:
    """The translated labels of account kinds and statuses (``{value: label}``) and of loss-report
    verifications (``[{"value", "label"}]``), for pages that show banking rows."""
    return {
        "kinds": {value: str(label) for value, label in Account.Kind.choices},
        "statuses": {value: str(label) for value, label in Account.Status.choices},
        "verifications": [{"value": value, "label": str(label)} for value, label in LossReport.Verification.choices],
    }


# --- for other apps' demo data (``tickets.demo``): reads without a user's scope ---------------------


def customer_ids(*, limit: int) -> list[int]:
    """The first ``limit`` customers' ids, oldest first."""
    return list(Customer.objects.order_by("id").values_list("id", flat=True)[:limit])


def customer_by_id(customer_id: int) -> Customer:
    return Customer.objects.get(pk=customer_id)


def first_active_account(customer_id: int) -> Account | None:
    """The customer's oldest active (non-internal) account."""
    return (
        Account.objects.filter(customer_id=customer_id, is_internal=False, status=Account.Status.ACTIVE)
        .order_by("id")
        .first()
    )
