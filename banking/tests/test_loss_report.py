"""Verbal loss report: blocks at once, valid 5 days (setting), records channel, verification and
call; SMS to the customer; cancel needs an active report; expiry keeps the account blocked."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from banking import errors
from banking.models import Account, AccountEvent, LossReport
from banking.services.accounts import internal_account
from banking.services.loss_reports import (
    loss_report_cancel,
    loss_report_register,
    loss_report_reminders_send,
    loss_reports_expire,
)
from banking.services.transfers import transfer_execute
from notifications.models import SmsOutbox
from tests.factories_banking import WITHDRAWAL_PIN

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 10, 5, tzinfo=SHANGHAI)


@pytest.fixture
def frozen_now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def report(account, **kwargs):
    kwargs.setdefault("verification", "id_document")
    kwargs.setdefault("channel", "agent")
    return loss_report_register(account=account, **kwargs)


def status(account):
    return Account.objects.get(pk=account.pk).status


def test_loss_report_blocks_the_account_at_once_for_5_days(pb, agent, frozen_now):
    loss = report(pb.card, call_id="call-7", actor=agent)
    assert status(pb.card) == "verbally_lost" and pb.card.status == "verbally_lost"
    assert loss.status == "active" and loss.valid_until == NOW + timedelta(days=5)
    assert (loss.channel, loss.verification, loss.call_id, loss.reported_by) == (
        "agent",
        "id_document",
        "call-7",
        agent,
    )
    assert loss.account.status == "verbally_lost"
    event = AccountEvent.objects.get(account=pb.card, kind="loss_reported")
    assert event.before == {"status": "active"} and event.after["status"] == "verbally_lost"
    assert event.actor == agent and event.call_id == "call-7"


def test_validity_is_a_setting(pb, settings, frozen_now):
    settings.BANKING_LOSS_REPORT_VALID_DAYS = 7
    assert report(pb.card).valid_until == NOW + timedelta(days=7)


def test_the_customer_gets_an_sms_with_the_masked_number_and_the_validity(pb, frozen_now):
    report(pb.card)
    sms = SmsOutbox.objects.get()
    assert sms.phone == pb.customer.mobile and sms.kind == "loss_report"
    assert f"尾号{pb.card.number[-4:]}的借记卡" in sms.text and "有效期至12月4日10:05" in sms.text
    assert pb.card.number not in sms.text


def test_a_passbook_can_be_reported_lost(pb):
    report(pb.linked[0], channel="ivr", verification="password", password=WITHDRAWAL_PIN)
    assert status(pb.linked[0]) == "verbally_lost"
    assert "活期储蓄存折" in SmsOutbox.objects.get().text


def test_wrong_withdrawal_password_is_refused_and_recorded(pb):
    with pytest.raises(errors.WrongPassword) as caught:
        report(pb.card, channel="ivr", verification="password", password="999999", call_id="c1")
    assert caught.value.code == "wrong_password"
    assert status(pb.card) == "active" and not LossReport.objects.exists()
    event = AccountEvent.objects.get(account=pb.card, kind="password_failed")
    assert event.call_id == "c1" and "999999" not in str(event.before) + str(event.after)


def test_password_verification_without_a_password_is_refused(pb):
    with pytest.raises(errors.WrongPassword):
        report(pb.card, verification="password")


@pytest.mark.parametrize(
    ("current", "error"),
    [
        ("verbally_lost", errors.AccountLost),
        ("formally_lost", errors.AccountLost),
        ("frozen", errors.AccountBlocked),
        ("closed", errors.AccountBlocked),
    ],
)
def test_an_account_already_lost_frozen_or_closed_cannot_be_reported(pb, current, error):
    Account.objects.filter(pk=pb.card.pk).update(status=current)
    with pytest.raises(error):
        report(pb.card)
    assert not LossReport.objects.exists() and status(pb.card) == current


def test_reporting_twice_is_refused(pb):
    report(pb.card)
    with pytest.raises(errors.AccountLost):
        report(pb.card)
    assert LossReport.objects.count() == 1


def test_an_internal_account_cannot_be_reported(db):
    with pytest.raises(errors.AccountNotFound):
        report(internal_account("SUSPENSE"))


@pytest.mark.parametrize(("field", "value"), [("verification", "fingerprint"), ("channel", "fax")])
def test_unknown_verification_or_channel_is_refused(pb, field, value):
    with pytest.raises(errors.InvalidInput):
        report(pb.card, **{field: value})


def test_after_a_loss_report_transfers_from_or_to_the_account_are_refused(pb):
    report(pb.linked[0])
    for source, target in ((pb.card, pb.linked[0]), (pb.linked[0], pb.card)):
        with pytest.raises(errors.AccountLost):
            transfer_execute(
                registration=pb.registration,
                from_account=source,
                to_account=target,
                amount="1",
                idempotency_key=f"k{source.pk}",
                channel="ivr",
            )


def test_cancel_reactivates_the_account(pb, agent, team_lead):
    loss = report(pb.card, actor=agent)
    cancelled = loss_report_cancel(loss_report=loss, actor=team_lead, channel="agent", call_id="c2")
    assert cancelled.status == "cancelled" and cancelled.cancelled_by == team_lead and cancelled.cancelled_at
    assert status(pb.card) == "active"
    event = AccountEvent.objects.get(account=pb.card, kind="loss_cancelled")
    assert event.before["status"] == "verbally_lost" and event.after["status"] == "active" and event.actor == team_lead
    assert SmsOutbox.objects.filter(text__contains="撤销口头挂失").count() == 1


def test_cancel_needs_an_active_report(pb, team_lead):
    loss = report(pb.card)
    loss_report_cancel(loss_report=loss, actor=team_lead, channel="agent")
    with pytest.raises(errors.LossReportNotActive) as caught:
        loss_report_cancel(loss_report=loss, actor=team_lead, channel="agent")
    assert caught.value.code == "loss_report_not_active" and caught.value.status == 409


def test_a_report_expires_after_its_validity_and_the_account_stays_blocked(pb, frozen_now):
    loss = report(pb.card)
    assert loss_reports_expire(now=NOW + timedelta(days=5) - timedelta(seconds=1)) == 0
    assert loss_reports_expire(now=NOW + timedelta(days=5)) == 1
    loss.refresh_from_db()
    assert loss.status == "expired" and status(pb.card) == "verbally_lost"
    assert AccountEvent.objects.filter(account=pb.card, kind="loss_expired").count() == 1
    assert loss_reports_expire(now=NOW + timedelta(days=6)) == 0  # nothing twice


def test_an_expired_report_cannot_be_cancelled(pb, team_lead, frozen_now):
    loss = report(pb.card)
    loss_reports_expire(now=NOW + timedelta(days=6))
    with pytest.raises(errors.LossReportNotActive):
        loss_report_cancel(loss_report=loss, actor=team_lead, channel="agent")
    assert status(pb.card) == "verbally_lost"


def test_a_reminder_goes_out_once_a_day_before_expiry(pb, frozen_now):
    report(pb.card)
    assert loss_report_reminders_send(now=NOW + timedelta(days=3)) == 0
    assert loss_report_reminders_send(now=NOW + timedelta(days=4, hours=1)) == 1
    assert loss_report_reminders_send(now=NOW + timedelta(days=4, hours=2)) == 0
    reminder = SmsOutbox.objects.filter(text__contains="将于").get()
    assert "12月4日10:05到期" in reminder.text and pb.card.number not in reminder.text
