"""The switch's commands (docs/cti.md, "The switch contract"): ``originate`` and ``cancel``,
pushed to the channel-layer group ``switch`` that every ``/ws/switch/`` adapter joins.

The outbox is the ``DialAttempt`` table itself: an attempt in status ``sent`` is a command the
switch has not acknowledged. It is pushed after the commit that created it, re-pushed by the
sweep every ``OUTBOUND_RESEND_AFTER_S`` (same ``command_id``, ``sends`` + 1) and replayed to
an adapter when it (re)connects. The platform never makes a second command for one attempt, and
the switch dedupes by ``command_id``, so a re-sent command is never dialled twice. A cancelled
attempt is never re-sent as ``originate``; its ``cancel`` is replayed on reconnect for
``OUTBOUND_CANCEL_REPLAY_S``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from .. import realtime
from .models import AttemptStatus, DialAttempt

logger = logging.getLogger(__name__)

SWITCH_GROUP = "switch"


def setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def originate_payload(attempt: DialAttempt) -> dict[str, Any]:
    agent = attempt.agent
    profile = getattr(agent, "profile", None) if agent is not None else None
    return {
        "type": "originate",
        "command_id": attempt.command_id,
        "number": attempt.phone,
        "agent": agent.get_username() if agent is not None else None,
        "extension": (profile.extension or None) if profile is not None else None,
        "campaign": attempt.campaign.code,
        "caller_id": attempt.campaign.caller_id or None,
    }


def cancel_payload(command_id: str) -> dict[str, Any]:
    return {"type": "cancel", "command_id": command_id}


def _unacknowledged():
    return DialAttempt.objects.filter(status=AttemptStatus.SENT).select_related("campaign", "agent", "agent__profile")


def mark_sent(pks: list[int], *, now: datetime) -> None:
    """Count a (re-)send of still-unacknowledged commands."""
    if pks:
        DialAttempt.objects.filter(pk__in=pks, status=AttemptStatus.SENT).update(sends=F("sends") + 1, last_sent_at=now)


def push_originate(attempt_pk: int) -> bool:
    """Push the command of attempt ``attempt_pk`` if it is still unacknowledged (after the
    commit that created it; the sweep's re-sends). False when there was nothing to send."""
    attempt = _unacknowledged().filter(pk=attempt_pk).first()
    if attempt is None:
        return False
    now = timezone.now()
    mark_sent([attempt.pk], now=now)
    realtime.push(SWITCH_GROUP, originate_payload(attempt))
    return True


def push_cancel(command_id: str) -> None:
    realtime.push(SWITCH_GROUP, cancel_payload(command_id))


def resend_due(now: datetime | None = None) -> int:
    """Re-push every command unacknowledged for ``OUTBOUND_RESEND_AFTER_S``."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=float(setting("OUTBOUND_RESEND_AFTER_S", 5)))
    due = list(_unacknowledged().filter(last_sent_at__lte=horizon).order_by("last_sent_at", "pk")[:500])
    mark_sent([attempt.pk for attempt in due], now=now)
    for attempt in due:
        realtime.push(SWITCH_GROUP, originate_payload(attempt))
    if due:
        logger.info("re-sent %d unacknowledged switch commands", len(due))
    return len(due)


def replay_for_reconnect(now: datetime | None = None) -> list[dict[str, Any]]:
    """What an adapter gets when it (re)connects: every unacknowledged ``originate`` (counted as
    a send) and the ``cancel`` of every attempt cancelled within ``OUTBOUND_CANCEL_REPLAY_S``."""
    now = now or timezone.now()
    pending = list(_unacknowledged().order_by("decided_at", "pk")[:1000])
    mark_sent([attempt.pk for attempt in pending], now=now)
    since = now - timedelta(seconds=float(setting("OUTBOUND_CANCEL_REPLAY_S", 600)))
    cancelled = DialAttempt.objects.filter(
        status=AttemptStatus.CANCELLED, ended_at__gte=since, answered_at__isnull=True
    ).values_list("command_id", flat=True)
    return [originate_payload(attempt) for attempt in pending] + [cancel_payload(c) for c in cancelled]
