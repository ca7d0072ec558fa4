"""Call KPIs exactly as DESIGN.md §5 defines them.

A call belongs to the period in which it was first queued, in Asia/Shanghai local dates, and to
its service queue (``service_queue``: the queue it was waiting in when its first wait ended —
a move before the answer counts, an overflow does not; docs/cti.md "A queue's calls"). With
T = ``CALLS_SERVICE_LEVEL_T_S`` (20 s) and S = ``CALLS_SHORT_ABANDON_S`` (5 s):

- offered: calls that entered a queue in the period;
- answered: offered calls connected to an agent; abandoned: offered calls that ended before
  being answered; short abandons: abandoned with wait < S;
- service level = answered with wait ≤ T ÷ (offered − short abandons);
- ASA = total wait of answered calls ÷ answered;
- AHT = (talk + hold + after-call work) ÷ answered — over answered calls that have ended (a call
  still in progress has no handle time yet; for a closed period the two counts are equal);
- abandon rate = (abandoned − short abandons) ÷ (offered − short abandons);
- occupancy (agent) = handle time ÷ (handle time + ready-idle time), from the state log.

wait = answered − queued (abandoned: ended − queued); talk = ended − answered − hold;
after-call work = wrapup − ended. A ratio with a zero denominator is ``None``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Call


def ratio(numerator: float, denominator: float, digits: int = 4) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def local_day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.combine(date_from, time.min), tz)
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), tz)
    return start, end


def _aggregate_expressions() -> dict[str, Any]:
    """The one definition of the counts and sums the KPIs are computed from (``_kpis``), for a
    whole set of calls (``aggregate``) or per queue (``annotate``)."""
    t_ms = settings.CALLS_SERVICE_LEVEL_T_S * 1000
    s_ms = settings.CALLS_SHORT_ABANDON_S * 1000
    answered = Q(answered_at__isnull=False)
    handled = answered & Q(ended_at__isnull=False)
    return {
        "n_offered": Count("pk"),
        "n_answered": Count("pk", filter=answered),
        "n_answered_in_t": Count("pk", filter=answered & Q(wait_ms__lte=t_ms)),
        "n_abandoned": Count("pk", filter=Q(abandoned=True)),
        "n_short_abandoned": Count("pk", filter=Q(abandoned=True, wait_ms__lt=s_ms)),
        "total_wait_ms": Coalesce(Sum("wait_ms", filter=answered), Value(0)),
        "n_handled": Count("pk", filter=handled),
        "total_handle_ms": Coalesce(
            Sum(F("talk_ms") + F("hold_ms") + Coalesce(F("acw_ms"), Value(0)), filter=handled), Value(0)
        ),
    }


def _kpis(counts: dict[str, Any]) -> dict[str, Any]:
    # Annotations carry an ``n_`` prefix: ``abandoned`` is also a field, and a filter on the name
    # would then refer to the aggregate.
    row = {key.removeprefix("n_"): value for key, value in counts.items()}
    base = row["offered"] - row["short_abandoned"]
    return {
        "offered": row["offered"],
        "answered": row["answered"],
        "abandoned": row["abandoned"],
        "short_abandoned": row["short_abandoned"],
        "service_level": ratio(row["answered_in_t"], base),
        "asa_s": ratio(row["total_wait_ms"] / 1000, row["answered"], 1),
        "aht_s": ratio(row["total_handle_ms"] / 1000, row["handled"], 1),
        "abandon_rate": ratio(row["abandoned"] - row["short_abandoned"], base),
    }


def counted_calls() -> QuerySet[Call]:
    """The calls every KPI counts: all but the IVR simulator's test calls (DESIGN.md §5)."""
    return Call.objects.filter(is_test=False)


def _queued_in(date_from: date, date_to: date) -> QuerySet[Call]:
    """The counted calls first queued in ``[date_from, date_to]`` (inclusive local dates)."""
    start, end = local_day_bounds(date_from, date_to)
    return counted_calls().filter(queued_at__gte=start, queued_at__lt=end)


def call_kpis(*, date_from: date, date_to: date, queue: str | None = None) -> dict[str, Any]:
    """``{"offered", "answered", "abandoned", "short_abandoned", "service_level", "asa_s",
    "aht_s", "abandon_rate"}`` for calls queued in ``[date_from, date_to]`` (inclusive local dates),
    of one queue (its code) or all."""
    calls = _queued_in(date_from, date_to)
    if queue:
        calls = calls.filter(service_queue__code=queue)
    return _kpis(calls.aggregate(**_aggregate_expressions()))


def kpis_by_queue(*, date_from: date, date_to: date) -> dict[int, dict[str, Any]]:
    """The same figures per service queue id (one query), for the wallboard's "today"."""
    rows = (
        _queued_in(date_from, date_to)
        .filter(service_queue__isnull=False)
        .values("service_queue_id")
        .order_by()
        .annotate(**_aggregate_expressions())
    )
    return {row["service_queue_id"]: _kpis(row) for row in rows}


HANDLING_STATES = ("ringing", "on_call", "acw")


def agent_occupancy(*, agent_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Handle time (ringing, on a call, after-call work), ready-idle time and occupancy of an
    agent in ``[start, end)``, from the append-only state log."""
    from agents.models import AgentStateLog

    before = (
        AgentStateLog.objects.filter(agent_id=agent_id, started_at__lt=start)
        .order_by("-started_at", "-pk")
        .values_list("state", flat=True)
        .first()
    )
    rows = list(
        AgentStateLog.objects.filter(agent_id=agent_id, started_at__gte=start, started_at__lt=end)
        .order_by("started_at", "pk")
        .values_list("started_at", "state")
    )
    spans: list[tuple[datetime, str]] = ([(start, before)] if before else []) + rows
    totals = {"handle_s": 0.0, "ready_s": 0.0}
    for index, (begin, state) in enumerate(spans):
        finish = spans[index + 1][0] if index + 1 < len(spans) else min(end, timezone.now())
        seconds = max((finish - begin).total_seconds(), 0.0)
        if state in HANDLING_STATES:
            totals["handle_s"] += seconds
        elif state == "ready":
            totals["ready_s"] += seconds
    return {
        "handle_s": round(totals["handle_s"], 1),
        "ready_s": round(totals["ready_s"], 1),
        "occupancy": ratio(totals["handle_s"], totals["handle_s"] + totals["ready_s"]),
    }
