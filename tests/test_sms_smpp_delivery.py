"""An outbox row delivered end to end over SMPP against the test SMSC: claimed, submitted in
UCS-2, marked sent with the SMSC's message id, then delivered by the receipt the SMSC sends (on
the session's reader thread, into the database); a receipt that outruns the stored id is
refused so the SMSC sends it again; a message whose submit response never came ends in the
dead letters, not resent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import delivery
from notifications.gateways.smpp import SmppGateway
from notifications.models import SmsOutbox
from notifications.services import sms_enqueue
from tests.smpp_server import SmppTestServer

pytestmark = pytest.mark.django_db(transaction=True)  # the receipt is written from another thread


@pytest.fixture
def smsc():
    with SmppTestServer(system_id="bank", password="secret") as server:
        yield server


@pytest.fixture
def gateway(smsc, monkeypatch):
    monkeypatch.setattr(delivery, "schedule", lambda ids: None)
    gateway = SmppGateway(
        smsc.host, smsc.port, "bank", "secret", source_addr="95580", on_receipt=delivery._smpp_receipt, timeout_s=1.0
    )
    yield gateway
    gateway.close()


def test_a_notice_goes_out_over_smpp_and_its_receipt_marks_it_delivered(smsc, gateway):
    row = sms_enqueue(phone="13900001234", kind="service", text="【农合银行】您的工单000123已办结，感谢您的耐心。")
    [claimed] = delivery.claim(ids=[row.pk])
    assert delivery.send_claimed(claimed, via=gateway) == "sent"
    row.refresh_from_db()
    assert row.status == "sent" and row.gateway == "smpp" and row.gateway_id
    [submit] = smsc.submits
    assert submit.data_coding == 0x08 and submit.text == row.text  # UCS-2, one segment
    sequence = smsc.send_receipt(row.gateway_id, "DELIVRD")
    # The gateway answers the receipt once its handler has committed: wait for the answer rather
    # than poll the table while the reader thread writes it (SQLite's shared-cache test database
    # refuses a read during that write with "table is locked" instead of waiting).
    response = smsc.wait_for(lambda: smsc.response_to("deliver_sm_resp", sequence))
    assert response.status == 0
    assert SmsOutbox.objects.get(pk=row.pk).status == "delivered"


def test_a_receipt_for_an_id_not_stored_yet_is_refused_for_a_later_resend(smsc, gateway):
    gateway.connect()
    sequence = smsc.send_receipt("not-stored-yet", "DELIVRD")
    response = smsc.wait_for(lambda: smsc.response_to("deliver_sm_resp", sequence))
    assert response.status != 0  # a temporary error: the SMSC keeps the receipt and tries again


def test_a_submit_without_response_is_never_resent_blindly(smsc, gateway, settings):
    settings.SMS_SENDING_STALE_S = 0
    row = sms_enqueue(phone="13900001234", kind="service", text="【农合银行】测试短信")
    smsc.skip_next()
    [claimed] = delivery.claim(ids=[row.pk])
    assert delivery.send_claimed(claimed, via=gateway) == "sending"
    outcome = delivery.reconcile_stale(now=timezone.now() + timedelta(seconds=1), via=gateway)
    row.refresh_from_db()
    assert len(smsc.submits) == 1
    assert (outcome["unknown"], row.status, row.last_error) == (1, "failed", "unknown_outcome")
