"""The one definition of every call KPI (DESIGN.md §5), for the reports, the wallboard's "today",
the dashboard and the API.

A KPI is computed in two steps, and both steps are defined only here:

1. **sums** — counts and totals that add up across calls (``CALL_SUMS``): over raw calls with
   ``call_sums()`` (the aggregate expressions, for today's live figures and for the rollups'
   own refresh), or as the columns of ``reports.models.CallInterval`` (the rollup stores exactly
   these sums per 30-minute interval, queue and agent, so any period is a sum of rows);
2. **ratios** from sums (``call_kpis_from``), the same function whatever the sums came from.

A call belongs to the period in which it was first queued, in Asia/Shanghai local dates, and to
its service queue (``Call.service_queue``: the queue it was waiting in when its first wait
ended — docs/cti.md "A queue's calls"); to the agent who took it (``Call.agent``). Test calls
(the IVR simulator's) are never counted. With T = ``CALLS_SERVICE_LEVEL_T_S`` (20 s) and
S = ``CALLS_SHORT_ABANDON_S`` (5 s):

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

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Max, Q, Sum, Value
from django.db.models.functions import Coalesce

# The sums every call KPI is computed from, in the order of the rollup's columns.
CALL_SUMS = (
    "offered",
    "answered",
    "answered_in_t",
    "abandoned",
    "short_abandoned",
    "wait_ms",  # total wait of the answered calls
    "abandoned_wait_ms",  # total wait of the abandoned calls
    "handled",  # answered calls that have ended
    "talk_ms",
    "hold_ms",
    "acw_ms",
    "held",  # answered calls put on hold at least once
    "transferred",  # calls transferred at least once (between queues or agents)
    "callback_offered",  # calls offered a callback while waiting
)
# Not additive, combined with MAX.
CALL_MAXIMA = ("max_wait_ms",)

# Agent states that count as handling a call (occupancy's numerator) and as idle.
HANDLING_STATES = ("ringing", "on_call", "acw")
READY_STATE = "ready"
NOT_READY_STATE = "not_ready"


def ratio(numerator: float, denominator: float, digits: int = 4) -> float | None:
    """``numerator ÷ denominator`` rounded; ``None`` when the denominator is zero (§5)."""
    return round(numerator / denominator, digits) if denominator else None


def call_sums() -> dict[str, Any]:
    """The aggregate expressions of ``CALL_SUMS`` (and ``CALL_MAXIMA``) over ``calls.Call`` rows,
    for ``aggregate`` (a whole set) or ``annotate`` (per group). Annotations must not be named
    like a field of the call (``abandoned`` is one): they carry an ``n_`` prefix, which
    ``unprefixed`` removes."""
    t_ms = settings.CALLS_SERVICE_LEVEL_T_S * 1000
    s_ms = settings.CALLS_SHORT_ABANDON_S * 1000
    answered = Q(answered_at__isnull=False)
    handled = answered & Q(ended_at__isnull=False)
    abandoned = Q(abandoned=True)
    zero = Value(0)
    return {
        "n_offered": Count("pk"),
        "n_answered": Count("pk", filter=answered),
        "n_answered_in_t": Count("pk", filter=answered & Q(wait_ms__lte=t_ms)),
        "n_abandoned": Count("pk", filter=abandoned),
        "n_short_abandoned": Count("pk", filter=abandoned & Q(wait_ms__lt=s_ms)),
        "n_wait_ms": Coalesce(Sum("wait_ms", filter=answered), zero),
        "n_abandoned_wait_ms": Coalesce(Sum("wait_ms", filter=abandoned), zero),
        "n_handled": Count("pk", filter=handled),
        "n_talk_ms": Coalesce(Sum(Coalesce(F("talk_ms"), zero), filter=handled), zero),
        "n_hold_ms": Coalesce(Sum("hold_ms", filter=handled), zero),
        "n_acw_ms": Coalesce(Sum(Coalesce(F("acw_ms"), zero), filter=handled), zero),
        "n_held": Count("pk", filter=answered & Q(hold_ms__gt=0)),
        "n_transferred": Count("pk", filter=Q(transfers__gt=0)),
        "n_callback_offered": Count("pk", filter=Q(callback_offered_at__isnull=False)),
        "n_max_wait_ms": Coalesce(Max("wait_ms"), zero),
    }


def unprefixed(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of ``call_sums()`` annotations with the ``n_`` prefix removed."""
    return {key.removeprefix("n_"): value for key, value in row.items()}


def empty_sums() -> dict[str, int]:
    return dict.fromkeys(CALL_SUMS + CALL_MAXIMA, 0)


def add_sums(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The sums of several rows (intervals, queues) as one."""
    total = empty_sums()
    for row in rows:
        for key in CALL_SUMS:
            total[key] += int(row[key] or 0)
        for key in CALL_MAXIMA:
            total[key] = max(total[key], int(row[key] or 0))
    return total


def call_kpis_from(sums: Mapping[str, Any]) -> dict[str, Any]:
    """The §6 figures ``{"offered", "answered", "abandoned", "short_abandoned", "service_level",
    "asa_s", "aht_s", "abandon_rate"}`` from sums, followed by the detail the report tables show
    (average talk, hold and after-call work, calls held and transferred, callbacks offered, the
    longest wait)."""
    row = {key: int(sums.get(key) or 0) for key in CALL_SUMS + CALL_MAXIMA}
    base = row["offered"] - row["short_abandoned"]
    handle_ms = row["talk_ms"] + row["hold_ms"] + row["acw_ms"]
    return {
        "offered": row["offered"],
        "answered": row["answered"],
        "abandoned": row["abandoned"],
        "short_abandoned": row["short_abandoned"],
        "service_level": ratio(row["answered_in_t"], base),
        "asa_s": ratio(row["wait_ms"] / 1000, row["answered"], 1),
        "aht_s": ratio(handle_ms / 1000, row["handled"], 1),
        "abandon_rate": ratio(row["abandoned"] - row["short_abandoned"], base),
        "answered_in_t": row["answered_in_t"],
        "handled": row["handled"],
        "handle_s": round(handle_ms / 1000, 1),
        "avg_talk_s": ratio(row["talk_ms"] / 1000, row["handled"], 1),
        "avg_hold_s": ratio(row["hold_ms"] / 1000, row["handled"], 1),
        "avg_acw_s": ratio(row["acw_ms"] / 1000, row["handled"], 1),
        "avg_abandon_wait_s": ratio(row["abandoned_wait_ms"] / 1000, row["abandoned"], 1),
        "max_wait_s": round(row["max_wait_ms"] / 1000, 1),
        "held": row["held"],
        "transferred": row["transferred"],
        "callback_offered": row["callback_offered"],
    }


# The keys of the §6 contract, in its order (``GET /api/reports/kpi/``).
CONTRACT_KEYS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "service_level",
    "asa_s",
    "aht_s",
    "abandon_rate",
)


def contract_kpis(sums: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly the §6 figures."""
    figures = call_kpis_from(sums)
    return {key: figures[key] for key in CONTRACT_KEYS}


def occupancy_from(handle_ms: int, ready_ms: int) -> float | None:
    """Occupancy = handle time ÷ (handle time + ready-idle time)."""
    return ratio(handle_ms, handle_ms + ready_ms)
