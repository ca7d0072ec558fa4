"""Nothing a customer must keep secret — passwords, PINs, full card or account numbers, the ID
number — shows up in logs, error messages, API error bodies, SMS texts, account events or the
audit log, through every flow that handles them (DESIGN.md §4)."""

import json
import logging

import pytest

from audit.models import AuditEvent
from banking import errors
from banking.models import AccountEvent, LedgerTransaction, LossReport
from banking.services.accounts import (
    account_link,
    account_open,
    customer_create,
    registration_create,
    sms_notice_subscribe,
)
from banking.services.loss_reports import loss_report_cancel, loss_report_register
from banking.services.passwords import password_verify, registration_unlock
from banking.services.transfers import transfer_execute
from core.api.exceptions import exception_handler
from notifications.models import SmsOutbox
from tests.factories import UnitFactory

pytestmark = pytest.mark.django_db

CARD = "6217000011112222333"
PASSBOOK = "01019988776655"
ID_NUMBER = "12010519771231471X"
PHONE_PIN = "739184"
WITHDRAWAL_PIN = "582046"
WRONG_PINS = ["901273", "640518", "357902"]
SECRETS = [CARD, PASSBOOK, ID_NUMBER, PHONE_PIN, WITHDRAWAL_PIN, *WRONG_PINS]


def test_no_password_or_full_number_leaks_anywhere(caplog, staff):
    from org.roles import Role

    caplog.set_level(logging.DEBUG)
    refusals: list[errors.DomainError] = []

    def refused(call, *args, **kwargs):
        try:
            call(*args, **kwargs)
        except errors.DomainError as exc:
            refusals.append(exc)
            return exc
        raise AssertionError(f"{call.__name__} was expected to refuse")

    unit = UnitFactory(code="B01")
    customer = customer_create(name="保密", mobile="13812345678", id_number=ID_NUMBER, home_unit=unit)
    card = account_open(
        customer=customer,
        kind="debit_card",
        number=CARD,
        unit=unit,
        withdrawal_password=WITHDRAWAL_PIN,
        opening_balance_fen=1_000_000,
    )
    book = account_open(
        customer=customer, kind="savings_passbook", number=PASSBOOK, unit=unit, withdrawal_password=WITHDRAWAL_PIN
    )
    registration = registration_create(account=card, password=PHONE_PIN)
    account_link(registration=registration, account=book, code="01")
    sms_notice_subscribe(account=card, phone=customer.mobile)

    transfer = {"registration": registration, "channel": "ivr", "call_id": "call-1"}
    transfer_execute(from_account=card, to_account=book, amount="100", idempotency_key="k1", **transfer)
    transfer_execute(from_account=book, to_account=card, amount="50", idempotency_key="k2", **transfer)
    refused(transfer_execute, from_account=book, to_account=card, amount="51", idempotency_key="k3", **transfer)
    refused(transfer_execute, from_account=card, to_account=book, amount="1", idempotency_key="k1", **transfer)
    refused(transfer_execute, from_account=card, to_account=book, amount=CARD, idempotency_key="k4", **transfer)
    refused(
        transfer_execute,
        from_account=card,
        to_account=book,
        amount=PHONE_PIN + ".001",
        idempotency_key="k5",
        **transfer,
    )

    assert password_verify(registration=registration, password=PHONE_PIN, channel="ivr") is True
    for wrong in WRONG_PINS[:2]:
        assert password_verify(registration=registration, password=wrong, channel="ivr") is False
    refused(password_verify, registration=registration, password=WRONG_PINS[2], channel="ivr")
    refused(password_verify, registration=registration, password=PHONE_PIN, channel="ivr")
    registration_unlock(registration=registration, actor=staff[Role.TEAM_LEAD], call_id="call-2")

    refused(loss_report_register, account=card, verification="password", channel="ivr", password=WRONG_PINS[0])
    report = loss_report_register(
        account=card, verification="password", channel="ivr", password=WITHDRAWAL_PIN, call_id="call-3"
    )
    refused(transfer_execute, from_account=card, to_account=book, amount="1", idempotency_key="k6", **transfer)
    loss_report_cancel(loss_report=report, actor=staff[Role.AGENT], channel="agent")
    refused(account_open, customer=customer, kind="debit_card", number=CARD, unit=unit, withdrawal_password="1")
    refused(customer_create, name="x", mobile="13812345678", id_number=ID_NUMBER, home_unit=unit)

    haystacks = {
        "logs": [record.getMessage() for record in caplog.records] + [caplog.text],
        "errors": [f"{exc.code} {exc.message} {exc.details} {exc!r}" for exc in refusals],
        "api bodies": [json.dumps(exception_handler(exc, {}).data, ensure_ascii=False) for exc in refusals],
        "sms": list(SmsOutbox.objects.values_list("text", flat=True)),
        "account events": [
            json.dumps([e.before, e.after, e.call_id], ensure_ascii=False) for e in AccountEvent.objects.all()
        ],
        "audit": [json.dumps(a.details, ensure_ascii=False) + a.object_id for a in AuditEvent.objects.all()],
        "ledger": list(LedgerTransaction.objects.values_list("memo", "call_id", "idempotency_key")),
        "loss reports": list(LossReport.objects.values_list("call_id", flat=True)),
    }
    assert caplog.records and len(refusals) >= 9 and SmsOutbox.objects.count() >= 4  # the flows did run
    assert AccountEvent.objects.filter(kind__in=["password_failed", "registration_locked"]).count() == 4
    for where, texts in haystacks.items():
        blob = "\n".join(map(str, texts))
        leaked = [secret for secret in SECRETS if secret in blob]
        assert leaked == [], f"{where} contain {len(leaked)} secret(s)"
