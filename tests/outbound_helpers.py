"""Campaigns, contacts and dial attempts for the outbound tests (issue 19)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls.models import Queue
from calls.outbound.models import (
    AttemptStatus,
    Campaign,
    CampaignContact,
    CampaignKind,
    CampaignStatus,
    DialAttempt,
    DialMode,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def make_queue() -> Queue:
    queue = Queue.objects.order_by("pk").first()
    if queue is None:
        from calls.demo import ensure_default_queues

        ensure_default_queues()
        queue = Queue.objects.order_by("pk").first()
    assert queue is not None
    return queue


def make_campaign(
    *,
    code: str | None = None,
    kind: str = CampaignKind.MARKETING,
    status: str = CampaignStatus.RUNNING,
    date_from: date = date(2026, 1, 1),
    date_to: date = date(2027, 12, 31),
    window: tuple[time, time] = (time(9, 0), time(20, 0)),
    **extra,
) -> Campaign:
    return Campaign.objects.create(
        code=code or f"c-{uuid.uuid4().hex[:8]}",
        name="测试活动",
        kind=kind,
        mode=extra.pop("mode", DialMode.PREVIEW),
        status=status,
        queue=make_queue(),
        window_start=window[0],
        window_end=window[1],
        date_from=date_from,
        date_to=date_to,
        **extra,
    )


def make_contact(campaign: Campaign, phone: str = "13812345678", **extra) -> CampaignContact:
    return CampaignContact.objects.create(campaign=campaign, phone=phone, **extra)


def make_attempt(
    contact: CampaignContact,
    *,
    at: datetime | None = None,
    agent=None,
    status: str = AttemptStatus.ENDED,
    answered: bool = False,
) -> DialAttempt:
    at = at or timezone.now()
    return DialAttempt.objects.create(
        campaign=contact.campaign,
        contact=contact,
        phone=contact.phone,
        agent=agent,
        mode=contact.campaign.mode,
        command_id=uuid.uuid4().hex,
        status=status,
        decided_at=at,
        answered_at=at if answered else None,
        ended_at=at if status == AttemptStatus.ENDED else None,
    )
