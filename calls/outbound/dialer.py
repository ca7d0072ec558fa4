"""The dialer (issue 19): which contact is dialled for which agent, and what the switch's answers
do to the dial attempt and the agent (docs/cti.md "The switch contract", docs/outbound.md).

**The agent is reserved before the number is dialled.** A dial is always made *for* one agent:
in one transaction the contact (locked, ``selectors.next_contact``) passes the compliance check,
the agent's status row is locked and re-checked, a ``DialAttempt`` is created (status ``sent``:
the outbox) and the agent goes to ``ringing`` **without a call** — the agents state machine's
"reserved for an outbound dial": routing offers calls to ``ready`` agents only, so no inbound
call reaches them, and the desktop shows the outbound dial. The ``originate`` command leaves
after the commit. When the customer answers, the switch's ``answered`` (carrying the attempt's
agent, filled in by ``cti_prepare``) connects the reserved agent (``on_call``, as for an inbound
call); a dial that ends unanswered (busy, no answer, rejected, invalid number) puts the agent
back to ``ready`` (keeping their place in the longest-idle order) and the contact's retry is
scheduled (``services.record_cause``). So **a live outbound call always has its own reserved
agent** — never more live dials than agents (the partial unique index
``calls_attempt_one_live_per_agent`` holds it in the database too) and no answered customer
waits for an agent.

Modes: *preview* (``preview_next`` reserves a contact for the agent's screen, ``preview_dial``
dials it, ``preview_skip`` passes with a reason), *progressive* (``progressive_pass``: every ready
agent of a running progressive campaign with no inbound call waiting for them gets the next
eligible contact; run after every routing pass and by the sweep). *Blended* campaigns (the
campaign's ``blended``) give no new dial while the inbound service level of the campaign's
queue over the last ``OUTBOUND_BLEND_WINDOW_S`` is below ``OUTBOUND_BLEND_MIN_SL``.

Lock order: dial attempt → contact (as ``services``) → agent status (``agents.locks``); a new
dial locks its contact (``selectors.next_contact``), then the agent, and inserts the attempt.
Calls are locked in their own transactions (the CTI events are recorded first, then
``cti_apply`` updates the attempt). Attempts are counted by ``services.record_cause`` /
``record_outcome``, not here.

The dialer's modules: ``reservations`` (one dial for one agent: the attempt, the agent's
reservation, its cancel), ``pacing`` (the progressive pass, blending) and ``sweep`` (the
time-based work); this one holds the preview dials, the switch's answers (``acknowledge``,
``cti_prepare`` / ``cti_apply``) and the agent's outcome. The rest of the project imports the
dialer from here: what it uses of the other three is imported into this module.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from agents.locks import lock_agents
from agents.models import AgentSkill
from core.db import retry_on_conflict
from core.errors import Conflict, DomainError

from .. import errors
from ..models import Call, CallState
from . import commands
from .models import (
    AttemptStatus,
    Campaign,
    CampaignContact,
    CampaignStatus,
    ContactStatus,
    DialAttempt,
    DialMode,
    Outcome,
)
from .pacing import blend_blocked
from .pacing import inbound_service_level as inbound_service_level
from .pacing import progressive_after_routing as progressive_after_routing
from .pacing import progressive_pass as progressive_pass
from .reservations import (
    CAMPAIGN_WIDE,
    CONTACTS_TRIED_PER_DIAL,
    _agent_free,
    _check,
    _dial_locked,
    _next_contact,
    _record_cause,
    _refused,
    _release_agent,
    _status_pk,
    outbound_changed_on_commit,
)
from .reservations import LIVE as LIVE
from .reservations import attempt_cancel as attempt_cancel
from .reservations import reservation_release as reservation_release
from .sweep import sweep as sweep

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()

logger = logging.getLogger(__name__)

RANK: dict[str, int] = {
    AttemptStatus.SENT: 0,
    AttemptStatus.ACKNOWLEDGED: 1,
    AttemptStatus.DIALING: 2,
    AttemptStatus.RINGING: 3,
    AttemptStatus.ANSWERED: 4,
    AttemptStatus.ENDED: 5,
    AttemptStatus.CANCELLED: 5,
}
CTI_STAGE = {"dialing": AttemptStatus.DIALING, "ringing": AttemptStatus.RINGING, "answered": AttemptStatus.ANSWERED}
CAUSES = (Outcome.BUSY, Outcome.NO_ANSWER, Outcome.REJECTED, Outcome.INVALID_NUMBER, Outcome.FAILED)
# The per-queue preview campaigns that carry the dials of today's callbacks (``callback_dial``).
CALLBACKS_PREFIX = "callbacks-"


class DialRefused(Conflict):
    code = "dial_refused"
    default_message = _lazy("The dial was refused.")


# --- h5's functions (campaigns, compliance) ------------------------------------------------------


def _record_outcome(attempt: DialAttempt, **kwargs: Any) -> Any:
    from . import services

    return services.record_outcome(attempt, **kwargs)


# --- preview --------------------------------------------------------------------------------------


def _agent_campaigns(agent: User, mode: str | None = None):
    queues = AgentSkill.objects.filter(agent=agent).values("queue_id")
    campaigns = Campaign.objects.filter(status=CampaignStatus.RUNNING, queue_id__in=queues).select_related("queue")
    if mode:
        campaigns = campaigns.filter(mode=mode)
    return campaigns.order_by("pk")


def previewed(agent: User) -> CampaignContact | None:
    """The contact shown on the agent's screen (reserved for them, not yet dialled or skipped)."""
    return (
        CampaignContact.objects.filter(reserved_by=agent, status=ContactStatus.PENDING)
        .select_related("campaign", "campaign__queue")
        .order_by("reserved_at", "pk")
        .first()
    )


