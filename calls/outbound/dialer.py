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
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from agents import presence
from agents.locks import lock_agents
from agents.models import AgentSkill, AgentState, AgentStatus
from agents.services import status_transition
from audit.services import audit_record
from core.db import retry_on_conflict
from core.errors import Conflict, DomainError

from .. import errors, realtime
from ..models import Call, CallState, Queue
from . import commands
from .commands import setting
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

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()

logger = logging.getLogger(__name__)
_local = threading.local()

LIVE = (
    AttemptStatus.SENT,
    AttemptStatus.ACKNOWLEDGED,
    AttemptStatus.DIALING,
    AttemptStatus.RINGING,
    AttemptStatus.ANSWERED,
)
NOT_ANSWERED_YET = LIVE[:-1]
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
# Compliance refusals that close the campaign for this pass (no other contact passes either).
CAMPAIGN_WIDE = (
    "campaign_not_running",
    "outside_campaign_dates",
    "outside_center_window",
    "outside_campaign_window",
    "public_holiday",
)
CONTACTS_TRIED_PER_DIAL = 20
# The per-queue preview campaigns that carry the dials of today's callbacks (``callback_dial``).
CALLBACKS_PREFIX = "callbacks-"


class DialRefused(Conflict):
    code = "dial_refused"
    default_message = _lazy("The dial was refused.")


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


def _record_outcome(attempt: DialAttempt, **kwargs: Any) -> Any:
    from . import services

    return services.record_outcome(attempt, **kwargs)


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


# --- blending -------------------------------------------------------------------------------------


def inbound_service_level(queue_id: int, *, now: datetime | None = None) -> float | None:
    """Share of the inbound calls of ``queue_id`` queued in the last ``OUTBOUND_BLEND_WINDOW_S``
    whose wait was at most ``CALLS_SERVICE_LEVEL_T_S`` (answered in time / answered + abandoned
    after ``CALLS_SHORT_ABANDON_S`` + still waiting beyond T). None below
    ``OUTBOUND_BLEND_MIN_CALLS`` calls (too few to judge: outbound goes on)."""
    from django.conf import settings

    now = now or timezone.now()
    since = now - timedelta(seconds=float(setting("OUTBOUND_BLEND_WINDOW_S", 900)))
    t = timedelta(seconds=settings.CALLS_SERVICE_LEVEL_T_S)
    short = timedelta(seconds=settings.CALLS_SHORT_ABANDON_S)
    met = counted = 0
    rows = Call.objects.filter(
        direction="inbound", is_test=False, queued_at__gte=since, queued_at__lte=now, service_queue_id=queue_id
    ).values_list("queued_at", "answered_at", "ended_at")
    for queued_at, answered_at, ended_at in rows:
        if queued_at is None:  # filtered out: queued_at__gte
            continue
        if answered_at is not None:
            counted += 1
            met += int(answered_at - queued_at <= t)
        elif ended_at is not None:
            counted += int(ended_at - queued_at > short)
        elif now - queued_at > t:
            counted += 1
    if counted < int(setting("OUTBOUND_BLEND_MIN_CALLS", 5)):
        return None
    return met / counted


def blend_blocked(campaign: Campaign, *, now: datetime | None = None, cache: dict[int, bool] | None = None) -> bool:
    """A blended campaign gives no new dial while its queue's inbound service level is low."""
    if not campaign.blended:
        return False
    if cache is not None and campaign.queue_id in cache:
        return cache[campaign.queue_id]
    level = inbound_service_level(campaign.queue_id, now=now)
    blocked = level is not None and level < float(setting("OUTBOUND_BLEND_MIN_SL", 0.8))
    if cache is not None:
        cache[campaign.queue_id] = blocked
    return blocked


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


