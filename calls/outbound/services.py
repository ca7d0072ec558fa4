"""Writes of campaigns, their contacts and the do-not-call list (issue 19, docs/outbound.md).

Every function is one transaction and audited (``audit_record``, actions ``outbound.*``). The
dialing side (``calls.outbound.dialer``) takes contacts with ``selectors.next_contact``, decides
with ``compliance.check`` and reports what became of a dial here: ``record_cause`` for a dial the
switch ended unanswered, ``record_outcome`` for the agent's disposition. A contact's ``attempts``
is counted here, once per dial (the dial's ``outcome`` set = counted), never at dial time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from core.db import retry_on_conflict

from . import compliance, errors, phones
from .models import (
    Campaign,
    CampaignContact,
    CampaignKind,
    CampaignStatus,
    ContactSource,
    ContactStatus,
    DialAttempt,
    DialMode,
    DncReason,
    DoNotCall,
    Outcome,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from ..models import Queue

DEFAULT_RETRY_MINUTES: dict[str, int] = {"busy": 10, "no_answer": 120, "rejected": 240, "failed": 30, "skipped": 60}
# What the agent may record (Outcome minus the switch's causes).
AGENT_OUTCOMES = (
    Outcome.INTERESTED,
    Outcome.NOT_INTERESTED,
    Outcome.CALLBACK,
    Outcome.WRONG_NUMBER,
    Outcome.DNC_REQUEST,
    Outcome.SALE,
    Outcome.COMPLETED,
)
CAUSES = (Outcome.BUSY, Outcome.NO_ANSWER, Outcome.REJECTED, Outcome.INVALID_NUMBER, Outcome.FAILED)
DONE_OUTCOMES = frozenset({Outcome.INTERESTED, Outcome.NOT_INTERESTED, Outcome.SALE, Outcome.COMPLETED})
EDITABLE_FIELDS = (
    "name",
    "mode",
    "script",
    "queue",
    "blended",
    "outcomes",
    "window_start",
    "window_end",
    "allow_holidays",
    "date_from",
    "date_to",
    "max_attempts",
    "retry_minutes",
    "caller_id",
)
ALLOWED_MOVES = {
    "start": ({CampaignStatus.DRAFT, CampaignStatus.PAUSED}, CampaignStatus.RUNNING),
    "pause": ({CampaignStatus.RUNNING}, CampaignStatus.PAUSED),
    "finish": ({CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED}, CampaignStatus.FINISHED),
}

AnyRequest = "HttpRequest | Request | None"


def retry_minutes(campaign: Campaign) -> dict[str, int]:
    """The campaign's retry intervals by outcome or cause, over the defaults."""
    return {**DEFAULT_RETRY_MINUTES, **{str(k): int(v) for k, v in (campaign.retry_minutes or {}).items()}}


def campaign_outcomes(campaign: Campaign) -> list[str]:
    """The outcomes an agent may record on this campaign's calls (all by default)."""
    return [str(o) for o in campaign.outcomes] if campaign.outcomes else [str(o) for o in AGENT_OUTCOMES]


# --- campaigns ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignFields:
    name: str
    kind: str
    queue: Queue
    window_start: time
    window_end: time
    date_from: date
    date_to: date
    mode: str = DialMode.PREVIEW
    script: str = ""
    blended: bool = True
    outcomes: tuple[str, ...] = ()
    allow_holidays: bool = False
    max_attempts: int = 3
    retry_minutes: dict[str, int] | None = None
    caller_id: str = ""


def _validate(values: dict[str, Any]) -> None:
    if values["date_to"] < values["date_from"]:
        raise errors.CampaignInvalid("The last day is before the first day.", code="invalid_dates")
    if values["window_end"] <= values["window_start"]:
        raise errors.CampaignInvalid("The calling window ends before it starts.", code="invalid_window")
    if not 1 <= int(values["max_attempts"]) <= 20:
        raise errors.CampaignInvalid("Attempts per contact must be 1 to 20.", code="invalid_max_attempts")
    unknown = set(values.get("outcomes") or ()) - {str(o) for o in AGENT_OUTCOMES}
    if unknown:
        raise errors.CampaignInvalid(f"Unknown outcome codes: {', '.join(sorted(unknown))}.", code="invalid_outcome")
    for key, minutes in (values.get("retry_minutes") or {}).items():
        if key not in DEFAULT_RETRY_MINUTES or isinstance(minutes, bool) or not isinstance(minutes, int):
            raise errors.CampaignInvalid(f"Retry interval {key!r} is not valid.", code="invalid_retry")
        if not 1 <= minutes <= 60 * 24 * 30:
            raise errors.CampaignInvalid(f"Retry interval {key!r} must be 1 to 43200 minutes.", code="invalid_retry")


