"""The dial decision: may this contact be called now? (issue 19, docs/outbound.md "Compliance").

``check(contact, now=...)`` runs every rule in a fixed order and stops at the first that fails.
The ``Decision`` carries the code of the failure (``"allowed"`` when none) and ``reasons``: one
entry per rule that was checked, in order, saying why it passed — or, for the last one, why it
failed. The dialer stores ``reasons`` with the ``DialAttempt`` (``allowed_because``) and in the
audit record, so every dial says why it was allowed.

Rules, cheapest first (no query until the database rules):

1. ``campaign_not_running`` — the campaign is running;
2. ``outside_campaign_dates`` — today (Asia/Shanghai) lies within its first and last day;
3. ``outside_center_window`` — the local time lies within ``OUTBOUND_WINDOW`` ("09:00-20:00");
4. ``outside_campaign_window`` — … and within the campaign's own window;
5. ``not_due`` / ``attempts_used`` / ``contact_not_pending`` — the contact's own state;
6. ``public_holiday`` — today is not a public holiday of the working-day calendar (weekend days of
   a holiday count; ordinary weekends do not), unless the campaign ``allow_holidays``;
7. ``do_not_call`` — no active ``DoNotCall`` row for the number (a row with ``all_campaigns``
   off blocks marketing campaigns only: a revisit after a complaint still calls);
8. ``weekly_cap`` — a marketing campaign: fewer than ``OUTBOUND_MARKETING_PER_WEEK`` marketing
   calls reached the number in the last 7 days, in any campaign (a call reached it when it was
   answered or is still live; a busy or unanswered attempt does not count, so retries work).

Rules 7 and 8 are one statement (``number_facts``), an index look-up each
(``calls_dnc_active_once``, ``calls_attempt_phone_idx``); the holiday set of a year is cached in
the process for a minute. p99 under 5 ms with a 1,000,000-number list: ``bench/bench_outbound.py``.
"""

from __future__ import annotations

import time as time_module
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import AttemptStatus, Campaign, CampaignKind, CampaignStatus, ContactStatus, DialAttempt, DoNotCall

if TYPE_CHECKING:
    from .models import CampaignContact

ALLOWED = "allowed"
CAMPAIGN_NOT_RUNNING = "campaign_not_running"
OUTSIDE_CAMPAIGN_DATES = "outside_campaign_dates"
OUTSIDE_CENTER_WINDOW = "outside_center_window"
OUTSIDE_CAMPAIGN_WINDOW = "outside_campaign_window"
CONTACT_NOT_PENDING = "contact_not_pending"
ATTEMPTS_USED = "attempts_used"
NOT_DUE = "not_due"
PUBLIC_HOLIDAY = "public_holiday"
DO_NOT_CALL = "do_not_call"
WEEKLY_CAP = "weekly_cap"

CODES = (
    CAMPAIGN_NOT_RUNNING,
    OUTSIDE_CAMPAIGN_DATES,
    OUTSIDE_CENTER_WINDOW,
    OUTSIDE_CAMPAIGN_WINDOW,
    CONTACT_NOT_PENDING,
    ATTEMPTS_USED,
    NOT_DUE,
    PUBLIC_HOLIDAY,
    DO_NOT_CALL,
    WEEKLY_CAP,
)

# A dial that reached the number: answered (answered_at set) or not yet ended.
LIVE_STATUSES = (
    AttemptStatus.SENT,
    AttemptStatus.ACKNOWLEDGED,
    AttemptStatus.DIALING,
    AttemptStatus.RINGING,
    AttemptStatus.ANSWERED,
)
HOLIDAY_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Decision:
    """``allowed``; ``code`` = ``"allowed"`` or the failed rule's code; ``reasons`` = ``{rule:
    text}`` for every rule checked, in order (the last one the failure when refused)."""

    allowed: bool
    code: str
    reasons: dict[str, Any] = field(default_factory=dict)


