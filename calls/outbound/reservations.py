"""One dial for one agent (issue 19, docs/cti.md "The switch contract"): the contact taken and
checked, the ``DialAttempt`` created and its agent reserved (``ringing`` without a call) in one
transaction (``_dial_locked``), and the reservation given up when the dial ends without a
conversation: ``attempt_cancel`` (a dial never acknowledged or answered, ``sweep``) and
``reservation_release`` (the agent changed their state while it rang, ``agents.call_port``).
Shared by the preview dials and the switch's answers (``dialer``) and by the progressive pass
(``pacing``).

Lock order as in ``dialer``: dial attempt → contact (as ``services``) → agent status
(``agents.locks``).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents.locks import lock_agents
from agents.models import AgentState, AgentStatus
from agents.services import status_transition
from audit.services import audit_record
from core.db import retry_on_conflict

from .. import realtime
from . import commands
from .models import AttemptStatus, Campaign, CampaignContact, ContactStatus, DialAttempt, Outcome

logger = logging.getLogger(__name__)

LIVE = (
    AttemptStatus.SENT,
    AttemptStatus.ACKNOWLEDGED,
    AttemptStatus.DIALING,
    AttemptStatus.RINGING,
    AttemptStatus.ANSWERED,
)
NOT_ANSWERED_YET = LIVE[:-1]
# Compliance refusals that close the campaign for this pass (no other contact passes either).
CAMPAIGN_WIDE = (
    "campaign_not_running",
    "outside_campaign_dates",
    "outside_center_window",
    "outside_campaign_window",
    "public_holiday",
)
CONTACTS_TRIED_PER_DIAL = 20


def new_command_id() -> str:
    return f"dial-{uuid.uuid4().hex}"


# --- h5's functions (campaigns, compliance) ------------------------------------------------------


def _next_contact(campaign: Campaign, *, now: datetime) -> CampaignContact | None:
    from . import selectors

    return selectors.next_contact(campaign, now=now)


def _check(contact: CampaignContact, *, now: datetime):
    from . import compliance

    return compliance.check(contact, now=now)


def _record_cause(attempt: DialAttempt, cause: str) -> None:
    from . import services

    services.record_cause(attempt, cause)


# --- the agent's side ----------------------------------------------------------------------------


def _status_pk(user_id: int) -> int | None:
    return AgentStatus.objects.filter(user_id=user_id).values_list("pk", flat=True).first()


def _release_agent(status: AgentStatus, *, now: datetime, call_id: str = "") -> None:
    """The dial is over without a conversation: a reserved agent (ringing, no call) is ready again."""
    if status.state == AgentState.RINGING and status.call_id is None:
        status_transition(status, state=AgentState.READY, at=now, call_id=call_id, keep_ready_since=True)


def outbound_changed_on_commit(user_id: int | None) -> None:
    """The agent's desk reloads its outbound panel (``GET /api/outbound/desk/``)."""
    if user_id is not None:
        transaction.on_commit(
            partial(realtime.push, realtime.agent_group(user_id), {"type": "outbound.changed"}), robust=True
        )


# --- one dial ------------------------------------------------------------------------------------


def _dial_locked(
    *, contact: CampaignContact, status: AgentStatus, mode: str, decision: Any, now: datetime, actor: Any = None
) -> DialAttempt:
    """Create the attempt for a locked, checked contact and a locked agent; reserve the agent;
    push the command after commit. Inside the caller's transaction."""
    campaign = contact.campaign
    attempt = DialAttempt.objects.create(
        campaign=campaign,
        contact=contact,
        phone=contact.phone,
        agent_id=status.user_id,
        mode=mode,
        allowed_because=decision.reasons,
        command_id=new_command_id(),
        status=AttemptStatus.SENT,
        decided_at=now,
    )
    contact.status = ContactStatus.DIALING
    contact.reserved_by = None
    contact.reserved_at = None
    contact.save(update_fields=["status", "reserved_by", "reserved_at", "updated_at"])
    status_transition(status, state=AgentState.RINGING, at=now, actor_id=getattr(actor, "pk", None))
    audit_record(
        actor=actor,
        action="outbound.dial",
        object_type="dial_attempt",
        object_id=attempt.command_id,
        details={
            "campaign": campaign.code,
            "contact": contact.pk,
            "agent": status.user_id,
            "mode": mode,
            "allowed_because": decision.reasons,
        },
    )
    transaction.on_commit(partial(commands.push_originate, attempt.pk), robust=True)
    outbound_changed_on_commit(status.user_id)
    return attempt


def _agent_free(status: AgentStatus | None, *, allow_not_ready: bool) -> bool:
    if status is None or status.call_id is not None:
        return False
    if status.state == AgentState.READY:
        return True
    return allow_not_ready and status.state == AgentState.NOT_READY


def _refused(contact: CampaignContact, decision: Any, *, now: datetime) -> None:
    """A contact that failed its checks is set aside (``services.contact_refuse``: do-not-call,
    attempts used, postponed to the next window) so the next pass does not read it again."""
    from . import services

    services.contact_refuse(contact, decision=decision, now=now)
    logger.info("contact %s not dialled: %s", contact.pk, decision.code)


# --- giving a dial up -----------------------------------------------------------------------------


@retry_on_conflict
def attempt_cancel(attempt_pk: int, *, cause: str = Outcome.FAILED, now: datetime | None = None) -> bool:
    """Give up a dial not answered: cancelled, the agent released, the retry scheduled and a
    ``cancel`` pushed to the switch (a late ``originate`` of that id must never be dialled)."""
    now = now or timezone.now()
    row = DialAttempt.objects.filter(pk=attempt_pk).values("contact_id", "agent_id").first()
    if row is None:
        return False
    status_pk = _status_pk(row["agent_id"]) if row["agent_id"] else None
    with transaction.atomic():
        attempt = DialAttempt.objects.select_for_update().select_related("campaign").get(pk=attempt_pk)
        attempt.contact = CampaignContact.objects.select_for_update().get(pk=row["contact_id"])
        status = lock_agents(status_pk).get(status_pk) if status_pk else None
        if attempt.status not in NOT_ANSWERED_YET:
            return False
        attempt.status, attempt.cause, attempt.ended_at = AttemptStatus.CANCELLED, cause, now
        attempt.save(update_fields=["status", "cause", "ended_at"])
        if status is not None:
            _release_agent(status, now=now, call_id=attempt.call_id)
        _record_cause(attempt, cause)
        outbound_changed_on_commit(attempt.agent_id)
        transaction.on_commit(partial(commands.push_cancel, attempt.command_id), robust=True)
    logger.info("dial %s cancelled (%s)", attempt.command_id, cause)
    return True


def reservation_release(*, status: AgentStatus, now: datetime) -> None:
    """The reserved agent changed their state while their dial rang (``agents.call_port``, inside
    their state change, the agent row locked): the dial is cancelled (counted as ``failed``) and
    the switch told to drop it. Their new state is the state change's own."""
    attempt = (
        DialAttempt.objects.select_for_update()
        .select_related("campaign")
        .filter(agent_id=status.user_id, status__in=NOT_ANSWERED_YET)
        .first()
    )
    if attempt is None:
        return
    attempt.status, attempt.cause, attempt.ended_at = AttemptStatus.CANCELLED, Outcome.FAILED, now
    attempt.save(update_fields=["status", "cause", "ended_at"])
    _record_cause(attempt, Outcome.FAILED)
    outbound_changed_on_commit(status.user_id)
    transaction.on_commit(partial(commands.push_cancel, attempt.command_id), robust=True)
    logger.info("dial %s cancelled: the agent changed state", attempt.command_id)
