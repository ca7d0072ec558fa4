"""Reads of the banking app: what pages, APIs and the IVR show. Customer-facing reads are scoped
with ``visible_to(user)``: an object outside the user's units does not exist for them (404)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org.scoping import UnitScopedQuerySet

from .errors import AccountNotFound
from .masking import mask_mobile
from .models import (
    Account,
    Customer,
    LinkedAccount,
    LossReport,
    PhoneBankingRegistration,
    Posting,
    SmsNoticeSubscription,
)

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


def customer_labels(*, user: AbstractBaseUser | AnonymousUser, customer_ids: Iterable[int | None]) -> dict[int, dict]:
    """``{customer id: {"name", "mobile"}}`` for the customers among ``customer_ids`` the user may see,
    as the agent desktop shows them (the name, the mobile masked ``138****0001``): one query for a
    page of rows that name customers by id (the call list). Ids outside the scope are left out."""
    ids = sorted({int(pk) for pk in customer_ids if pk})
    if not ids:
        return {}
    rows = Customer.objects.visible_to(user).filter(pk__in=ids).values_list("pk", "name", "mobile")
    return {pk: {"name": name, "mobile": mask_mobile(mobile)} for pk, name, mobile in rows}


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


# --- for the reports: verbal loss reports and the IVR's transfers ----------------------------------


def loss_report_statistics(
    date_from: date, date_to: date, *, now: datetime | None = None, exclude_call_ids: Iterable[str] = ()
) -> dict[str, Any]:
    """Verbal loss reports made in ``[date_from, date_to]`` (Asia/Shanghai local dates,
    inclusive) and where they stand now: ``in_force`` (active and still valid), ``cancelled``,
    ``expired`` (marked expired, or active past its validity and not yet marked), ``formalized``
    (reported formally at an outlet since). Per channel (``ivr``, ``agent``, ``counter``: every
    channel listed, also with nothing) and in total. Reports made on ``exclude_call_ids`` (test
    calls; the simulator's own are never written) are left out. One query."""
    from django.db.models import Count

    from core.dates import local_day_bounds

    now = now or timezone.now()
    start, end = local_day_bounds(date_from, date_to)
    reports = LossReport.objects.filter(created_at__gte=start, created_at__lt=end)
    excluded = [call_id for call_id in set(exclude_call_ids) if call_id]
    if excluded:
        reports = reports.exclude(call_id__in=excluded)
    rows = (
        reports.annotate(still_valid=Q(valid_until__gt=now))
        .values("channel", "status", "still_valid")
        .order_by()
        .annotate(n=Count("pk"))
    )

    def empty() -> dict[str, int]:
        return {"reported": 0, "in_force": 0, "cancelled": 0, "expired": 0, "formalized": 0}

    channels = {code: empty() for code in LossReport.Channel.values}
    total = empty()
    for row in rows:
        status = row["status"]
        if status == LossReport.Status.ACTIVE:
            key = "in_force" if row["still_valid"] else "expired"
        else:
            key = {"cancelled": "cancelled", "expired": "expired", "formalized": "formalized"}.get(status, "")
        entry = channels.setdefault(row["channel"], empty())
        for target in (entry, total):
            target["reported"] += row["n"]
            if key:
                target[key] += row["n"]
    labels = dict(LossReport.Channel.choices)
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        **total,
        "by_channel": [
            {"channel": code, "label": labels.get(code, code), **figures} for code, figures in channels.items()
        ],
    }


def ivr_transfer_statistics(date_from: date, date_to: date) -> dict[str, Any]:
    """Transfers customers made in the IVR and banking executed in ``[date_from, date_to]``
    (Asia/Shanghai local dates, inclusive): ledger transactions of kind ``transfer`` and channel
    ``ivr`` — ``executed`` (count) and ``amount_fen`` (their total, integer fen). A refused transfer
    writes nothing here (the IVR records it: ``ivr.selectors.ivr_transfer_refusals``); a test
    call's is rolled back. One query."""
    from django.db.models import Count, Sum

    from core.dates import local_day_bounds

    from .models import LedgerTransaction

    start, end = local_day_bounds(date_from, date_to)
    totals = LedgerTransaction.objects.filter(
        kind=LedgerTransaction.Kind.TRANSFER,
        channel=LedgerTransaction.Channel.IVR,
        created_at__gte=start,
        created_at__lt=end,
    ).aggregate(executed=Count("pk"), amount_fen=Sum("amount_fen"))
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "executed": totals["executed"] or 0,
        "amount_fen": int(totals["amount_fen"] or 0),
    }


def transfer_refusal_labels() -> dict[str, Any]:
    """``{refusal code: label}`` (translatable) of every code a transfer can be refused with:
    banking's transfer rules (``transfer_rules.REFUSALS``), no phone-banking registration and an
    amount that is not one. The label is the refusal's own message (one wording everywhere)."""
    from . import errors
    from .transfer_rules import REFUSALS

    labels: dict[str, Any] = {
        errors.NotRegistered.code: errors.NotRegistered.default_message,
        errors.InvalidAmount.code: errors.InvalidAmount.default_message,
    }
    for factory in REFUSALS.values():
        error = factory()
        labels.setdefault(error.code, type(error).default_message)
    # The two limits refuse with one code (the limit is only in the error's details).
    labels[errors.LimitExceeded.code] = _("The amount exceeds the per-transfer or the daily limit.")
    return labels


def sms_notice_of(account: Account) -> SmsNoticeSubscription | None:
    """The account's 短信通 subscription (active or not), ``None`` when it never had one."""
    return SmsNoticeSubscription.objects.filter(account=account).first()


# --- for outbound campaigns (``calls.outbound.segments``): a customer segment, without a scope ------


def customers_in_segment(
    *,
    account_kinds: Iterable[str] = (Account.Kind.DEBIT_CARD,),
    min_balance_fen: int = 0,
    sms_notice: bool | None = None,
    limit: int | None = None,
) -> Iterable[tuple[int, str, str]]:
    """(customer id, name, mobile) of the customers with an active account of ``account_kinds``
    holding at least ``min_balance_fen``, and (``sms_notice`` True/False) with or without an active
    短信通 subscription on one of their accounts; oldest customer first, streamed."""
    accounts = Account.objects.filter(
        customer_id=OuterRef("pk"),
        kind__in=list(account_kinds),
        status=Account.Status.ACTIVE,
        is_internal=False,
        balance_fen__gte=min_balance_fen,
    )
    rows = Customer.objects.filter(Exists(accounts)).exclude(mobile="")
    if sms_notice is not None:
        notices = SmsNoticeSubscription.objects.filter(account__customer_id=OuterRef("pk"), active=True)
        rows = rows.filter(Exists(notices)) if sms_notice else rows.exclude(Exists(notices))
    rows = rows.order_by("id")
    if limit is not None:
        rows = rows[:limit]
    return rows.values_list("id", "name", "mobile").iterator(chunk_size=2000)