def parse_window(text: str) -> tuple[time, time]:
    """``"09:00-20:00"`` → (09:00, 20:00). ValueError on anything else (settings are checked at
    the first decision, loudly)."""
    start_text, _sep, end_text = text.replace("–", "-").partition("-")
    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    if end <= start:
        raise ValueError(f"OUTBOUND_WINDOW: end before start: {text!r}")
    return start, end


def center_window() -> tuple[time, time]:
    return parse_window(getattr(settings, "OUTBOUND_WINDOW", "09:00-20:00"))


def marketing_per_week() -> int:
    return int(getattr(settings, "OUTBOUND_MARKETING_PER_WEEK", 1))


# --- the calendar ---------------------------------------------------------------------------------

_holidays: dict[int, tuple[float, frozenset[date]]] = {}


def holidays_of(year: int) -> frozenset[date]:
    """The public holidays (rest days named by the calendar, weekend ones included) of ``year``,
    from the working-day calendar (``tickets.selectors.calendar_days``), cached a minute."""
    cached = _holidays.get(year)
    clock = time_module.monotonic()
    if cached is not None and clock - cached[0] < HOLIDAY_CACHE_SECONDS:
        return cached[1]
    from tickets.selectors import calendar_days

    days = frozenset(day.date for day in calendar_days(year=year) if not day.is_working_day)
    _holidays[year] = (clock, days)
    return days


def forget_holidays() -> None:
    """Drop the cached holiday sets (tests; a calendar edit shows within a minute anyway)."""
    _holidays.clear()


def is_public_holiday(day: date) -> bool:
    return day in holidays_of(day.year)


# --- look-ups -------------------------------------------------------------------------------------

_NUMBER_SQL: dict[bool, str] = {}


def _number_sql(marketing: bool) -> str:
    """One statement for both number rules (a dial decision is one round trip, not two): the
    active do-not-call row (``calls_dnc_active_once``) and, for a marketing campaign, the count of
    marketing dials that reached the number since a time (``calls_attempt_phone_idx``). Written
    from the models' table and column names."""
    if marketing not in _NUMBER_SQL:
        dnc, attempt, campaign = DoNotCall._meta.db_table, DialAttempt._meta.db_table, Campaign._meta.db_table
        live = ", ".join(f"'{status}'" for status in LIVE_STATUSES)
        # Names from the models, constants from the enums; the values are bound.
        cap = (
            f"(SELECT count(*) FROM {attempt} a JOIN {campaign} c ON c.id = a.campaign_id"  # noqa: S608
            f" WHERE a.phone = %s AND a.decided_at > %s AND c.kind = '{CampaignKind.MARKETING}'"
            f" AND (a.answered_at IS NOT NULL OR a.status IN ({live})))"
            if marketing
            else "0"
        )
        _NUMBER_SQL[marketing] = (
            f"SELECT d.id, d.all_campaigns, d.reason, {cap} FROM (SELECT 1) AS one"  # noqa: S608
            f" LEFT JOIN {dnc} d ON d.phone = %s AND d.removed_at IS NULL"
        )
    return _NUMBER_SQL[marketing]


def number_facts(phone: str, *, marketing: bool, now: datetime) -> tuple[tuple[int, bool, str] | None, int]:
    """(the active do-not-call row of ``phone`` as (id, all_campaigns, reason) or None, the
    marketing dials that reached it in the 7 days before ``now`` — any campaign; 0 when not
    ``marketing``). A dial reached the number when it was answered or is still live."""
    params: list[Any] = [phone, now - timedelta(days=7), phone] if marketing else [phone]
    with connection.cursor() as cursor:
        cursor.execute(_number_sql(marketing), params)
        row = cursor.fetchone()
    entry = (int(row[0]), bool(row[1]), str(row[2])) if row[0] is not None else None
    return entry, int(row[3])


def dnc_blocks(entry: tuple[int, bool, str] | None, campaign: Campaign) -> bool:
    if entry is None:
        return False
    return entry[1] or campaign.kind == CampaignKind.MARKETING


# --- the decision ---------------------------------------------------------------------------------