@transaction.atomic
def campaign_create(*, code: str, fields: CampaignFields, actor: User | None, request: Any = None) -> Campaign:
    values = {name: getattr(fields, name) for name in EDITABLE_FIELDS}
    values["outcomes"] = list(fields.outcomes)
    values["retry_minutes"] = dict(fields.retry_minutes or {})
    _validate(values)
    if Campaign.objects.filter(code=code).exists():
        raise errors.CampaignInvalid("A campaign with this code exists.", code="duplicate_code")
    campaign = Campaign.objects.create(code=code, kind=fields.kind, created_by=actor, **values)
    audit_record(
        actor=actor,
        action="outbound.campaign_create",
        obj=campaign,
        details={"code": code, "kind": fields.kind, "mode": fields.mode},
        request=request,
    )
    return campaign


def _lock_campaign(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None:
        raise errors.CampaignNotFound()
    return campaign


@transaction.atomic
def campaign_update(
    *, campaign: Campaign, changes: dict[str, Any], actor: User | None, request: Any = None
) -> Campaign:
    """Change the editable fields (``EDITABLE_FIELDS``) of a campaign not finished; the kind and
    code are fixed once created."""
    locked = _lock_campaign(campaign.pk)
    if locked.status == CampaignStatus.FINISHED:
        raise errors.CampaignState("A finished campaign cannot be changed.")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise errors.CampaignInvalid(f"Not editable: {', '.join(sorted(unknown))}.", code="not_editable")
    values = {name: getattr(locked, name) for name in EDITABLE_FIELDS}
    values.update(changes)
    if "outcomes" in changes:
        values["outcomes"] = list(changes["outcomes"])
    _validate(values)
    before = {name: _plain(getattr(locked, name)) for name in changes}
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor=actor,
        action="outbound.campaign_update",
        obj=locked,
        details={"before": before, "after": {name: _plain(getattr(locked, name)) for name in changes}},
        request=request,
    )
    return locked


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, date | time):
        return value.isoformat()
    return value


@transaction.atomic
def campaign_move(*, campaign: Campaign, move: str, actor: User | None, request: Any = None) -> Campaign:
    """``start`` (draft or paused → running), ``pause`` (running → paused), ``finish`` (→ finished).
    Starting a campaign past its last day is refused."""
    sources, target = ALLOWED_MOVES[move]
    locked = _lock_campaign(campaign.pk)
    if locked.status not in sources:
        raise errors.CampaignState(f"Cannot {move} a campaign that is {locked.status}.")
    if move == "start" and locked.date_to < timezone.localdate():
        raise errors.CampaignState("The campaign's last day has passed.", code="campaign_ended")
    before = locked.status
    locked.status = target
    locked.save(update_fields=["status", "updated_at"])
    if target != CampaignStatus.RUNNING:
        # Preview reservations end with the campaign's run.
        locked.contacts.filter(reserved_by__isnull=False, status=ContactStatus.PENDING).update(
            reserved_by=None, reserved_at=None
        )
    audit_record(
        actor=actor,
        action=f"outbound.campaign_{move}",
        obj=locked,
        details={"before": before, "after": target},
        request=request,
    )
    return locked


def campaign_start(*, campaign: Campaign, actor: User | None, request: Any = None) -> Campaign:
    return campaign_move(campaign=campaign, move="start", actor=actor, request=request)


def campaign_pause(*, campaign: Campaign, actor: User | None, request: Any = None) -> Campaign:
    return campaign_move(campaign=campaign, move="pause", actor=actor, request=request)


def campaign_finish(*, campaign: Campaign, actor: User | None, request: Any = None) -> Campaign:
    return campaign_move(campaign=campaign, move="finish", actor=actor, request=request)


# --- contacts -------------------------------------------------------------------------------------


