"""Helpers of the outbound dialing tests: a running campaign, its contacts, the switch's CTI events."""

from __future__ import annotations

import itertools
from datetime import time, timedelta

from django.utils import timezone

from calls.outbound.models import Campaign, CampaignContact, CampaignKind, CampaignStatus, DialAttempt

_ids = itertools.count(1)


def make_campaign(queue, *, mode="preview", blended=False, kind=CampaignKind.REVISIT, **extra) -> Campaign:
    today = timezone.localdate()
    n = next(_ids)
    values = {
        "code": f"c{n}-{mode}",
        "name": f"Campaign {n}",
        "kind": kind,
        "mode": mode,
        "status": CampaignStatus.RUNNING,
        "queue": queue,
        "blended": blended,
        "script": "您好，这里是信用社客服中心。",
        "window_start": time(0, 0),
        "window_end": time(23, 59, 59),
        "allow_holidays": True,
        "date_from": today - timedelta(days=1),
        "date_to": today + timedelta(days=30),
        "max_attempts": 3,
        "retry_minutes": {"busy": 10, "no_answer": 120},
        "caller_id": "96123",
    }
    values.update(extra)
    return Campaign.objects.create(**values)


def add_contacts(campaign: Campaign, count: int, *, start: int = 0) -> list[CampaignContact]:
    base = 13900000000 + next(_ids) * 1000 + start
    return [
        CampaignContact.objects.create(campaign=campaign, phone=str(base + i), name=f"客户{i}") for i in range(count)
    ]


def cti(switch, attempt: DialAttempt, type_: str, *, call_id: str | None = None, **extra):
    """Post the switch's CTI event of ``attempt``'s call (its command id, the switch's call id)."""
    body = {
        "event_id": extra.pop("event_id", f"{attempt.command_id}:{type_}"),
        "call_id": call_id or f"sw-{attempt.command_id}",
        "command_id": attempt.command_id,
        "type": type_,
        "ts": extra.pop("ts", timezone.now()).isoformat(),
        **extra,
    }
    return switch.post("/api/cti/events/", body, format="json")
