"""The HTTP gateway: a JSON POST per message to an SMS provider (or the bank's SMS platform),
HMAC-SHA256 signed, with the outbox row's id as the idempotency key, and a GET of that id to
reconcile; delivery reports arrive at the webhook ``POST /api/notifications/sms/receipts/``,
signed the same way (``verify_signature``).

Request: ``POST {url}/messages`` body ``{"id", "phone", "text"}``, headers ``Idempotency-Key:
<id>``, ``X-Signature: sha256=<hex HMAC of the body with the shared secret>``, ``X-Timestamp``.
The provider answers 200/201/202 ``{"message_id"}`` (a resend with the same key answers the
same message id: it is not sent twice); 4xx but 408/429 is a refusal for good, anything else
(5xx, 408, 429, a timeout, a dropped connection) is temporary. ``GET {url}/messages/<id>``
answers 200 ``{"message_id"}`` when it has the message, 404 when it does not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from .base import GatewayError, GatewayRejected, OutgoingSms, Submitted

TEMPORARY_STATUSES = {408, 429}


def signature(secret: str, body: bytes, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, body: bytes, timestamp: str, header: str, *, max_age_s: int = 300) -> bool:
    """A webhook call is genuine when its signature matches and it is recent (no replay)."""
    try:
        age = abs(time.time() - float(timestamp))
    except ValueError:
        return False
    return age <= max_age_s and hmac.compare_digest(signature(secret, body, timestamp), header or "")


class HttpGateway:
    name = "http"
    can_query = True  # GET /messages/<id>

    def __init__(self, url: str, secret: str, *, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.secret = secret
        self.timeout_s = timeout_s

    def _request(self, method: str, path: str, payload: dict[str, Any] | None, key: str) -> tuple[int, dict]:
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
        timestamp = str(int(time.time()))
        request = urllib.request.Request(f"{self.url}{path}", data=body or None, method=method)  # noqa: S310 - a configured https URL
        request.add_header("Content-Type", "application/json")
        request.add_header("Idempotency-Key", key)
        request.add_header("X-Timestamp", timestamp)
        request.add_header("X-Signature", signature(self.secret, body, timestamp))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, {}
        except TimeoutError as exc:
            # The request went out: the provider may have it.
            raise GatewayError("timeout", maybe_sent=payload is not None) from exc
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            sent = isinstance(reason, (TimeoutError, socket.timeout))
            raise GatewayError(f"connection: {type(reason).__name__}", maybe_sent=sent and payload is not None) from exc

    def send(self, message: OutgoingSms) -> Submitted:
        status, body = self._request(
            "POST", "/messages", {"id": message.id, "phone": message.phone, "text": message.text}, str(message.id)
        )
        if status in (200, 201, 202) and body.get("message_id"):
            return Submitted(gateway_id=str(body["message_id"])[:100], segments=int(body.get("segments") or 1))
        if 400 <= status < 500 and status not in TEMPORARY_STATUSES:
            raise GatewayRejected(f"HTTP {status}")
        raise GatewayError(f"HTTP {status}", maybe_sent=status >= 500)

    def query(self, message: OutgoingSms) -> Submitted | None:
        status, body = self._request("GET", f"/messages/{message.id}", None, str(message.id))
        if status == 200 and body.get("message_id"):
            return Submitted(gateway_id=str(body["message_id"])[:100], segments=int(body.get("segments") or 1))
        if status == 404:
            return None
        raise GatewayError(f"HTTP {status}")
