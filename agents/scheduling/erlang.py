"""Erlang C (M/M/N) and Erlang A (M/M/N+M, callers with exponential patience).

Numerically stable from 0 to many thousands of agents: everything is built on the Erlang B
recursion ``B(n) = A·B(n−1) / (n + A·B(n−1))``, whose terms stay in [0, 1] (no factorials, no
powers of the load). Agents after shrinkage are rounded up in exact rational arithmetic
(``Fraction``): 21 raw agents at 30 % shrinkage is 30, not 31.

Erlang A (Mandelbaum & Zeltyn): with ``a = N·μ/θ`` and ``x = λ/θ`` a caller who finds all N
agents busy and ``j`` callers ahead is answered after a wait ``V`` whose stages have rates
``θ(a+j) … θa`` — the (j+1)-th order statistic of ``a+j`` exponential(θ) variables — so
``P(V ≤ t, answered) = a/(a+j+1) · I_p(j+1, a+1)`` with ``p = 1 − e^{−θt}`` (regularised
incomplete beta), computed here by its recurrence in ``j``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

MAX_AGENTS = 20_000
_TAIL_EPS = 1e-15


class ErlangInputError(ValueError):
    """A parameter out of range; ``field`` names it (the API answers 400 with it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Staffing(NamedTuple):
    raw_agents: int
    agents: int
    service_level: float
    asa_s: float
    occupancy: float
    waiting_probability: float
    abandon_probability: float = 0.0
    load_erlangs: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "raw_agents": self.raw_agents,
            "agents": self.agents,
            "service_level": round(self.service_level, 6),
            "asa_s": round(self.asa_s, 4),
            "occupancy": round(self.occupancy, 6),
            "waiting_probability": round(self.waiting_probability, 6),
        }


@lru_cache(maxsize=256)
def _exact_text(text: str) -> Fraction:
    return Fraction(Decimal(text))


def _exact(value: float | int | str | Decimal | Fraction) -> Fraction:
    """The value as written, not its binary float (``0.3`` → 3/10)."""
    if isinstance(value, Fraction):
        return value
    return _exact_text(repr(value) if isinstance(value, float) else str(value))


@lru_cache(maxsize=256)
def _keep_text(text: str) -> tuple[int, int]:
    shrinkage = Fraction(Decimal(text))
    if not 0 <= shrinkage < 1:
        raise ErlangInputError("shrinkage", "shrinkage must be in [0, 1)")
    keep = 1 - shrinkage
    return keep.numerator, keep.denominator


@lru_cache(maxsize=256, typed=True)
def _keep(shrinkage: float | str | Decimal | Fraction) -> tuple[int, int]:
    """1 − shrinkage as (p, q), validated; cached per value written."""
    if isinstance(shrinkage, Fraction):
        return _keep_text(str(Decimal(shrinkage.numerator) / Decimal(shrinkage.denominator)))
    return _keep_text(repr(shrinkage) if isinstance(shrinkage, float) else str(shrinkage))