@retry_on_conflict
def _progressive_one(campaign_pk: int, status_pk: int, now: datetime) -> tuple[DialAttempt | None, bool]:
    """One progressive dial for one agent → (attempt, campaign still has dialable contacts)."""
    try:
        with transaction.atomic():
            campaign = Campaign.objects.select_related("queue").get(pk=campaign_pk)
            for _try in range(CONTACTS_TRIED_PER_DIAL):
                contact = _next_contact(campaign, now=now)
                if contact is None:
                    return None, False
                contact.campaign = campaign
                decision = _check(contact, now=now)
                if not decision.allowed:
                    if decision.code in CAMPAIGN_WIDE:
                        return None, False
                    _refused(contact, decision, now=now)
                    continue
                status = lock_agents(status_pk).get(status_pk)
                if not _agent_free(status, allow_not_ready=False):
                    return None, True
                assert status is not None
                return _dial_locked(
                    contact=contact, status=status, mode=DialMode.PROGRESSIVE, decision=decision, now=now
                ), True
            return None, True
    except IntegrityError:
        # The agent got another live dial meanwhile (one live dial per agent, in the database).
        return None, True


def _refused(contact: CampaignContact, decision: Any, *, now: datetime) -> None:
    """A contact that failed its checks is set aside (``services.contact_refuse``: do-not-call,
    attempts used, postponed to the next window) so the next pass does not read it again."""
    from . import services

    services.contact_refuse(contact, decision=decision, now=now)
    logger.info("contact %s not dialled: %s", contact.pk, decision.code)


def progressive_pass(now: datetime | None = None) -> int:
    """Dial for every ready agent of a running progressive campaign for whom no inbound call is
    waiting (inbound keeps priority: the router ran first). Returns the dials made."""
    now = now or timezone.now()
    campaigns = list(
        Campaign.objects.filter(status=CampaignStatus.RUNNING, mode=DialMode.PROGRESSIVE)
        .select_related("queue")
        .order_by("pk")
    )
    if not campaigns:
        return 0
    ready = list(
        AgentStatus.objects.filter(state=AgentState.READY, call__isnull=True)
        .order_by("ready_since", "pk")
        .values_list("pk", "user_id")
    )
    if not ready:
        return 0
    seated = presence.connected(user_id for _pk, user_id in ready)
    ready = [(pk, user_id) for pk, user_id in ready if user_id in seated]
    if not ready:
        return 0
    minimum = dict(Queue.objects.filter(is_active=True).values_list("pk", "min_skill_level"))
    skills: dict[int, set[int]] = {}
    for agent_id, queue_id, level in AgentSkill.objects.filter(agent_id__in=[u for _p, u in ready]).values_list(
        "agent_id", "queue_id", "level"
    ):
        if queue_id in minimum and level >= minimum[queue_id]:
            skills.setdefault(agent_id, set()).add(queue_id)
    horizon = now - timedelta(seconds=float(setting("CALLS_ROUTE_MAX_AGE_S", 3600)))
    waiting: set[int] = set()
    for queue_id, entry_id in Call.objects.filter(state=CallState.QUEUED, queued_at__gte=horizon).values_list(
        "queue_id", "entry_queue_id"
    ):
        waiting.update(q for q in (queue_id, entry_id) if q is not None)
    blocked: dict[int, bool] = {}
    exhausted: set[int] = set()
    made = 0
    for status_pk, user_id in ready:
        queues = skills.get(user_id, set())
        if queues & waiting:
            continue  # an inbound call waits for this agent: the router rings them
        for campaign in campaigns:
            if campaign.pk in exhausted or campaign.queue_id not in queues:
                continue
            if blend_blocked(campaign, now=now, cache=blocked):
                continue
            attempt, more = _progressive_one(campaign.pk, status_pk, now)
            if not more:
                exhausted.add(campaign.pk)
            if attempt is not None:
                made += 1
                break
    return made


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


# --- the sweep ------------------------------------------------------------------------------------


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


def progressive_after_routing() -> None:
    """After a routing pass requested on commit (``calls.dispatch.on_routing_requested``: the
    router has offered the waiting calls first): agents still ready get progressive dials. Not
    re-entered from the commits of its own dials."""
    if getattr(_local, "dialing", False):
        return
    _local.dialing = True
    try:
        progressive_pass()
    except Exception:
        logger.exception("progressive pass failed")
    finally:
        _local.dialing = False