def contact_add(
    *,
    campaign: Campaign,
    phone: str,
    name: str = "",
    customer_id: int | None = None,
    source: str = ContactSource.MANUAL,
    source_ref: str = "",
    data: dict[str, Any] | None = None,
    next_attempt_at: datetime | None = None,
    actor: User | None = None,
) -> tuple[CampaignContact, bool]:
    """Add one contact (``phone`` validated and normalised). Returns (contact, created): a number
    already in the campaign, or a ``source_ref`` already fed to it, is not added twice."""
    number = phones.normalize(phone)
    if number is None:
        raise errors.InvalidPhone()
    if source_ref:
        existing = CampaignContact.objects.filter(campaign=campaign, source=source, source_ref=source_ref).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            contact = CampaignContact.objects.create(
                campaign=campaign,
                phone=number,
                name=name[:100],
                customer_id=customer_id,
                source=source,
                source_ref=source_ref[:64],
                data=data or {},
                next_attempt_at=next_attempt_at,
            )
    except IntegrityError:
        return CampaignContact.objects.get(campaign=campaign, phone=number), False
    if actor is not None:
        audit_record(actor=actor, action="outbound.contact_add", obj=contact, details={"campaign": campaign.code})
    return contact, True


def _next_window_start(campaign: Campaign, after: datetime) -> datetime:
    """The first moment at or after ``after`` inside both the center's and the campaign's window."""
    center_start, center_end = compliance.center_window()
    start = max(center_start, campaign.window_start)
    end = min(center_end, campaign.window_end)
    local = timezone.localtime(after)
    tz = timezone.get_default_timezone()
    day = local.date()
    for _ in range(2):
        candidate = timezone.make_aware(datetime.combine(day, start), tz)
        if candidate >= after:
            return candidate
        if local.time().replace(tzinfo=None) < end:
            return after
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, start), tz)


@transaction.atomic
def contact_refuse(
    contact: CampaignContact, *, decision: compliance.Decision, now: datetime | None = None
) -> CampaignContact:
    """What a refused dial decision does to the contact, so the dialer moves on: on the
    do-not-call list → ``dnc``; attempts used → ``exhausted``; outside the windows, a holiday or
    the weekly cap → its next attempt postponed (to the next window start, the next day). Other
    codes (campaign-wide, or not due) leave it as it is."""
    now = now or timezone.now()
    code = decision.code
    updates: dict[str, Any] = {}
    if code == compliance.DO_NOT_CALL:
        updates = {"status": ContactStatus.DNC}
    elif code == compliance.ATTEMPTS_USED:
        updates = {"status": ContactStatus.EXHAUSTED}
    elif code in (compliance.OUTSIDE_CENTER_WINDOW, compliance.OUTSIDE_CAMPAIGN_WINDOW):
        updates = {"next_attempt_at": _next_window_start(contact.campaign, now)}
    elif code in (compliance.PUBLIC_HOLIDAY, compliance.WEEKLY_CAP):
        tomorrow = timezone.localtime(now).date() + timedelta(days=1)
        midnight = timezone.make_aware(datetime.combine(tomorrow, time.min), timezone.get_default_timezone())
        updates = {"next_attempt_at": _next_window_start(contact.campaign, midnight)}
    if not updates:
        return contact
    updates.update(reserved_by=None, reserved_at=None)
    CampaignContact.objects.filter(pk=contact.pk, status=ContactStatus.PENDING).update(**updates, updated_at=now)
    for name, value in updates.items():
        setattr(contact, name, value)
    return contact


@transaction.atomic
def contact_release(contact: CampaignContact) -> None:
    """End a preview reservation without a dial (the agent left, the campaign paused)."""
    CampaignContact.objects.filter(pk=contact.pk).update(reserved_by=None, reserved_at=None)
    contact.reserved_by = None
    contact.reserved_at = None


@transaction.atomic
def contact_skip(contact: CampaignContact, *, agent: User, reason: str, now: datetime | None = None) -> CampaignContact:
    """The agent skipped a previewed contact (with a reason): not an attempt; it comes back after
    the campaign's ``skipped`` interval."""
    now = now or timezone.now()
    locked = CampaignContact.objects.select_for_update().select_related("campaign").get(pk=contact.pk)
    if locked.status != ContactStatus.PENDING:
        raise errors.CampaignState("This contact is not waiting to be called.", code="contact_not_pending")
    locked.reserved_by = None
    locked.reserved_at = None
    locked.next_attempt_at = now + timedelta(minutes=retry_minutes(locked.campaign)["skipped"])
    locked.last_outcome = Outcome.SKIPPED
    locked.save(update_fields=["reserved_by", "reserved_at", "next_attempt_at", "last_outcome", "updated_at"])
    audit_record(
        actor=agent, action="outbound.contact_skip", obj=locked, details={"reason": reason[:200], "phone": locked.phone}
    )
    return locked


# --- what became of a dial ------------------------------------------------------------------------


