"""Verbal loss reports (口头挂失): registration, cancellation, expiry and the reminder SMS."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications import texts

from .. import errors, sms_texts
from ..events import account_event_record
from ..locks import lock_accounts, retry_on_conflict
from ..models import Account, LossReport
from ..models import AccountEvent as Event
from .common import Actor, ensure_active, user_or_none, validate_choice

logger = logging.getLogger(__name__)

logger = logging.getLogger(__name__)

# --- verbal loss reports --------------------------------------------------------------------------


def _customer_sms(account: Account, spec: texts.TemplateSpec, **values: str) -> None:
    """The message ``spec`` about ``account`` to its customer's mobile, if on record."""
    customer = account.customer if account.customer_id else None
    mobile = customer.mobile if customer is not None else ""
    if mobile:
        texts.enqueue(key=spec.key, phone=mobile, values={**sms_texts.account_values(account), **values})


@retry_on_conflict
@transaction.atomic
def _withdrawal_password_failed(*, account: Account, channel: str, call_id: str, actor: Actor) -> None:
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
    actor: Actor = None,
    password: str | None = None,
) -> LossReport:
    """A verbal loss report: the account is blocked at once (``verbally_lost``) and the report is
    valid ``BANKING_LOSS_REPORT_VALID_DAYS`` days; the customer gets an SMS.

    ``verification`` is ``id_document`` (the agent checked the caller) or ``password`` (the
    account's withdrawal password, given in ``password``; a wrong one is refused with
    ``wrong_password`` and recorded as a ``password_failed`` event, which stays recorded).
    Refused with ``account_lost`` when already lost and ``account_blocked`` when frozen/closed.
    """
    validate_choice(verification, LossReport.Verification.values, _("Unknown verification method."))
    validate_choice(channel, LossReport.Channel.values, _("Unknown channel."))
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
def _loss_report_create(*, account: Account, verification: str, channel: str, call_id: str, actor: Actor) -> LossReport:
    locked = lock_accounts(account.pk)[account.pk]
    ensure_active(locked)
    # After the lock, like a posting's time (see write_transaction).
    now = timezone.now()
    valid_until = now + timedelta(days=settings.BANKING_LOSS_REPORT_VALID_DAYS)
    Account.objects.filter(pk=locked.pk).update(status=Account.Status.VERBALLY_LOST)
    locked.status = Account.Status.VERBALLY_LOST
    report = LossReport.objects.create(
        account=locked,
        channel=channel,
        verification=verification,
        call_id=call_id[:128],
        reported_by=user_or_none(actor),
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
        sms_texts.LOSS_REPORTED_SPEC,
        time=sms_texts.sms_time(now),
        valid_until=sms_texts.sms_time(valid_until),
    )
    logger.info(
        "verbal loss report %s registered for account %s (channel %s, call %s)", report.pk, locked.pk, channel, call_id
    )
    return report


@retry_on_conflict
@transaction.atomic
def loss_report_cancel(*, loss_report: LossReport, actor: Actor, channel: str, call_id: str = "") -> LossReport:
    """Cancel an active verbal loss report (after an identity check); the account is active again.
    Refused with ``loss_report_not_active`` for a cancelled, expired or formalized report."""
    validate_choice(channel, LossReport.Channel.values, _("Unknown channel."))
    locked = lock_accounts(loss_report.account_id)[loss_report.account_id]
    report = LossReport.objects.get(pk=loss_report.pk)  # re-read under the account's lock
    if report.status != LossReport.Status.ACTIVE:
        raise errors.LossReportNotActive()
    now = timezone.now()
    report.status, report.cancelled_at, report.cancelled_by = LossReport.Status.CANCELLED, now, user_or_none(actor)
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
    _customer_sms(locked, sms_texts.LOSS_CANCELLED_SPEC, time=sms_texts.sms_time(now))
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
    _customer_sms(locked, sms_texts.LOSS_REMINDER_SPEC, valid_until=sms_texts.sms_time(report.valid_until))
    return 1
