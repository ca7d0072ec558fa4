"""The HTTP gateway against a provider the test runs on 127.0.0.1: signed JSON with the row id
as idempotency key, refusals and temporary errors told apart, a timeout that may have sent,
reconciliation by GET; the delivery-report webhook checks the signature; the outbox API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications import delivery
from notifications.gateways.base import GatewayError, GatewayRejected, OutgoingSms
from notifications.gateways.http import HttpGateway, signature, verify_signature
from notifications.models import SmsOutbox
from notifications.services import sms_enqueue
from org.roles import Role
from tests.factories import make_staff

SECRET = "s3cret-for-tests"


class Provider(BaseHTTPRequestHandler):
    """Keeps messages by idempotency key; ``mode`` makes the next POST answer 500, 400, 429 or hang."""

    messages: dict[str, dict] = {}
    requests: list[dict] = []
    mode = ""

    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status: int, body: dict | None = None) -> None:
        payload = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers["Idempotency-Key"]
        signed = verify_signature(SECRET, body, self.headers["X-Timestamp"], self.headers["X-Signature"])
        Provider.requests.append({"key": key, "signed": signed, "body": json.loads(body)})
        mode, Provider.mode = Provider.mode, ""
        if mode == "hang":
            Provider.messages.setdefault(key, {"message_id": f"p-{key}"})
            time.sleep(1.5)
            return
        if mode in ("500", "400", "429"):
            return self._answer(int(mode))
        Provider.messages.setdefault(key, {"message_id": f"p-{key}"})
        return self._answer(202, Provider.messages[key])

    def do_GET(self):
        key = self.path.rsplit("/", 1)[-1]
        if key in Provider.messages:
            return self._answer(200, Provider.messages[key])
        return self._answer(404)


@pytest.fixture
def provider():
    Provider.messages, Provider.requests, Provider.mode = {}, [], ""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield HttpGateway(f"http://127.0.0.1:{server.server_port}", SECRET, timeout_s=0.5)
    server.shutdown()
    server.server_close()


MESSAGE = OutgoingSms(id=77, phone="13900000001", text="【农合银行】您的工单已办结。")


def test_a_message_is_posted_signed_with_its_row_id_as_the_key(provider):
    assert provider.send(MESSAGE).gateway_id == "p-77"
    assert provider.send(MESSAGE).gateway_id == "p-77"  # a resend: the provider answers the same
    assert [(r["key"], r["signed"], r["body"]["text"]) for r in Provider.requests] == [("77", True, MESSAGE.text)] * 2
    assert len(Provider.messages) == 1


@pytest.mark.parametrize(("mode", "error"), [("400", GatewayRejected), ("500", GatewayError), ("429", GatewayError)])
def test_refusals_and_temporary_errors(provider, mode, error):
    Provider.mode = mode
    with pytest.raises(error):
        provider.send(MESSAGE)


def test_a_timeout_may_have_sent_and_the_query_tells(provider):
    assert provider.query(MESSAGE) is None
    Provider.mode = "hang"
    with pytest.raises(GatewayError) as raised:
        provider.send(MESSAGE)
    assert raised.value.maybe_sent
    assert provider.query(MESSAGE).gateway_id == "p-77"


@pytest.mark.django_db
def test_a_row_sent_then_timed_out_is_reconciled_by_the_providers_answer(provider, settings, monkeypatch):
    monkeypatch.setattr(delivery, "schedule", lambda ids: None)
    settings.SMS_SENDING_STALE_S = 0
    row = sms_enqueue(phone="13900000001", kind="service", text="【农合银行】测试")
    Provider.mode = "hang"
    [claimed] = delivery.claim(ids=[row.pk])
    assert delivery.send_claimed(claimed, via=provider) == "sending"
    assert delivery.reconcile_stale(now=timezone.now(), via=provider)["sent"] == 1
    row.refresh_from_db()
    assert (row.status, row.gateway, row.gateway_id) == ("sent", "http", f"p-{row.pk}")
    assert len(Provider.requests) == 1  # posted once


def _signed_post(client, payload: dict, *, secret: str = SECRET, timestamp: str | None = None):
    body = json.dumps(payload).encode()
    timestamp = timestamp or str(int(time.time()))
    return client.generic(
        "POST",
        "/api/notifications/sms/receipts/",
        body,
        content_type="application/json",
        HTTP_X_TIMESTAMP=timestamp,
        HTTP_X_SIGNATURE=signature(secret, body, timestamp),
    )


@pytest.mark.django_db
def test_the_delivery_report_webhook_checks_the_signature(settings, monkeypatch):
    monkeypatch.setattr(delivery, "schedule", lambda ids: None)
    settings.SMS_HTTP_SECRET = SECRET
    row = sms_enqueue(phone="13900000001", kind="service", text="x")
    SmsOutbox.objects.filter(pk=row.pk).update(status="sent", gateway="http", gateway_id="p-1")
    client = APIClient()
    forged = _signed_post(client, {"message_id": "p-1", "status": "delivered"}, secret="wrong")
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "bad_signature"
    stale = _signed_post(client, {"message_id": "p-1", "status": "delivered"}, timestamp=str(int(time.time()) - 3600))
    assert stale.status_code == 403  # a replayed old report
    bad = _signed_post(client, {"message_id": "p-1", "status": "lost"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_input"
    ok = _signed_post(client, {"message_id": "p-1", "status": "delivered", "at": "2026-12-01T10:00:00+08:00"})
    assert ok.status_code == 200 and ok.json() == {"matched": True}
    assert SmsOutbox.objects.get(pk=row.pk).status == "delivered"
    assert _signed_post(client, {"message_id": "p-1", "status": "delivered"}).json() == {"matched": False}


@pytest.mark.django_db
def test_the_outbox_api_for_the_maintainer_and_the_director(monkeypatch):
    monkeypatch.setattr(delivery, "schedule", lambda ids: None)
    sms_enqueue(phone="13900000001", kind="service", text="a")
    sms_enqueue(phone="13900000002", kind="service", text="b")
    client = APIClient()
    client.force_authenticate(make_staff(Role.MAINTAINER, username="mt-api"))
    body = client.get("/api/notifications/sms/", {"phone": "13900000002"}).json()
    assert body["count"] == 1
    assert set(body["results"][0]) == {"id", "phone", "kind", "text", "status", "created_at"}
    assert client.get("/api/notifications/sms/", {"phone": "13x"}).status_code == 400
    client.force_authenticate(make_staff(Role.AGENT, username="ag-api"))
    assert client.get("/api/notifications/sms/").status_code == 403