def _lock_attempt_and_contact(attempt: DialAttempt) -> tuple[DialAttempt, CampaignContact]:
    locked = DialAttempt.objects.select_for_update().get(pk=attempt.pk)
    contact = CampaignContact.objects.select_for_update().select_related("campaign").get(pk=locked.contact_id)
    return locked, contact


def _schedule_retry(contact: CampaignContact, key: str, now: datetime) -> None:
    if contact.attempts >= contact.campaign.max_attempts:
        contact.status = ContactStatus.EXHAUSTED
        contact.next_attempt_at = None
    else:
        contact.status = ContactStatus.PENDING
        contact.next_attempt_at = now + timedelta(minutes=retry_minutes(contact.campaign).get(key, 60))


@retry_on_conflict
def record_cause(
    attempt: DialAttempt, cause: str, *, now: datetime | None = None, actor: User | None = None
) -> CampaignContact:
    """A dial the switch ended unanswered (``busy``, ``no_answer``, ``rejected``, ``failed``,
    ``invalid_number``): one attempt counted, the contact retried after the campaign's interval for
    the cause (``invalid_number`` → invalid; attempts used → exhausted). Idempotent: a dial whose
    outcome is recorded is left alone."""
    if cause not in CAUSES:
        raise errors.InvalidOutcome(f"Unknown cause {cause!r}.", code="invalid_cause")
    now = now or timezone.now()
    with transaction.atomic():
        locked, contact = _lock_attempt_and_contact(attempt)
        if locked.outcome:
            return contact
        locked.cause = locked.cause or cause
        locked.outcome = cause
        locked.save(update_fields=["cause", "outcome"])
        contact.attempts += 1
        contact.last_outcome = cause
        contact.reserved_by = None
        contact.reserved_at = None
        if cause == Outcome.INVALID_NUMBER:
            contact.status = ContactStatus.INVALID
            contact.next_attempt_at = None
        else:
            _schedule_retry(contact, cause, now)
        contact.save(
            update_fields=["attempts", "last_outcome", "status", "next_attempt_at", "reserved_by", "reserved_at"]
        )
        audit_record(
            actor=actor,
            action="outbound.dial_unanswered",
            obj=locked,
            details={"cause": cause, "contact": contact.pk, "status": contact.status, "attempts": contact.attempts},
        )
        attempt.cause, attempt.outcome = locked.cause, locked.outcome
        return contact


