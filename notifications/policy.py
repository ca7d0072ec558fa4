"""What may be handed to the SMS gateway now (issue 15; docs/notifications.md "Rate limits and quiet
hours"). ``delivery.claim`` asks ``judge`` about the rows it has locked, before they become
``sending``; a row it holds back stays ``pending`` with a later ``next_attempt_at`` (deferred) or
becomes ``cancelled``, each with an ``SmsEvent`` saying why (and until when).

* **Quiet hours** (``SMS_QUIET_HOURS``, local times in ``SMS_QUIET_HOURS_TZ``): a marketing message
  is deferred to their end. Never for the other kinds.
* **Marketing quota per phone** (``SMS_MARKETING_MAX_PER_DAY``, ``SMS_MARKETING_MAX_PER_30_DAYS``,
  rolling windows, counted from the phone's marketing rows handed to the gateway: ``sending``,
  ``sent``, ``delivered`` by their claim time): over it the message is cancelled — marketing is
  never owed.
* **Marketing rate, all phones** (``SMS_MARKETING_MAX_PER_MINUTE``, marketing claims of the last
  60 s): over it the message is deferred, so a campaign never crowds out the notices. The sweep
  hands marketing rows to the tasks only within that budget (``marketing_budget``).
* **Flood limit per phone, every kind** (``SMS_FLOOD_MAX`` in ``SMS_FLOOD_WINDOW_S``): the excess is
  deferred until the oldest message of the window leaves it — never dropped (a transaction notice
  is owed), also within one claimed batch.

Counting reads the outbox's ``(phone, created_at)`` index (rows created more than ``LOOKBACK``
before a window's start are not looked at) and, when the batch holds marketing rows, the
events' ``at`` index. On PostgreSQL the claim first takes an advisory lock per phone of its
batch (and one for the marketing rate), in key order: two workers claiming for the same phone
count each other's claims, so the limits hold across workers. Locks and counts are one round
trip (``_count``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Case, Count, IntegerField, Min, Q, Value, When
from django.utils import timezone

from .models import SmsEvent, SmsOutbox

Kind, Status = SmsOutbox.Kind, SmsOutbox.Status

# Rows that count as handed to the gateway (by their ``claimed_at``).
COUNTED = [Status.SENDING.value, Status.SENT.value, Status.DELIVERED.value]
# A row created this long before a window's start is not counted (it waited that long to go out).
LOOKBACK = timedelta(days=7)
DAY, MONTH, MINUTE = timedelta(days=1), timedelta(days=30), timedelta(minutes=1)
# Claims take the other kinds before marketing (``order_by(PRIORITY, "created_at", "pk")``).
PRIORITY = Case(When(kind=Kind.MARKETING, then=Value(1)), default=Value(0), output_field=IntegerField())
_LOCK_SPACE = 70150  # advisory locks: (70150, phone key) per phone, (70151, 0) the marketing rate


@dataclass(frozen=True)
class Verdict:
    """A row held back: ``cancelled`` (``until`` None) or deferred to ``until``."""

    status: str
    detail: str
    until: datetime | None = None


# --- quiet hours ----------------------------------------------------------------------------------


def quiet_hours() -> tuple[time, time] | None:
    """``SMS_QUIET_HOURS`` ("21:00-08:00": from 21:00 inclusive to 08:00 exclusive, local), or None."""
    text = (settings.SMS_QUIET_HOURS or "").strip()
    if not text:
        return None
    start, end = (time.fromisoformat(part.strip()) for part in text.replace("–", "-").split("-"))
    return None if start == end else (start, end)


def _quiet_zone() -> ZoneInfo:
    return ZoneInfo(settings.SMS_QUIET_HOURS_TZ or settings.TIME_ZONE)


def quiet_until(now: datetime) -> datetime | None:
    """The end of the quiet hours ``now`` is in, or None outside them."""
    hours = quiet_hours()
    if hours is None:
        return None
    start, end = hours
    local = now.astimezone(_quiet_zone())
    at = local.time()
    inside = (start <= at < end) if start < end else (at >= start or at < end)
    if not inside:
        return None
    day = local.date() if at < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local.tzinfo)


def _local(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


def quiet_detail(until: datetime) -> str:
    start, end = quiet_hours() or (time(), time())
    return f"deferred: quiet hours {start:%H:%M}–{end:%H:%M} (marketing) until {_local(until)}"


# --- counting -------------------------------------------------------------------------------------


@dataclass
class _Phone:
    flood: int = 0
    flood_oldest: datetime | None = None
    day: int = 0
    month: int = 0


@dataclass
class _Rate:
    sent: int = 0
    oldest: datetime | None = None


def _key(phone: str) -> int:
    return zlib.crc32(phone.encode()) - 2**31  # an int4, the same in every process


# PostgreSQL: the locks and the counts in one round trip — separate statements of one message,
# each with its own snapshot (read committed): the counts see what a claim that held a lock we
# waited for committed.
_LOCK_SQL = "SELECT pg_advisory_xact_lock(s, k) FROM unnest(%s::int[], %s::int[]) AS u(s, k) ORDER BY s, k;"
_BY_PHONE_SQL = f"""
SELECT p.phone, c.flood, c.flood_oldest, c.day, c.month
  FROM unnest(%s::text[]) AS p(phone) CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE counted AND claimed_at > %s) AS flood,
              min(claimed_at) FILTER (WHERE counted AND claimed_at > %s) AS flood_oldest,
              count(*) FILTER (WHERE counted AND kind = '{Kind.MARKETING}' AND claimed_at > %s) AS day,
              count(*) FILTER (WHERE counted AND kind = '{Kind.MARKETING}') AS month
         FROM (SELECT kind, claimed_at, status = ANY(%s) AS counted
                 FROM {SmsOutbox._meta.db_table} o
                WHERE o.phone = p.phone AND o.created_at >= %s AND o.claimed_at > %s) AS recent
       ) AS c;"""  # noqa: S608 - constants; the ORM query of ``_by_phone`` (SQLite). Per phone, so
# that the (phone, created_at) index is the plan whatever the statistics say.
_RATE_SQL = f"""
SELECT count(*), min(e.at)
  FROM {SmsEvent._meta.db_table} e JOIN {SmsOutbox._meta.db_table} o ON o.id = e.message_id
 WHERE e.at > %s AND e.status = '{Status.SENDING}' AND o.kind = '{Kind.MARKETING}';"""  # noqa: S608 - constants


def _windows(now: datetime, *, marketing: bool) -> tuple[datetime, datetime]:
    """The flood window's start, and the earliest claim any count looks at."""
    flood_since = now - timedelta(seconds=settings.SMS_FLOOD_WINDOW_S)
    return flood_since, (min(flood_since, now - MONTH) if marketing else flood_since)