def agents_after_shrinkage(raw_agents: int, shrinkage: float | str | Decimal | Fraction) -> int:
    """``⌈raw ÷ (1 − shrinkage)⌉`` exactly: with 1 − shrinkage = p/q, ⌈raw·q/p⌉ in integers."""
    p, q = _keep(shrinkage)
    return -(-raw_agents * q // p)


def _ceil_ratio(x: float, y: float) -> int:
    """⌈x / y⌉ of two values as written (exact near a whole number, where floats mislead)."""
    ratio = x / y
    if abs(ratio - round(ratio)) > 1e-9 * max(1.0, abs(ratio)):
        return math.ceil(ratio)
    return math.ceil(_exact(x) / _exact(y))


def erlang_b(n: int, load: float) -> float:
    """Blocking probability of ``n`` servers at ``load`` Erlangs."""
    b = 1.0
    for k in range(1, n + 1):
        b = load * b / (k + load * b)
    return b


def erlang_b_table(n_max: int, load: float) -> list[float]:
    """``[B(0), B(1), …, B(n_max)]``."""
    table = [1.0]
    b = 1.0
    for k in range(1, n_max + 1):
        b = load * b / (k + load * b)
        table.append(b)
    return table


def _c_from_b(n: int, load: float, b: float) -> float:
    rho = load / n
    return b / (1 - rho * (1 - b))


def erlang_c(n: int, load: float) -> float:
    """Probability of waiting (Erlang C) with ``n`` agents, 1.0 when ``n ≤ load``."""
    if load <= 0:
        return 0.0
    if n <= load:
        return 1.0
    return _c_from_b(n, load, erlang_b(n, load))


def _c_metrics(n: int, load: float, aht_s: float, target_t: float, b: float) -> tuple[float, float, float, float]:
    """(service level, ASA, occupancy, P(wait)) of Erlang C with ``n`` agents."""
    if load <= 0:
        return 1.0, 0.0, 0.0, 0.0
    if n <= load:
        return 0.0, math.inf, 1.0, 1.0
    c = _c_from_b(n, load, b)
    sl = 1.0 - c * math.exp(-(n - load) * target_t / aht_s)
    asa = c * aht_s / (n - load)
    return sl, asa, load / n, c


def _validate(
    calls: float,
    interval_s: float,
    aht_s: float,
    target_sl: float,
    target_t: float,
    shrinkage: float | Decimal | Fraction | str,
    max_occupancy: float,
) -> tuple[int, int]:
    """Raises on a parameter out of range; 1 − shrinkage as (p, q)."""
    if not (calls >= 0 and math.isfinite(calls)):
        raise ErlangInputError("calls", "calls must be ≥ 0")
    if not (interval_s > 0 and math.isfinite(interval_s)):
        raise ErlangInputError("interval_s", "interval_s must be > 0")
    if not (aht_s > 0 and math.isfinite(aht_s)):
        raise ErlangInputError("aht_s", "aht_s must be > 0")
    if not 0 < target_sl < 1:
        raise ErlangInputError("target_sl", "target_sl must be in (0, 1)")
    if not (target_t >= 0 and math.isfinite(target_t)):
        raise ErlangInputError("target_t", "target_t must be ≥ 0")
    if not 0 < max_occupancy <= 1:
        raise ErlangInputError("max_occupancy", "max_occupancy must be in (0, 1]")
    return _keep(shrinkage)


def erlang_c_staffing(
    *,
    calls: float,
    interval_s: float = 1800,
    aht_s: float,
    target_sl: float = 0.8,
    target_t: float = 20,
    shrinkage: float | Decimal | Fraction | str = 0,
    max_occupancy: float = 1.0,
) -> Staffing:
    """The fewest agents meeting the service level target and the occupancy cap, Erlang C."""
    p, q = _validate(calls, interval_s, aht_s, target_sl, target_t, shrinkage, max_occupancy)
    load = calls * aht_s / interval_s
    if load == 0:
        return Staffing(0, 0, 1.0, 0.0, 0.0, 0.0)
    # Occupancy cap: n ≥ load / max_occupancy (exactly, a cap of 0.85 at 17 Erlangs is 20).
    n_min = max(1, _ceil_ratio(load, max_occupancy))
    if load >= n_min:
        n_min = math.floor(load) + 1
    b = 1.0
    for k in range(1, n_min):
        b = load * b / (k + load * b)
    n = n_min - 1
    decay = target_t / aht_s
    while True:  # the hot loop, inlined: B(n), then C(n) and the service level from it
        n += 1
        b = load * b / (n + load * b)
        c = b / (1 - load / n * (1 - b))
        sl = 1.0 - c * math.exp(-(n - load) * decay)
        if sl >= target_sl:
            break
        if n > MAX_AGENTS:
            raise ErlangInputError("calls", f"more than {MAX_AGENTS} agents needed")
    return Staffing(n, -(-n * q // p), sl, c * aht_s / (n - load), load / n, c, 0.0, load)


def erlang_c_metrics(*, agents: int, calls: float, interval_s: float, aht_s: float, target_t: float) -> Staffing:
    """The figures of a given number of agents (no search), Erlang C."""
    load = calls * aht_s / interval_s
    sl, asa, occ, pw = _c_metrics(agents, load, aht_s, target_t, erlang_b(agents, load) if load > 0 else 0.0)
    return Staffing(agents, agents, sl, asa, occ, pw, 0.0, load)


# --- Erlang A ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErlangAFigures:
    service_level: float  # answered within target_t ÷ offered
    asa_s: float  # mean wait of the answered calls
    waiting_probability: float
    abandon_probability: float
    mean_wait_s: float  # mean time in queue of every call (answered or abandoned)
    occupancy: float


def erlang_a_figures(
    *,
    agents: int,
    calls: float,
    interval_s: float,
    aht_s: float,
    patience_s: float,
    target_t: float,
    b: float | None = None,
) -> ErlangAFigures:
    """Stationary figures of M/M/N+M with mean patience ``patience_s``."""
    lam = calls / interval_s
    mu = 1.0 / aht_s
    load = lam / mu
    if lam <= 0:
        return ErlangAFigures(1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    theta = 1.0 / patience_s
    n = agents
    if n == 0:
        # No one answers: every caller waits and abandons after their patience.
        return ErlangAFigures(0.0, 0.0, 1.0, 1.0, patience_s, 0.0)
    if b is None:
        b = erlang_b(n, load)
    a = n * mu / theta
    x = lam / theta
    p = -math.expm1(-theta * target_t)
    q_p = 1.0 - p
    # Queue states j = 0, 1, …: r_j = Π_{k≤j} x/(a+k) (relative to the state "N busy, empty queue").
    r = 1.0
    s_r = 0.0  # Σ r_j
    s_sl = 0.0  # Σ r_j · a/(a+j+1) · I_p(j+1, a+1)
    s_ab = 0.0  # Σ r_j · (j+1)/(a+j+1)
    s_wait_answered = 0.0  # Σ r_j · a/(a+j+1) · (1/θ) Σ_{i=1}^{j+1} 1/(a+i)
    s_q = 0.0  # Σ r_j · j (queue length)
    bb = a + 1  # beta's second parameter
    # I_p(1, bb) = 1 − (1−p)^bb; I_p(k+1, bb) = I_p(k, bb) − p^k (1−p)^bb Γ(k+bb)/(Γ(k+1)Γ(bb)).
    inc = -math.expm1(bb * math.log1p(-p)) if p < 1 else 1.0
    term = (p * math.exp(bb * math.log1p(-p)) * bb) if 0 < p < 1 else 0.0
    harmonic = 0.0
    j = 0
    while True:
        harmonic += 1.0 / (a + j + 1)
        answered = a / (a + j + 1)
        s_r += r
        s_sl += r * answered * max(inc, 0.0)
        s_ab += r * (j + 1) / (a + j + 1)
        s_wait_answered += r * answered * harmonic / theta
        s_q += r * j
        # next state
        inc -= term
        term *= p * (j + 1 + bb) / (j + 2)
        j += 1
        r *= x / (a + j)
        if r < _TAIL_EPS * s_r and a + j > x:  # past the peak of the queue's distribution
            break
        if j > 10_000_000:  # pragma: no cover - x is λ/θ, bounded by the inputs' ranges
            break
    del q_p
    norm = (1 - b) + b * s_r  # Σ over states n < N (relative to the first N+1 in Erlang B) + queue
    busy_all = b * s_r / norm  # P(arrival finds all agents busy)
    sl = (1 - b) / norm + b * s_sl / norm
    abandon = b * s_ab / norm
    answered_share = 1 - abandon
    asa = (b * s_wait_answered / norm) / answered_share if answered_share > 0 else math.inf
    mean_wait = (b * s_q / norm) / lam + 0.0
    # Mean wait of all arrivals by Little: E[Q]/λ — with PASTA the E[Q] seen is the time average.
    occupancy = load * answered_share / n
    return ErlangAFigures(sl, asa, busy_all, abandon, mean_wait, min(occupancy, 1.0))


def erlang_a_staffing(
    *,
    calls: float,
    interval_s: float = 1800,
    aht_s: float,
    patience_s: float,
    target_sl: float = 0.8,
    target_t: float = 20,
    shrinkage: float | Decimal | Fraction | str = 0,
    max_occupancy: float = 1.0,
) -> Staffing:
    """The fewest agents meeting the target with impatient callers (Erlang A): fewer than Erlang C
    because callers who give up do not wait on; the service level counts them as not served."""
    _validate(calls, interval_s, aht_s, target_sl, target_t, shrinkage, max_occupancy)
    if not (patience_s > 0 and math.isfinite(patience_s)):
        raise ErlangInputError("patience_s", "patience_s must be > 0")
    load = calls * aht_s / interval_s
    if load == 0:
        return Staffing(0, 0, 1.0, 0.0, 0.0, 0.0)
    # Erlang C's answer bounds the search from above (patience only helps).
    upper = erlang_c_staffing(
        calls=calls, interval_s=interval_s, aht_s=aht_s, target_sl=target_sl, target_t=target_t, max_occupancy=1.0
    ).raw_agents
    table = erlang_b_table(upper, load)

    def figures(n: int) -> ErlangAFigures:
        return erlang_a_figures(
            agents=n,
            calls=calls,
            interval_s=interval_s,
            aht_s=aht_s,
            patience_s=patience_s,
            target_t=target_t,
            b=table[n],
        )

    # The service level rises with n: the smallest n meeting the target. Answered calls are at
    # most n·μ/λ of the offered, so fewer than target·load agents cannot meet it.
    lo, hi = max(1, min(upper, math.ceil(target_sl * load))), upper
    while lo < hi:
        mid = (lo + hi) // 2
        if figures(mid).service_level >= target_sl:
            hi = mid
        else:
            lo = mid + 1
    n = lo
    f = figures(n)
    while f.occupancy > max_occupancy:
        n += 1
        f = erlang_a_figures(
            agents=n, calls=calls, interval_s=interval_s, aht_s=aht_s, patience_s=patience_s, target_t=target_t
        )
    return Staffing(
        n,
        agents_after_shrinkage(n, shrinkage),
        f.service_level,
        f.asa_s,
        f.occupancy,
        f.waiting_probability,
        f.abandon_probability,
        load,
    )


def patience_estimate(*, abandoned: int, abandoned_wait_s: float, answered_wait_s: float) -> float | None:
    """Mean patience (s) from a period's queue figures, or None without abandons.

    With exponential patience the maximum-likelihood estimate is the total time callers spent
    waiting — abandoned and answered, the answered ones being censored observations — over the
    number of abandons. The mean time to abandon alone (``abandoned_wait_s / abandoned``)
    underestimates it: it only sees the impatient."""
    if abandoned <= 0:
        return None
    return (abandoned_wait_s + answered_wait_s) / abandoned
