"""Reads of campaigns, lists and the do-not-call list: the dialer's next contact, the campaign
page's progress and figures (issue 19). Selectors never write and never import services."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.dates import local_day_bounds

from . import errors
from .models import (
    AttemptStatus,
    Campaign,
    CampaignContact,
    CampaignStatus,
    ContactStatus,
    DialAttempt,
    DncReason,
    DoNotCall,
    ImportJob,
    Outcome,
)

if TYPE_CHECKING:
    from ..models import Call

# Outcomes of a call that reached the right person; conversions among them.
RIGHT_PARTY_OUTCOMES = frozenset(
    {
        Outcome.INTERESTED,
        Outcome.NOT_INTERESTED,
        Outcome.CALLBACK,
        Outcome.DNC_REQUEST,
        Outcome.SALE,
        Outcome.COMPLETED,
    }
)
CONVERSION_OUTCOMES = frozenset({Outcome.SALE, Outcome.INTERESTED})
OPEN_CONTACT_STATUSES = (ContactStatus.PENDING, ContactStatus.DIALING)


# --- the dialer -----------------------------------------------------------------------------------


def due_contacts(campaign: Campaign, *, now: datetime | None = None) -> QuerySet[CampaignContact]:
    """The contacts of ``campaign`` that may be taken now, in dialing order: pending, not reserved
    for a preview, attempts left, due (no next attempt time, or it has come) — next attempt time
    nulls first (never tried), then the list's order. Compliance (``compliance.check``) is the
    caller's next step."""
    now = now or timezone.now()
    return (
        CampaignContact.objects.filter(
            campaign=campaign,
            status=ContactStatus.PENDING,
            reserved_by__isnull=True,
            attempts__lt=campaign.max_attempts,
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by(F("next_attempt_at").asc(nulls_first=True), "pk")
    )


def next_contact(campaign: Campaign, *, now: datetime | None = None) -> CampaignContact | None:
    """The next eligible contact of ``campaign`` (see ``due_contacts``), row-locked.

    Call it inside ``transaction.atomic()``: on PostgreSQL the row is taken with
    ``SELECT … FOR UPDATE SKIP LOCKED``, so two dialers (two processes, two agents) never get the
    same contact — the second skips the row the first holds and takes the next. The lock lasts
    until the caller's transaction ends; the caller marks the contact (``dialing`` or reserved)
    before it commits. The contact's ``campaign`` is the one passed in (no second query)."""
    rows = due_contacts(campaign, now=now)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    contact = rows.first()
    if contact is not None:
        contact.campaign = campaign
    return contact


# --- campaigns ------------------------------------------------------------------------------------


def campaign_list(*, status: str | None = None) -> QuerySet[Campaign]:
    rows = Campaign.objects.select_related("queue", "created_by")
    if status:
        rows = rows.filter(status=status)
    return rows.annotate(
        contacts_total=Count("contacts", distinct=True),
        contacts_open=Count("contacts", filter=Q(contacts__status__in=OPEN_CONTACT_STATUSES), distinct=True),
    ).order_by("-created_at", "-pk")


def campaign_get(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_related("queue", "created_by").filter(pk=campaign_id).first()
    if campaign is None:
        raise errors.CampaignNotFound()
    return campaign


def campaign_by_code(code: str) -> Campaign | None:
    return Campaign.objects.select_related("queue").filter(code=code).first()


def running_campaigns(*, kind: str | None = None) -> QuerySet[Campaign]:
    rows = Campaign.objects.filter(status=CampaignStatus.RUNNING).select_related("queue")
    return rows.filter(kind=kind) if kind else rows


def campaign_contacts(campaign: Campaign, *, status: str | None = None) -> QuerySet[CampaignContact]:
    rows = campaign.contacts.all().order_by("pk")
    return rows.filter(status=status) if status else rows


def campaign_imports(campaign: Campaign) -> QuerySet[ImportJob]:
    return campaign.imports.select_related("created_by").order_by("-started_at", "-pk")


def import_get(job_id: int) -> ImportJob:
    job = ImportJob.objects.select_related("campaign").filter(pk=job_id).first()
    if job is None:
        raise errors.ImportNotFound()
    return job


def contact_get(contact_id: int) -> CampaignContact:
    contact = CampaignContact.objects.select_related("campaign").filter(pk=contact_id).first()
    if contact is None:
        raise errors.ContactNotFound()
    return contact


def phones_in_campaign(campaign_id: int, phones: list[str]) -> set[str]:
    return set(
        CampaignContact.objects.filter(campaign_id=campaign_id, phone__in=phones).values_list("phone", flat=True)
    )


def dnc_phones(phones: list[str], *, marketing: bool) -> set[str]:
    """Which of ``phones`` the active do-not-call list blocks for a campaign of this kind."""
    rows = DoNotCall.objects.filter(phone__in=phones, removed_at__isnull=True)
    if not marketing:
        rows = rows.filter(all_campaigns=True)
    return set(rows.values_list("phone", flat=True))


# --- the do-not-call list -------------------------------------------------------------------------


def dnc_list(*, phone: str = "", include_removed: bool = False) -> QuerySet[DoNotCall]:
    rows = DoNotCall.objects.select_related("added_by")
    if not include_removed:
        rows = rows.filter(removed_at__isnull=True)
    if phone:
        rows = rows.filter(phone__startswith=phone)
    return rows.order_by("-created_at", "-pk")


def dnc_get(entry_id: int) -> DoNotCall:
    entry = DoNotCall.objects.filter(pk=entry_id).first()
    if entry is None:
        raise errors.DncNotFound()
    return entry


def dnc_active(phone: str) -> DoNotCall | None:
    return DoNotCall.objects.filter(phone=phone, removed_at__isnull=True).first()


# --- progress and figures -------------------------------------------------------------------------


def campaign_progress(campaign: Campaign) -> dict[str, Any]:
    """The campaign page's head: contacts by status, contacts left (pending or being called),
    attempts made."""
    by_status = dict(
        campaign.contacts.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    total = sum(by_status.values())
    left = sum(by_status.get(status, 0) for status in OPEN_CONTACT_STATUSES)
    return {
        "contacts": total,
        "left": left,
        "by_status": {status: by_status.get(status, 0) for status in ContactStatus.values},
        "attempts": campaign.attempts.count(),
        "done_share": round((total - left) / total, 4) if total else None,
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def campaign_figures(campaign: Campaign, date_from: date, date_to: date) -> dict[str, Any]:
    """The campaign's KPIs over dial attempts decided on local dates ``date_from``..``date_to``:

    * ``attempts``, ``contacts_attempted`` and ``attempts_per_contact``;
    * ``contacts_reached`` (an attempt answered) and ``contact_rate`` = reached / attempted;
    * ``right_party`` (a reached contact whose outcome says the right person spoke: not a wrong
      number) and ``right_party_rate`` = right party / attempted;
    * ``conversions`` (a sale or interested) and ``conversion`` = conversions / reached;
    * ``abandoned``: answered attempts that ended without an outcome (no agent took them up);
    * ``aht_s``: average handle time of the answered outbound calls (answer to end of after-call
      work) in seconds;
    * ``dnc_additions``: do-not-call requests recorded on the campaign's calls, and all DNC rows
      added center-wide in the period (``dnc_added_total``).
    """
    start, end = local_day_bounds(date_from, date_to)
    attempts = DialAttempt.objects.filter(campaign=campaign, decided_at__gte=start, decided_at__lt=end)
    sums = attempts.aggregate(
        attempts=Count("pk"),
        contacts_attempted=Count("contact", distinct=True),
        contacts_reached=Count("contact", filter=Q(answered_at__isnull=False), distinct=True),
        right_party=Count("contact", filter=Q(outcome__in=RIGHT_PARTY_OUTCOMES), distinct=True),
        conversions=Count("contact", filter=Q(outcome__in=CONVERSION_OUTCOMES), distinct=True),
        abandoned=Count("pk", filter=Q(answered_at__isnull=False, status=AttemptStatus.ENDED, outcome="")),
        dnc_requests=Count("pk", filter=Q(outcome=Outcome.DNC_REQUEST)),
        sales=Count("pk", filter=Q(outcome=Outcome.SALE)),
    )
    call_ids = attempts.exclude(call_id="").values("call_id")
    handle = _calls_handle(call_ids)
    return {
        "date_from": date_from,
        "date_to": date_to,
        **sums,
        "attempts_per_contact": _ratio(sums["attempts"], sums["contacts_attempted"]),
        "contact_rate": _ratio(sums["contacts_reached"], sums["contacts_attempted"]),
        "right_party_rate": _ratio(sums["right_party"], sums["contacts_attempted"]),
        "conversion": _ratio(sums["conversions"], sums["contacts_reached"]),
        "abandoned_rate": _ratio(sums["abandoned"], sums["contacts_reached"]),
        "aht_s": handle,
        "dnc_added_total": DoNotCall.objects.filter(created_at__gte=start, created_at__lt=end).count(),
        "dnc_added_on_calls": DoNotCall.objects.filter(
            created_at__gte=start, created_at__lt=end, reason=DncReason.CALL_REQUEST
        ).count(),
    }


def _calls_handle(call_ids: QuerySet[Any]) -> float | None:
    from ..models import Call

    calls: QuerySet[Call] = Call.objects.filter(call_id__in=call_ids, answered_at__isnull=False)
    duration = ExpressionWrapper(Coalesce("wrapup_at", "ended_at") - F("answered_at"), output_field=DurationField())
    average = calls.filter(ended_at__isnull=False).aggregate(aht=Avg(duration))["aht"]
    if average is None:
        return None
    if isinstance(average, timedelta):
        return round(average.total_seconds(), 1)
    return round(float(average) / 1_000_000, 1)  # SQLite: microseconds


def outbound_figures(date_from: date, date_to: date) -> list[dict[str, Any]]:
    """``campaign_figures`` of every campaign with an attempt in the period (the report table)."""
    start, end = local_day_bounds(date_from, date_to)
    ids = (
        DialAttempt.objects.filter(decided_at__gte=start, decided_at__lt=end)
        .order_by()
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    rows = []
    for campaign in Campaign.objects.filter(pk__in=list(ids)).order_by("code"):
        rows.append({"campaign": campaign, **campaign_figures(campaign, date_from, date_to)})
    return rows