def preview_next(agent: User, *, now: datetime | None = None) -> CampaignContact | None:
    """Reserve the next contact of a running preview campaign the agent works, for their screen
    (the one already reserved if there is one). None when no campaign has a dialable contact."""
    now = now or timezone.now()
    current = previewed(agent)
    if current is not None:
        return current
    for campaign in _agent_campaigns(agent, DialMode.PREVIEW).exclude(code__startswith=CALLBACKS_PREFIX):
        if blend_blocked(campaign, now=now):
            continue
        with transaction.atomic():
            for _try in range(CONTACTS_TRIED_PER_DIAL):
                contact = _next_contact(campaign, now=now)
                if contact is None:
                    break
                contact.campaign = campaign
                decision = _check(contact, now=now)
                if not decision.allowed:
                    if decision.code in CAMPAIGN_WIDE:
                        break
                    _refused(contact, decision, now=now)
                    continue
                contact.reserved_by = agent
                contact.reserved_at = now
                contact.save(update_fields=["reserved_by", "reserved_at", "updated_at"])
                outbound_changed_on_commit(agent.pk)
                return contact
    return None


def _locked_contact(contact_id: int) -> CampaignContact:
    contact = (
        CampaignContact.objects.select_for_update(of=("self",))
        .select_related("campaign", "campaign__queue")
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        raise errors.NotFound(_("No such contact."), code="contact_not_found")
    return contact


def preview_dial(agent: User, *, contact_id: int, now: datetime | None = None) -> DialAttempt:
    """The agent clicks 拨打 on the contact on their screen (or a callback of today's list):
    compliance at dial time, the agent reserved, the command sent."""
    now = now or timezone.now()
    status_pk = _status_pk(agent.pk)
    try:
        with transaction.atomic():
            contact = _locked_contact(contact_id)
            if contact.reserved_by_id != agent.pk:
                raise errors.NotFound(_("No such contact on your screen."), code="contact_not_found")
            if blend_blocked(contact.campaign, now=now):
                raise DialRefused(_("Inbound calls are waiting: outbound dialling is paused."), code="inbound_priority")
            decision = _check(contact, now=now)
            if decision.allowed:
                status = lock_agents(status_pk).get(status_pk) if status_pk else None
                if not _agent_free(status, allow_not_ready=True):
                    raise DialRefused(_("Finish your call first."), code="agent_busy")
                assert status is not None
                mode = contact.campaign.mode
                return _dial_locked(contact=contact, status=status, mode=mode, decision=decision, now=now, actor=agent)
            # Refused at dial time (do-not-call added meanwhile, the window closed...): the
            # contact leaves the screen; the refusal is kept (committed), then reported.
            contact.reserved_by, contact.reserved_at = None, None
            contact.save(update_fields=["reserved_by", "reserved_at", "updated_at"])
            _refused(contact, decision, now=now)
            outbound_changed_on_commit(agent.pk)
    except IntegrityError:
        raise DialRefused(_("A dial is already in progress."), code="dial_in_progress") from None
    raise DialRefused(_("This contact may not be called now (%(code)s).") % {"code": decision.code}, code="not_allowed")


@transaction.atomic
def preview_skip(agent: User, *, contact_id: int, reason: str, now: datetime | None = None) -> CampaignContact:
    """跳过: the agent passes the contact on their screen, with a reason (audited,
    ``services.contact_skip``); it comes back after the campaign's ``skipped`` interval."""
    from . import services

    reason = str(reason or "").strip()[:200]
    if not reason:
        raise errors.InvalidInput(_("Give a reason for skipping."), code="reason_required")
    contact = _locked_contact(contact_id)
    if contact.reserved_by_id != agent.pk or contact.status != ContactStatus.PENDING:
        raise errors.NotFound(_("No such contact on your screen."), code="contact_not_found")
    skipped = services.contact_skip(contact, agent=agent, reason=reason, now=now)
    outbound_changed_on_commit(agent.pk)
    return skipped


def callback_dial(agent: User, *, callback_id: int, now: datetime | None = None) -> DialAttempt:
    """拨打 on a row of today's callbacks: a one-off contact in the queue's callbacks campaign
    (``callbacks-<queue>``, a running preview revisit campaign made on first use), reserved for
    the agent and dialled through ``preview_dial``."""
    from agents.models import Callback, CallbackStatus
    from agents.selectors import callbacks_for

    now = now or timezone.now()
    callback = callbacks_for(agent).filter(pk=callback_id, status=CallbackStatus.OPEN).first()
    if callback is None or not isinstance(callback, Callback):
        raise errors.NotFound(_("No such callback."), code="callback_not_found")
    phone = "".join(ch for ch in callback.phone if ch.isdigit())[:20]
    campaign = _callbacks_campaign(callback.queue, now=now)
    with transaction.atomic():
        contact, _created = CampaignContact.objects.get_or_create(
            campaign=campaign,
            phone=phone,
            defaults={
                "customer_id": callback.customer_id,
                "source": "callback",
                "source_ref": str(callback.pk),
                "data": {"callback": callback.pk, "note": callback.note[:200]},
            },
        )
        contact = _locked_contact(contact.pk)
        if contact.status != ContactStatus.PENDING and contact.status != ContactStatus.DIALING:
            contact.status, contact.attempts, contact.next_attempt_at = ContactStatus.PENDING, 0, None
        contact.source_ref = str(callback.pk)
        contact.data = {**(contact.data or {}), "callback": callback.pk}
        contact.reserved_by, contact.reserved_at = agent, now
        contact.save()
    return preview_dial(agent, contact_id=contact.pk, now=now)


def _callbacks_campaign(queue: Any, *, now: datetime) -> Campaign:
    from datetime import time

    from .models import CampaignKind

    local = timezone.localdate(now)
    campaign, _created = Campaign.objects.get_or_create(
        code=f"{CALLBACKS_PREFIX}{queue.code}"[:40],
        defaults={
            "name": _("Callbacks: %(queue)s") % {"queue": getattr(queue, "display_name", queue.code)},
            "kind": CampaignKind.REVISIT,
            "mode": DialMode.PREVIEW,
            "status": CampaignStatus.RUNNING,
            "queue": queue,
            "blended": False,
            "window_start": time(0, 0),
            "window_end": time(23, 59),
            "allow_holidays": True,
            "date_from": local,
            "date_to": local.replace(year=local.year + 10),
            "max_attempts": 3,
        },
    )
    return campaign


# --- the switch's answers -------------------------------------------------------------------------


def acknowledge(command_id: str, *, now: datetime | None = None) -> str:
    """The switch's ``ack`` → ``acknowledged`` (first ack), ``duplicate`` (already acknowledged or
    further on), ``cancelled`` (the attempt was cancelled: the adapter is sent the cancel again)
    or ``unknown``."""
    now = now or timezone.now()
    updated = DialAttempt.objects.filter(command_id=command_id, status=AttemptStatus.SENT).update(
        status=AttemptStatus.ACKNOWLEDGED, acknowledged_at=now
    )
    if updated:
        return "acknowledged"
    status = DialAttempt.objects.filter(command_id=command_id).values_list("status", flat=True).first()
    if status is None:
        return "unknown"
    return "cancelled" if status == AttemptStatus.CANCELLED else "duplicate"


def cti_prepare(items: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """Correlate the CTI events carrying ``command_id`` with their attempts, in place: every such
    event is an outbound call's (``direction`` outbound, ``ani`` the number dialled, ``dnis`` the
    caller id); ``dialing`` and ``ringing`` (the customer's phone) are recorded as the call's
    ``offered`` (``data.stage``); ``answered`` names the attempt's reserved agent (none when the
    attempt was cancelled); ``ended`` carries its ``cause``. → {index: (code, message)} of the
    events refused (``unknown_command``)."""
    wanted = {str(item["command_id"]) for item in items if item.get("command_id")}
    if not wanted:
        return {}
    attempts = {
        row["command_id"]: row
        for row in DialAttempt.objects.filter(command_id__in=wanted).values(
            "command_id", "status", "agent_id", "phone", "campaign__caller_id", "campaign__code"
        )
    }
    refused: dict[int, tuple[str, str]] = {}
    for index, item in enumerate(items):
        command_id = item.get("command_id")
        if not command_id:
            continue
        attempt = attempts.get(command_id)
        if attempt is None:
            refused[index] = ("unknown_command", str(_("No such command.")))
            continue
        data = dict(item.get("data") or {})
        data.update(
            direction="outbound",
            ani=attempt["phone"],
            command_id=command_id,
            campaign=attempt["campaign__code"],
        )
        if attempt["campaign__caller_id"]:
            data["dnis"] = attempt["campaign__caller_id"]
        kind = item["type"]
        if kind in ("dialing", "ringing"):
            item["type"] = "offered"
            data["stage"] = kind
            item["agent_id"] = None
        elif kind == "answered":
            item["agent_id"] = attempt["agent_id"] if attempt["status"] != AttemptStatus.CANCELLED else None
        elif kind == "ended":
            data["reason"] = item.get("cause") or ""
        item["data"] = data
        item["outbound_stage"] = kind
    return refused


def cti_apply(items: list[dict[str, Any]]) -> None:
    """After the events are recorded: move each correlated attempt on (``cti_prepare`` marked
    them). A duplicate event applies again harmlessly."""
    for item in items:
        stage = item.get("outbound_stage")
        if stage:
            _apply(str(item["command_id"]), stage, str(item["call_id"]), str(item.get("cause") or ""), item["ts"])


@retry_on_conflict
def _apply(command_id: str, stage: str, call_id: str, cause: str, ts: datetime) -> None:
    now = timezone.now()
    row = DialAttempt.objects.filter(command_id=command_id).values("pk", "contact_id", "agent_id").first()
    if row is None:
        return
    status_pk = _status_pk(row["agent_id"]) if row["agent_id"] else None
    resend_cancel = False
    with transaction.atomic():
        attempt = DialAttempt.objects.select_for_update().select_related("campaign").get(pk=row["pk"])
        attempt.contact = CampaignContact.objects.select_for_update().get(pk=row["contact_id"])
        status = lock_agents(status_pk).get(status_pk) if status_pk else None
        fields = set()
        if not attempt.call_id:
            attempt.call_id = call_id[:128]
            fields.add("call_id")
        if attempt.status == AttemptStatus.CANCELLED:
            resend_cancel = stage in ("dialing", "ringing", "answered")
            if fields:
                attempt.save(update_fields=list(fields))
        else:
            if attempt.status == AttemptStatus.SENT:
                attempt.status, attempt.acknowledged_at = AttemptStatus.ACKNOWLEDGED, now
                fields.update(("status", "acknowledged_at"))
            target = CTI_STAGE.get(stage) or (AttemptStatus.ENDED if stage == "ended" else None)
            if target is not None and RANK[target] > RANK[attempt.status]:
                attempt.status = target
                fields.add("status")
                if target == AttemptStatus.ANSWERED:
                    attempt.answered_at = ts
                    fields.add("answered_at")
                if target == AttemptStatus.ENDED:
                    attempt.ended_at = ts
                    fields.add("ended_at")
                    if attempt.answered_at is None:
                        attempt.cause = cause if cause in CAUSES else Outcome.NO_ANSWER
                        fields.add("cause")
            if fields:
                attempt.save(update_fields=list(fields))
            if "status" in fields and attempt.status == AttemptStatus.ENDED and attempt.answered_at is None:
                if status is not None:
                    _release_agent(status, now=now, call_id=call_id)
                _record_cause(attempt, attempt.cause)
                _callback_result(attempt.contact, reached=False, actor=attempt.agent)
            if "status" in fields:
                outbound_changed_on_commit(attempt.agent_id)
    if resend_cancel:
        commands.push_cancel(command_id)


# --- after the call: the agent's outcome ----------------------------------------------------------


def outcome_record(
    agent: User, *, attempt_id: int, outcome: str, callback_at: datetime | None = None, note: str = ""
) -> DialAttempt:
    """The agent records the outcome of their answered outbound call (``services.record_outcome``:
    retry, call-back time, do-not-call), and the call's after-call work is closed with it."""
    from ..services.control import call_wrapup

    attempt = DialAttempt.objects.select_related("campaign", "contact").filter(pk=attempt_id, agent=agent).first()
    if attempt is None:
        raise errors.NotFound(_("No such dial."), code="attempt_not_found")
    if attempt.status != AttemptStatus.ENDED or attempt.answered_at is None:
        raise errors.InvalidCallState(_("Hang up before recording the outcome."), code="call_not_ended")
    if attempt.outcome:
        raise errors.InvalidCallState(_("The outcome is already recorded."), code="outcome_recorded")
    result = _record_outcome(attempt, outcome=outcome, agent=agent, callback_at=callback_at, note=note)
    _callback_result(attempt.contact, reached=True, actor=agent, note=note)
    if attempt.call_id:
        call = Call.objects.filter(call_id=attempt.call_id).values("wrapup_at", "state").first()
        if call is not None and call["wrapup_at"] is None and call["state"] == CallState.ENDED:
            disposition = {"callback": "callback", "wrong_number": "wrong_number"}.get(outcome, "other")
            try:
                call_wrapup(call_id=attempt.call_id, user=agent, disposition=disposition, note=str(note or "")[:2000])
            except DomainError:
                logger.info("outbound call %s: wrap-up refused", attempt.call_id)
    transaction.on_commit(partial(outbound_changed_on_commit, agent.pk), robust=True)
    outbound_changed_on_commit(agent.pk)
    return result if isinstance(result, DialAttempt) else DialAttempt.objects.get(pk=attempt.pk)


def _callback_result(contact: CampaignContact, *, reached: bool, actor: Any = None, note: str = "") -> None:
    """A dial of one of today's callbacks closes that callback (reached) or counts a try."""
    callback_id = (contact.data or {}).get("callback") if contact.source == "callback" else None
    if not callback_id:
        return
    from agents.models import Callback, CallbackStatus
    from agents.services import callback_complete

    if not Callback.objects.filter(pk=callback_id, status=CallbackStatus.OPEN).exists():
        return
    try:
        callback_complete(
            callback_id=int(callback_id), actor=actor, outcome="done" if reached else "failed", note=str(note)[:2000]
        )
    except DomainError:
        logger.info("callback %s not closed", callback_id)
