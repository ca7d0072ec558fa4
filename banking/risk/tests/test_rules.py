"""Each risk rule fires on its pattern and stays quiet just below it; one open alert per pattern."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from banking.errors import RegistrationLocked
from banking.models import AccountEvent, LedgerTransaction
from banking.risk.models import Alert, AlertEvidence, AlertLog, IvrObservation
from banking.risk.services import alert_close
from banking.services.accounts import account_link, internal_account, sms_notice_subscribe
from banking.services.ledger import ledger_post
from banking.services.loss_reports import loss_report_register
from banking.services.passwords import password_verify, registration_unlock
from tests.factories_banking import AccountFactory, PassbookFactory, phone_banking

from .conftest import opened_long_ago, transfer

pytestmark = pytest.mark.django_db
_calls = itertools.count(1)


def alerts(rule=None):
    found = Alert.objects.all()
    return list(found.filter(rule=rule) if rule else found)


def wrong_passwords(pb, count, *, call_id="call-pw"):
    for _n in range(count):
        try:
            assert (
                password_verify(registration=pb.registration, password="000000", channel="ivr", call_id=call_id)
                is False
            )
        except RegistrationLocked:
            pass


# --- password failures and lockouts -------------------------------------------------------------


def test_one_lockout_after_three_wrong_passwords_is_quiet(monitor, pb):
    wrong_passwords(pb, 3)
    monitor()
    assert AccountEvent.objects.filter(kind=AccountEvent.Kind.REGISTRATION_LOCKED).count() == 1
    assert alerts() == []


def test_five_wrong_passwords_within_the_hour_raise_password_failures(monitor, pb, team_lead):
    wrong_passwords(pb, 3)  # locked at the third
    registration_unlock(registration=pb.registration, actor=team_lead, reason="identity checked")
    wrong_passwords(pb, 2, call_id="call-pw-2")
    monitor()
    [alert] = alerts(Alert.Rule.PASSWORD_FAILURES)
    assert alert.account_id == pb.card.pk and alert.customer_id == pb.customer.pk
    assert alert.details["count"] == 5 and alert.status == Alert.Status.OPEN
    assert sorted(alert.details["calls"]) == ["call-pw", "call-pw-2"]
    assert alert.evidence.count() == 5
    assert set(alert.evidence.values_list("source", flat=True)) == {AlertEvidence.Source.ACCOUNT_EVENT}
    assert alerts(Alert.Rule.LOCKOUTS) == []  # one lock only


def test_a_second_lockout_within_a_day_raises_lockouts(monitor, pb, team_lead):
    wrong_passwords(pb, 3)
    registration_unlock(registration=pb.registration, actor=team_lead)
    wrong_passwords(pb, 3)
    monitor()
    [alert] = alerts(Alert.Rule.LOCKOUTS)
    assert alert.details["count"] == 2
    assert {e.kind for e in alert.evidence.all()} == {AccountEvent.Kind.REGISTRATION_LOCKED}


def test_failures_spread_over_more_than_the_window_are_quiet(monitor, pb, team_lead):
    old = timezone.now() - timedelta(minutes=61)
    for _n in range(4):
        AccountEvent.objects.create(account=pb.card, kind=AccountEvent.Kind.PASSWORD_FAILED, created_at=old)
    wrong_passwords(pb, 1)
    monitor()
    assert alerts() == []


# --- transfers ----------------------------------------------------------------------------------


def test_five_transfers_in_ten_minutes_raise_a_burst_and_four_do_not(monitor, pb):
    for _n in range(4):
        transfer(pb, "10.00")
    monitor()
    assert alerts() == []
    transfer(pb, "10.00")
    monitor()
    [alert] = alerts(Alert.Rule.TRANSFER_BURST)
    assert alert.details["count"] == 5 and alert.details["total"] == "50.00"
    assert alert.evidence.filter(source=AlertEvidence.Source.LEDGER).count() == 5
    assert alert.account_id == pb.card.pk


def test_a_large_transfer_raises_an_alert_and_one_fen_less_does_not(monitor, pb):
    transfer(pb, "19999.99")
    monitor()
    assert alerts() == []
    txn = transfer(pb, "20000.00", call_id="call-large")
    monitor()
    [alert] = alerts(Alert.Rule.LARGE_TRANSFER)
    assert alert.details["amount"] == "20000.00" and alert.call_id == "call-large"
    assert list(alert.evidence.values_list("source_id", flat=True)) == [txn.pk]
    assert alert.evidence.get().call_id == "call-large"


def test_a_transfer_soon_after_a_loss_report_raises_an_alert(monitor, pb, agent):
    other = PassbookFactory(customer=pb.customer, opening_fen=100)
    opened_long_ago(other)
    loss_report_register(account=other, verification="id_document", channel="agent", call_id="call-loss", actor=agent)
    transfer(pb, "50.00")
    monitor()
    [alert] = alerts(Alert.Rule.TRANSFER_AFTER_CHANGE)
    assert alert.details["changes"] == [AccountEvent.Kind.LOSS_REPORTED]
    kinds = sorted(alert.evidence.values_list("source", "kind"))
    assert kinds == [("account_event", "loss_reported"), ("ledger", "transfer")]


def test_a_transfer_soon_after_the_sms_notice_changed_raises_an_alert(monitor, pb):
    sms_notice_subscribe(account=pb.card, phone="13900000000")
    transfer(pb, "50.00")
    monitor()
    [alert] = alerts(Alert.Rule.TRANSFER_AFTER_CHANGE)
    assert alert.details["changes"] == [AccountEvent.Kind.SMS_NOTICE_CHANGED]


def test_a_transfer_to_a_newly_linked_account_raises_an_alert(monitor, pb):
    existing = PassbookFactory(customer=pb.customer, opening_fen=0)
    opened_long_ago(existing)
    account_link(registration=pb.registration, account=existing, code="09")
    transfer(pb, "50.00", to=existing)
    monitor()
    [alert] = alerts(Alert.Rule.TRANSFER_AFTER_CHANGE)
    assert AccountEvent.Kind.LINKED in alert.details["changes"]


def test_what_was_done_while_an_account_was_set_up_is_no_change(monitor):
    """Opened, registered, linked and subscribed in one visit, then a transfer: quiet."""
    from banking.services.accounts import registration_create

    card = AccountFactory(opening_fen=1_000_000)
    registration = registration_create(account=card, password="135790")
    passbook = PassbookFactory(customer=card.customer, opening_fen=0)
    account_link(registration=registration, account=passbook, code="01")
    sms_notice_subscribe(account=card, phone=card.customer.mobile)
    registration.refresh_from_db()
    from banking.services.transfers import transfer_execute

    transfer_execute(
        registration=registration,
        from_account=card,
        to_account=passbook,
        amount="100.00",
        idempotency_key="setup-1",
        channel="ivr",
    )
    monitor()
    assert alerts() == []


def test_a_transfer_a_day_after_a_change_is_quiet(monitor, pb):
    AccountEvent.objects.create(
        account=pb.card, kind=AccountEvent.Kind.REGISTERED, created_at=timezone.now() - timedelta(hours=25)
    )
    transfer(pb, "50.00")
    monitor()
    assert alerts() == []


# --- batch credits ------------------------------------------------------------------------------


def batch_credit(account, fen):
    return ledger_post(
        kind=LedgerTransaction.Kind.BATCH_CREDIT,
        lines=[(internal_account("SETTLEMENT"), -fen), (account, fen)],
        channel=LedgerTransaction.Channel.BATCH,
        memo="POS prize",
    )


def test_three_batch_items_to_one_account_raise_an_alert_two_do_not(monitor):
    account = PassbookFactory(opening_fen=0)
    batch_credit(account, 5000)
    batch_credit(account, 5000)
    monitor()
    assert alerts() == []
    batch_credit(account, 5000)
    monitor()
    [alert] = alerts(Alert.Rule.BATCH_CONCENTRATION)
    assert alert.details["count"] == 3 and alert.details["total"] == "150.00"
    assert alert.account_id == account.pk and alert.customer_id == account.customer_id
    assert alert.evidence.count() == 3


def test_one_batch_item_above_the_total_raises_an_alert(monitor):
    account = PassbookFactory(opening_fen=0)
    batch_credit(account, 999_999)
    monitor()
    assert alerts() == []
    other = PassbookFactory(opening_fen=0)
    batch_credit(other, 1_000_000)
    monitor()
    assert [a.account_id for a in alerts(Alert.Rule.BATCH_CONCENTRATION)] == [other.pk]


def test_many_batch_items_in_one_scan_are_one_alert_per_account(monitor):
    accounts = [PassbookFactory(opening_fen=0) for _n in range(3)]
    for _n in range(4):
        for account in accounts[:2]:
            batch_credit(account, 100)
    batch_credit(accounts[2], 100)
    monitor()
    assert sorted(a.account_id for a in alerts()) == sorted(a.pk for a in accounts[:2])


# --- the IVR ------------------------------------------------------------------------------------


def ivr_call(ani, *, account=None, is_test=False):
    from ivr.demo import seed_default_menu
    from ivr.models import IvrCall

    return IvrCall.objects.create(
        call_id=f"risk-ivr-{next(_calls)}",
        ani=ani,
        version=seed_default_menu(),
        is_test=is_test,
        verified=account is not None,
        account_id=account.pk if account is not None else None,
    )


def ivr_digits(call, *, step="", digits="1", prompt="account_menu"):
    from ivr.models import IvrEvent

    call.last_seq += 1
    call.save(update_fields=["last_seq"])
    return IvrEvent.objects.create(
        call=call,
        seq=call.last_seq,
        type=IvrEvent.Type.DIGITS,
        digits=digits,
        step=step,
        node="account",
        response={"actions": [{"type": "say", "prompt": prompt, "data": {}}]},
    )


def test_one_phone_trying_three_card_numbers_raises_probing(monitor, pb):
    call = ivr_call("tel:+8613912345678")
    ivr_digits(call, step="number", digits="6228480000000001", prompt="auth_failed")
    ivr_digits(call, step="number", digits="6228480000000002", prompt="auth_failed")
    monitor()
    assert alerts() == []
    second = ivr_call("13912345678")  # the same phone, written the other way, calling again
    ivr_digits(second, step="number", digits=pb.card.number, prompt="enter_password")
    monitor()
    [alert] = alerts(Alert.Rule.IVR_CARD_PROBING)
    assert alert.details["numbers"] == 3 and alert.details["calls"] == 2
    assert alert.details["phone"] == "139****5678"
    evidence = list(alert.evidence.order_by("at", "id"))
    assert [e.source for e in evidence] == ["ivr"] * 3
    assert evidence[-1].account_id == pb.card.pk and evidence[-1].customer_id == pb.customer.pk
    # Never a full number in what the rules keep.
    stored = " ".join(str(v) for v in IvrObservation.objects.values_list("number_masked", "ani_masked", "number_key"))
    assert pb.card.number not in stored and "6228480000000001" not in stored


def test_the_same_number_retyped_and_test_calls_are_quiet(monitor, pb):
    call = ivr_call("13912345678")
    for _n in range(4):
        ivr_digits(call, step="number", digits=pb.card.number, prompt="enter_password")
    simulator = ivr_call("simulator", is_test=True)
    for n in range(5):
        ivr_digits(simulator, step="number", digits=f"622848000000000{n}", prompt="auth_failed")
    monitor()
    assert alerts() == []
    assert IvrObservation.objects.filter(call_id=simulator.call_id).count() == 0


def test_one_account_balance_from_three_phones_raises_an_alert(monitor, pb):
    for ani in ("13900000001", "13900000002"):
        ivr_digits(ivr_call(ani, account=pb.card), prompt="balance")
    monitor()
    assert alerts() == []
    ivr_digits(ivr_call("13900000003", account=pb.card), prompt="balance")
    monitor()
    [alert] = alerts(Alert.Rule.BALANCE_MANY_PHONES)
    assert alert.account_id == pb.card.pk and alert.customer_id == pb.customer.pk
    assert alert.details["phones"] == 3 and alert.evidence.count() == 3


def test_balance_asked_often_from_one_phone_is_quiet(monitor, pb):
    for _n in range(6):
        ivr_digits(ivr_call("13800000001", account=pb.card), prompt="balance")
    monitor()
    assert alerts() == []
    assert IvrObservation.objects.filter(kind=IvrObservation.Kind.BALANCE_QUERY).count() == 6


# --- one open alert per pattern -----------------------------------------------------------------


def test_the_same_pattern_adds_evidence_to_the_open_alert_and_a_new_one_after_closing(monitor, pb, risk_officer):
    first = transfer(pb, "20000.00")
    monitor()
    second = transfer(pb, "30000.00")
    monitor()
    [alert] = alerts(Alert.Rule.LARGE_TRANSFER)
    assert alert.hits == 2 and alert.details["amount"] == "30000.00"
    assert sorted(alert.evidence.values_list("source_id", flat=True)) == [first.pk, second.pk]
    assert AlertLog.objects.filter(alert=alert, action="raised").count() == 1

    alert_close(alert=alert, actor=risk_officer, outcome=Alert.Outcome.FALSE_POSITIVE, note="salary")
    third = transfer(pb, "20000.00")
    monitor()
    opened = Alert.objects.filter(rule=Alert.Rule.LARGE_TRANSFER).exclude(status=Alert.Status.CLOSED).get()
    assert opened.pk != alert.pk and list(opened.evidence.values_list("source_id", flat=True)) == [third.pk]


def test_the_database_refuses_a_second_open_alert_for_one_pattern(db):
    from django.db import IntegrityError, transaction

    Alert.objects.create(rule=Alert.Rule.LARGE_TRANSFER, dedupe_key="large_transfer:account:1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(rule=Alert.Rule.LARGE_TRANSFER, dedupe_key="large_transfer:account:1")
    Alert.objects.create(
        rule=Alert.Rule.LARGE_TRANSFER, dedupe_key="large_transfer:account:1", status="closed", outcome="false_positive"
    )
    assert Alert.objects.count() == 2


def test_another_customer_is_another_pattern(monitor, pb):
    other = phone_banking(card_fen=10_000_000)
    transfer(pb, "20000.00")
    transfer(other, "20000.00")
    monitor()
    assert sorted(a.customer_id for a in alerts()) == sorted([pb.customer.pk, other.customer.pk])
