"""The outbound sweep (issue 19, docs/cti.md "The switch contract"): the dialer's time-based work,
run every second by ``calls.dispatch.sweep`` — unacknowledged commands re-sent, dials never
acknowledged or answered and dials whose agent left cancelled (``reservations.attempt_cancel``),
expired preview reservations released, answered dials left without an outcome closed, then a
progressive pass (``pacing``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from agents.models import AgentState

from . import commands
from .commands import setting
from .models import AttemptStatus, CampaignContact, ContactStatus, DialAttempt, Outcome
from .pacing import progressive_pass
from .reservations import NOT_ANSWERED_YET, _record_cause, attempt_cancel

logger = logging.getLogger(__name__)


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Time-based outbound work (run by ``calls.dispatch.sweep``, every second): re-send
    unacknowledged commands; give up a command never acknowledged within
    ``OUTBOUND_ACK_GIVE_UP_S`` or a dial with no answer within ``OUTBOUND_DIAL_TIMEOUT_S``;
    cancel a dial whose agent left (not ready / offline while it rang); release expired preview
    reservations; then a progressive pass."""
    now = now or timezone.now()
    done = {"resent": commands.resend_due(now), "given_up": 0, "orphaned": 0, "dials": 0}
    ack_horizon = now - timedelta(seconds=float(setting("OUTBOUND_ACK_GIVE_UP_S", 60)))
    dial_horizon = now - timedelta(seconds=float(setting("OUTBOUND_DIAL_TIMEOUT_S", 120)))
    stale = list(
        DialAttempt.objects.filter(status=AttemptStatus.SENT, decided_at__lte=ack_horizon).values_list("pk", flat=True)
    ) + list(
        DialAttempt.objects.filter(status__in=NOT_ANSWERED_YET[1:], decided_at__lte=dial_horizon).values_list(
            "pk", flat=True
        )
    )
    done["given_up"] = sum(attempt_cancel(pk, cause=Outcome.FAILED, now=now) for pk in stale)
    # A reserved agent who changed state while their dial rang (not ready, offline): the dial goes.
    live = DialAttempt.objects.filter(status__in=NOT_ANSWERED_YET, decided_at__lte=now - timedelta(seconds=1))
    for pk, state, call in live.values_list("pk", "agent__agent_status__state", "agent__agent_status__call"):
        if state != AgentState.RINGING or call is not None:
            done["orphaned"] += int(attempt_cancel(pk, cause=Outcome.FAILED, now=now))
    hold = timedelta(seconds=float(setting("OUTBOUND_PREVIEW_HOLD_S", 900)))
    CampaignContact.objects.filter(
        status=ContactStatus.PENDING, reserved_by__isnull=False, reserved_at__lt=now - hold
    ).update(reserved_by=None, reserved_at=None)
    done["no_outcome"] = _close_without_outcome(now)
    done["dials"] = progressive_pass(now)
    return done


_outcome_check: list[datetime] = []


def _close_without_outcome(now: datetime) -> int:
    """An answered dial whose agent never recorded an outcome (the after-call work closed without
    one) within ``OUTBOUND_OUTCOME_GRACE_S`` (30 min): counted as ``failed`` and its contact retried
    (``services.record_cause``), never left "being called" for ever. Checked once a minute."""
    if _outcome_check and now - _outcome_check[0] < timedelta(seconds=60):
        return 0
    _outcome_check[:] = [now]
    horizon = now - timedelta(seconds=float(setting("OUTBOUND_OUTCOME_GRACE_S", 1800)))
    closed = 0
    for attempt in DialAttempt.objects.filter(
        status=AttemptStatus.ENDED, outcome="", answered_at__isnull=False, ended_at__lte=horizon
    ).select_related("campaign")[:200]:
        _record_cause(attempt, Outcome.FAILED)
        closed += 1
    if closed:
        logger.info("%d answered dials without an outcome closed as failed", closed)
    return closed