def _count(
    phones: set[str], *, now: datetime, marketing: bool, marketing_rate: bool
) -> tuple[dict[str, _Phone], _Rate]:
    """Hold the advisory locks of these phones (and of the marketing rate) to the end of the
    transaction, in key order (no deadlock between two claims); then per phone the messages
    claimed in the flood window (and the oldest), the marketing ones of the last day and 30 days
    (with ``marketing``); the marketing rate of the last minute (with ``marketing_rate``)."""
    if connection.vendor != "postgresql" or connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        # SQLite has one writer at a time: no locks (server-side binding: one statement a query).
        _lock(phones, marketing_rate=marketing_rate)
        counts = _by_phone(phones, now=now, marketing=marketing) if phones else {}
        return counts, (_marketing_rate(now) if marketing_rate else _Rate())
    keys = _keys(phones, marketing_rate=marketing_rate)
    flood_since, since = _windows(now, marketing=marketing)
    sql = _LOCK_SQL
    params: list[Any] = [[s for s, _k in keys], [k for _s, k in keys]]
    if phones:
        sql += _BY_PHONE_SQL
        params += [sorted(phones), flood_since, flood_since, now - DAY, COUNTED, since - LOOKBACK, since]
    if marketing_rate:
        sql += _RATE_SQL
        params.append(now - MINUTE)
    counts = {phone: _Phone() for phone in phones}
    rate = _Rate()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if phones:
            cursor.nextset()
            for phone, flood, oldest, day, month in cursor.fetchall():
                counts[phone] = _Phone(flood, oldest, day if marketing else 0, month if marketing else 0)
        if marketing_rate:
            cursor.nextset()
            sent, oldest = cursor.fetchone()
            rate = _Rate(sent, oldest)
    return counts, rate


def _keys(phones: Iterable[str], *, marketing_rate: bool) -> list[tuple[int, int]]:
    return sorted(
        {(_LOCK_SPACE, _key(phone)) for phone in phones} | ({(_LOCK_SPACE + 1, 0)} if marketing_rate else set())
    )


def _lock(phones: Iterable[str], *, marketing_rate: bool) -> None:
    if connection.vendor != "postgresql":
        return
    keys = _keys(phones, marketing_rate=marketing_rate)
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL.rstrip(";"), [[s for s, _k in keys], [k for _s, k in keys]])