@retry_on_conflict
def record_outcome(
    attempt: DialAttempt,
    *,
    outcome: str,
    agent: User | None,
    callback_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> CampaignContact:
    """The agent's disposition of a dial (``AGENT_OUTCOMES``, limited to the campaign's):

    * interested / not interested / sale / completed → the contact is done;
    * ``callback`` → called again at ``callback_at`` (future, within the campaign's dates); the
      customer's wish is not an attempt used;
    * ``dnc_request`` → the number goes on the do-not-call list at once (every campaign) and the
      contact is ``dnc``;
    * ``wrong_number`` → invalid.

    Recording the same outcome twice is a no-op; a different one is refused
    (``outcome_recorded``); a dial of another agent is refused (``not_your_attempt``)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked, contact = _lock_attempt_and_contact(attempt)
        campaign = contact.campaign
        if outcome not in campaign_outcomes(campaign):
            raise errors.InvalidOutcome()
        if agent is not None and locked.agent_id is not None and locked.agent_id != agent.pk:
            raise errors.NotYourAttempt()
        if locked.outcome:
            if locked.outcome == outcome:
                return contact
            raise errors.OutcomeAlreadyRecorded()
        if outcome == Outcome.CALLBACK:
            if callback_at is None or callback_at <= now:
                raise errors.InvalidCallbackTime()
            if timezone.localtime(callback_at).date() > campaign.date_to:
                raise errors.InvalidCallbackTime()
        locked.outcome = outcome
        locked.note = note[:500]
        locked.callback_at = callback_at if outcome == Outcome.CALLBACK else None
        locked.save(update_fields=["outcome", "note", "callback_at"])
        contact.last_outcome = outcome
        contact.reserved_by = None
        contact.reserved_at = None
        if outcome == Outcome.CALLBACK:
            contact.status = ContactStatus.PENDING
            contact.next_attempt_at = callback_at
        else:
            contact.attempts += 1
            contact.next_attempt_at = None
            if outcome in DONE_OUTCOMES:
                contact.status = ContactStatus.DONE
            elif outcome == Outcome.WRONG_NUMBER:
                contact.status = ContactStatus.INVALID
            elif outcome == Outcome.DNC_REQUEST:
                contact.status = ContactStatus.DNC
                _dnc_put(
                    phone=contact.phone,
                    reason=DncReason.CALL_REQUEST,
                    all_campaigns=True,
                    note=f"{campaign.code} dial {locked.command_id}"[:200],
                    customer_id=contact.customer_id,
                    actor=agent,
                )
        contact.save(
            update_fields=["attempts", "last_outcome", "status", "next_attempt_at", "reserved_by", "reserved_at"]
        )
        audit_record(
            actor=agent,
            action="outbound.outcome",
            obj=locked,
            details={
                "outcome": outcome,
                "contact": contact.pk,
                "status": contact.status,
                "attempts": contact.attempts,
                "callback_at": callback_at.isoformat() if callback_at and outcome == Outcome.CALLBACK else None,
            },
        )
        attempt.outcome, attempt.note, attempt.callback_at = locked.outcome, locked.note, locked.callback_at
        return contact


# --- the do-not-call list -------------------------------------------------------------------------


def _dnc_put(
    *,
    phone: str,
    reason: str,
    all_campaigns: bool,
    note: str,
    actor: User | None,
    customer_id: int | None = None,
) -> tuple[DoNotCall, bool]:
    """The active row of ``phone``, created or widened (``all_campaigns`` only ever turned on)."""
    existing = DoNotCall.objects.select_for_update().filter(phone=phone, removed_at__isnull=True).first()
    if existing is not None:
        if all_campaigns and not existing.all_campaigns:
            existing.all_campaigns = True
            existing.save(update_fields=["all_campaigns"])
        return existing, False
    try:
        with transaction.atomic():
            entry = DoNotCall.objects.create(
                phone=phone,
                reason=reason,
                all_campaigns=all_campaigns,
                note=note[:200],
                added_by=actor,
                customer_id=customer_id,
            )
    except IntegrityError:  # added at the same moment by another transaction
        return DoNotCall.objects.get(phone=phone, removed_at__isnull=True), False
    audit_record(
        actor=actor,
        action="outbound.dnc_add",
        obj=entry,
        details={"phone": phone, "reason": reason, "all_campaigns": all_campaigns, "note": note[:200]},
    )
    return entry, True


@transaction.atomic
def dnc_add(
    *,
    phone: str,
    reason: str,
    all_campaigns: bool = False,
    note: str = "",
    actor: User | None,
    customer_id: int | None = None,
) -> DoNotCall:
    """Put a number on the do-not-call list (checked at every dial from now on). A number already
    listed is refused (``dnc_already_listed``)."""
    number = phones.normalize(phone)
    if number is None:
        raise errors.InvalidPhone()
    if reason not in DncReason.values:
        raise errors.CampaignInvalid("Unknown reason.", code="invalid_reason")
    entry, created = _dnc_put(
        phone=number, reason=reason, all_campaigns=all_campaigns, note=note, actor=actor, customer_id=customer_id
    )
    if not created:
        raise errors.AlreadyListed()
    return entry


@transaction.atomic
def customer_opt_out(*, customer_id: int, phone: str, note: str = "", actor: User | None) -> DoNotCall:
    """A customer asked (on their profile, at a branch) never to be called for marketing."""
    number = phones.normalize(phone)
    if number is None:
        raise errors.InvalidPhone()
    entry, _created = _dnc_put(
        phone=number,
        reason=DncReason.CUSTOMER_OPTOUT,
        all_campaigns=False,
        note=note,
        actor=actor,
        customer_id=customer_id,
    )
    return entry


@transaction.atomic
def dnc_remove(*, entry: DoNotCall, note: str, actor: User | None, request: Any = None) -> DoNotCall:
    """Take a number off the list: the row stays, with who removed it, when and why."""
    if not note.strip():
        raise errors.CampaignInvalid("Say why the number may be called again.", code="reason_required")
    locked = DoNotCall.objects.select_for_update().filter(pk=entry.pk).first()
    if locked is None or locked.removed_at is not None:
        raise errors.DncNotFound()
    locked.removed_at = timezone.now()
    locked.removed_by = actor
    locked.removal_note = note.strip()[:200]
    locked.save(update_fields=["removed_at", "removed_by", "removal_note"])
    audit_record(
        actor=actor,
        action="outbound.dnc_remove",
        obj=locked,
        details={"phone": locked.phone, "reason": locked.reason, "note": locked.removal_note},
        request=request,
    )
    return locked


def is_marketing(campaign: Campaign) -> bool:
    return campaign.kind == CampaignKind.MARKETING
