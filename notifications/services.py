"""Writes of the notifications app."""

from __future__ import annotations

import re

from .models import SmsOutbox

# A run of 12+ digits can only be a card or account number (phones have 11): never in an SMS.
_FULL_NUMBER = re.compile(r"[0-9]{12,}")


def sms_enqueue(*, phone: str, kind: str, text: str, related_posting_id: int | None = None) -> SmsOutbox:
    """Queue one SMS in the caller's transaction (an outbox row, not ``on_commit``: a posting's
    notice must not be lost when the process dies right after the commit)."""
    if kind not in SmsOutbox.Kind.values:
        raise ValueError(f"unknown SMS kind {kind!r}")
    if _FULL_NUMBER.search(text):
        raise ValueError("SMS text must not contain a full card or account number")
    return SmsOutbox.objects.create(phone=phone, kind=kind, text=text, related_posting_id=related_posting_id)