def _by_phone(phones: set[str], *, now: datetime, marketing: bool) -> dict[str, _Phone]:
    flood_since, since = _windows(now, marketing=marketing)
    window = Q(claimed_at__gt=flood_since)
    figures: dict[str, Count | Min] = {
        "flood": Count("pk", filter=window),
        "flood_oldest": Min("claimed_at", filter=window),
    }
    if marketing:
        figures["day"] = Count("pk", filter=Q(kind=Kind.MARKETING, claimed_at__gt=now - DAY))
        figures["month"] = Count("pk", filter=Q(kind=Kind.MARKETING))
    rows = (
        SmsOutbox.objects.filter(
            phone__in=sorted(phones), status__in=COUNTED, created_at__gte=since - LOOKBACK, claimed_at__gt=since
        )
        .order_by()
        .values("phone")
        .annotate(**figures)
    )
    result = {phone: _Phone() for phone in phones}
    for row in rows:
        result[row["phone"]] = _Phone(row["flood"], row["flood_oldest"], row.get("day", 0), row.get("month", 0))
    return result


def _marketing_rate(now: datetime) -> _Rate:
    """Marketing messages claimed (to the gateway) in the last minute, all phones, and the oldest
    of those claims (the events' ``at`` index)."""
    figures = SmsEvent.objects.filter(
        at__gt=now - MINUTE, status=Status.SENDING, message__kind=Kind.MARKETING
    ).aggregate(sent=Count("pk"), oldest=Min("at"))
    return _Rate(sent=figures["sent"], oldest=figures["oldest"])


def marketing_budget(*, now: datetime, most: int) -> int:
    """How many due marketing rows the sweep may hand to the tasks now: inside quiet hours all
    (``most``: their claim defers them, with an event, to the end); else what the marketing rate
    leaves in the last minute."""
    per_minute = settings.SMS_MARKETING_MAX_PER_MINUTE
    if per_minute <= 0 or quiet_until(now) is not None:
        return most
    return max(0, min(most, per_minute - _marketing_rate(now).sent))


# --- the verdict on a claimed batch ---------------------------------------------------------------


def judge(rows: Sequence[SmsOutbox], *, now: datetime) -> dict[int, Verdict]:
    """The rows of this batch (locked by the caller, in priority order) that must not go to the
    gateway now, by primary key; the others may. Called inside the claim's transaction."""
    flood_max, window = settings.SMS_FLOOD_MAX, timedelta(seconds=settings.SMS_FLOOD_WINDOW_S)
    per_day, per_month = settings.SMS_MARKETING_MAX_PER_DAY, settings.SMS_MARKETING_MAX_PER_30_DAYS
    per_minute = settings.SMS_MARKETING_MAX_PER_MINUTE
    marketing = [row for row in rows if row.kind == Kind.MARKETING]
    quiet_end = quiet_until(now) if marketing else None
    counted_marketing = bool(marketing) and quiet_end is None  # inside quiet hours they only wait
    quota = counted_marketing and (per_day > 0 or per_month > 0)
    rate_limited = counted_marketing and per_minute > 0
    if flood_max > 0:
        phones = {row.phone for row in rows if not (quiet_end and row.kind == Kind.MARKETING)}
    else:
        phones = {row.phone for row in marketing} if quota else set()
    counts: dict[str, _Phone]
    if not phones and not rate_limited:
        counts, rate = {}, _Rate()
    else:
        counts, rate = _count(phones, now=now, marketing=quota, marketing_rate=rate_limited)

    verdicts: dict[int, Verdict] = {}
    for row in rows:
        is_marketing = row.kind == Kind.MARKETING
        if is_marketing and quiet_end is not None:
            verdicts[row.pk] = Verdict(Status.PENDING, quiet_detail(quiet_end), quiet_end)
            continue
        phone = counts.get(row.phone, _Phone())
        if is_marketing and per_day > 0 and phone.day >= per_day:
            verdicts[row.pk] = Verdict(
                Status.CANCELLED, f"cancelled: marketing quota of this phone reached ({per_day} per day)"
            )
            continue
        if is_marketing and per_month > 0 and phone.month >= per_month:
            verdicts[row.pk] = Verdict(
                Status.CANCELLED, f"cancelled: marketing quota of this phone reached ({per_month} per 30 days)"
            )
            continue
        if flood_max > 0 and phone.flood >= flood_max:
            until = max((phone.flood_oldest or now) + window, now + timedelta(seconds=1))
            verdicts[row.pk] = Verdict(
                Status.PENDING,
                f"deferred: flood limit of this phone ({flood_max} per {_span(window)}) until {_local(until)}",
                until,
            )
            continue
        if is_marketing and per_minute > 0 and rate.sent >= per_minute:
            until = max((rate.oldest or now) + MINUTE, now + timedelta(seconds=1))
            verdicts[row.pk] = Verdict(
                Status.PENDING, f"deferred: marketing rate ({per_minute} per minute) until {_local(until)}", until
            )
            continue
        # It goes: it counts against the limits of the rest of the batch.
        phone.flood += 1
        phone.flood_oldest = phone.flood_oldest or now
        if is_marketing:
            phone.day, phone.month = phone.day + 1, phone.month + 1
            rate.sent += 1
            rate.oldest = rate.oldest or now
        counts[row.phone] = phone
    return verdicts


def _span(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