def _in_window(moment: time, start: time, end: time) -> bool:
    return start <= moment < end


def check(contact: CampaignContact, *, now: datetime | None = None) -> Decision:
    """May ``contact`` be dialled at ``now`` (default: now)? Reads ``contact.campaign`` (pass a
    contact fetched with ``select_related("campaign")``) and at most three small queries. Never
    writes; the caller stores ``reasons`` with its ``DialAttempt``."""
    now = now or timezone.now()
    local = timezone.localtime(now, timezone.get_default_timezone())
    today, clock = local.date(), local.time().replace(tzinfo=None)
    campaign: Campaign = contact.campaign
    reasons: dict[str, Any] = {}

    def refuse(code: str, rule: str, text: Any) -> Decision:
        reasons[rule] = text
        return Decision(False, code, reasons)

    # 1–4: the campaign and the clock
    if campaign.status != CampaignStatus.RUNNING:
        return refuse(CAMPAIGN_NOT_RUNNING, "campaign", f"status {campaign.status}")
    reasons["campaign"] = "running"
    if not campaign.date_from <= today <= campaign.date_to:
        return refuse(OUTSIDE_CAMPAIGN_DATES, "dates", f"{today} not in {campaign.date_from}..{campaign.date_to}")
    reasons["dates"] = f"{today} in {campaign.date_from}..{campaign.date_to}"
    start, end = center_window()
    window = f"{start:%H:%M}-{end:%H:%M}"
    if not _in_window(clock, start, end):
        return refuse(OUTSIDE_CENTER_WINDOW, "center_window", f"{clock:%H:%M} not in {window}")
    reasons["center_window"] = f"{clock:%H:%M} in {window}"
    own = f"{campaign.window_start:%H:%M}-{campaign.window_end:%H:%M}"
    if not _in_window(clock, campaign.window_start, campaign.window_end):
        return refuse(OUTSIDE_CAMPAIGN_WINDOW, "campaign_window", f"{clock:%H:%M} not in {own}")
    reasons["campaign_window"] = f"{clock:%H:%M} in {own}"

    # 5: the contact
    if contact.status != ContactStatus.PENDING:
        return refuse(CONTACT_NOT_PENDING, "contact", f"status {contact.status}")
    reasons["contact"] = "pending"
    if contact.attempts >= campaign.max_attempts:
        return refuse(ATTEMPTS_USED, "attempts", f"{contact.attempts} of {campaign.max_attempts} used")
    reasons["attempts"] = f"{contact.attempts} of {campaign.max_attempts} used"
    if contact.next_attempt_at is not None and contact.next_attempt_at > now:
        return refuse(NOT_DUE, "due", f"next attempt at {contact.next_attempt_at.isoformat()}")
    reasons["due"] = "due" if contact.next_attempt_at is None else f"due since {contact.next_attempt_at.isoformat()}"

    # 6: the calendar
    if campaign.allow_holidays:
        reasons["holiday"] = "campaign calls on holidays"
    elif is_public_holiday(today):
        return refuse(PUBLIC_HOLIDAY, "holiday", f"{today} is a public holiday")
    else:
        reasons["holiday"] = f"{today} is not a public holiday"

    # 7–8: the number
    marketing = campaign.kind == CampaignKind.MARKETING
    entry, reached = number_facts(contact.phone, marketing=marketing, now=now)
    if dnc_blocks(entry, campaign):
        assert entry is not None
        return refuse(DO_NOT_CALL, "dnc", f"listed ({entry[2]}, entry {entry[0]})")
    reasons["dnc"] = "not listed" if entry is None else f"listed for marketing only (entry {entry[0]})"
    if marketing:
        cap = marketing_per_week()
        if reached >= cap:
            return refuse(WEEKLY_CAP, "weekly_cap", f"{reached} marketing calls in 7 days, cap {cap}")
        reasons["weekly_cap"] = f"{reached} marketing calls in 7 days, cap {cap}"
    else:
        reasons["weekly_cap"] = "not a marketing campaign"
    return Decision(True, ALLOWED, reasons)
