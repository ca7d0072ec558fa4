"""Forecast of calls offered and AHT per half-hour for the coming days, from the call history.

Model (``docs/wfm.md``): every day has a *day type* — its weekday, or ``holiday`` (a public holiday
or any non-working weekday of the working-day calendar) or ``makeup`` (a weekend working day,
调休) — and a day's calls are ``level(day) × factor(type) × shape(type, interval)``:

* ``shape`` — the share of a day's calls in each interval, averaged over every past day of the
  type (recent days weigh more) and lightly smoothed: one day's 6 calls in an interval say little,
  eight such days much more;
* ``factor`` — the type's daily volume over the average day's;
* ``level`` — a weighted linear trend through the de-seasonalised daily totals, damped as it is
  carried forward (a trend seen over two months is not extrapolated for ever).

A type without history borrows: ``holiday`` → Sunday, ``makeup`` → the average working day.
AHT per interval is the interval's handle time over its handled calls, shrunk towards the day's
mean where an interval has few calls. ``holdout`` measures WAPE against the naive forecast.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from .history_port import IntervalFigures

INTERVALS = 48
HALF_LIFE_DAYS = 28.0
TREND_DAMPING = 0.9  # per week ahead
AHT_PRIOR_CALLS = 20.0
WORKDAY_TYPES = ("wd0", "wd1", "wd2", "wd3", "wd4")


@dataclass(frozen=True)
class ForecastInterval:
    start: datetime
    day_type: str
    calls: float
    aht_s: float


def day_type(day: date, is_working_day: Callable[[date], bool] | None) -> str:
    weekday = day.weekday()
    if is_working_day is not None:
        working = is_working_day(day)
        if weekday < 5 and not working:
            return "holiday"
        if weekday >= 5 and working:
            return "makeup"
    return f"wd{weekday}"


def _fallback(kind: str) -> tuple[str, ...]:
    if kind == "holiday":
        return ("wd6",)
    if kind == "makeup":
        return WORKDAY_TYPES
    return (kind,)


@dataclass
class _Day:
    offered: list[float]
    handled: list[float]
    handle_ms: list[float]

    @property
    def total(self) -> float:
        return sum(self.offered)


def _by_day(history: Iterable[IntervalFigures], tz: tzinfo) -> dict[date, _Day]:
    days: dict[date, _Day] = {}
    for row in history:
        local = row.start.astimezone(tz)
        index = local.hour * 2 + local.minute // 30
        day = days.setdefault(local.date(), _Day([0.0] * INTERVALS, [0.0] * INTERVALS, [0.0] * INTERVALS))
        day.offered[index] += row.offered
        day.handled[index] += row.handled
        day.handle_ms[index] += row.handle_ms
    return days


def _smooth(values: list[float]) -> list[float]:
    n = len(values)
    return [0.25 * values[i - 1] + 0.5 * values[i] + 0.25 * values[(i + 1) % n] for i in range(n)]


class Forecaster:
    """Fitted on the history of ``[first, last]`` (local dates; days without calls count as 0)."""

    def __init__(
        self,
        history: Iterable[IntervalFigures],
        *,
        first: date,
        last: date,
        tz: tzinfo,
        is_working_day: Callable[[date], bool] | None = None,
    ) -> None:
        self.tz = tz
        self.is_working_day = is_working_day
        self.last = last
        by_day = _by_day(history, tz)
        empty = _Day([0.0] * INTERVALS, [0.0] * INTERVALS, [0.0] * INTERVALS)
        self.days = [(first + timedelta(days=k)) for k in range((last - first).days + 1)]
        self.data = {day: by_day.get(day, empty) for day in self.days}
        self.types = {day: day_type(day, is_working_day) for day in self.days}
        self._fit()

    def _weight(self, day: date) -> float:
        return 0.5 ** ((self.last - day).days / HALF_LIFE_DAYS)

    def _fit(self) -> None:
        totals = {day: self.data[day].total for day in self.days}
        mean_total = sum(totals.values()) / len(self.days) if self.days else 0.0
        by_type: dict[str, list[date]] = defaultdict(list)
        for day in self.days:
            by_type[self.types[day]].append(day)
        self.by_type = by_type
        # Type factors: the type's weighted mean daily total over the overall mean.
        self.factor: dict[str, float] = {}
        for kind, days in by_type.items():
            w = sum(self._weight(d) for d in days)
            self.factor[kind] = (sum(self._weight(d) * totals[d] for d in days) / w / mean_total) if mean_total else 1.0
        # Level: weighted least squares on the de-seasonalised totals.
        xs, ys, ws = [], [], []
        for day in self.days:
            f = self.factor.get(self.types[day]) or 1.0
            xs.append(float((day - self.last).days))
            ys.append(totals[day] / f if f else 0.0)
            ws.append(self._weight(day))
        sw = sum(ws)
        if sw and len(xs) >= 14:
            mx = sum(w * x for w, x in zip(ws, xs, strict=True)) / sw
            my = sum(w * y for w, y in zip(ws, ys, strict=True)) / sw
            sxx = sum(w * (x - mx) ** 2 for w, x in zip(ws, xs, strict=True))
            sxy = sum(w * (x - mx) * (y - my) for w, x, y in zip(ws, xs, ys, strict=True))
            self.slope = sxy / sxx if sxx else 0.0
            self.intercept = my - self.slope * mx  # the level at the last day
        else:
            self.slope = 0.0
            self.intercept = (sum(w * y for w, y in zip(ws, ys, strict=True)) / sw) if sw else 0.0
        # Shapes per type.
        self.shape: dict[str, list[float]] = {}
        for kind, days in by_type.items():
            acc = [0.0] * INTERVALS
            for d in days:
                w = self._weight(d)
                for i, v in enumerate(self.data[d].offered):
                    acc[i] += w * v
            total = sum(acc)
            if total > 0:
                self.shape[kind] = _smooth([v / total for v in acc])
        # AHT per interval: all days (handle time varies little by weekday), shrunk to the mean.
        handled = [0.0] * INTERVALS
        handle_ms = [0.0] * INTERVALS
        for d in self.days:
            w = self._weight(d)
            for i in range(INTERVALS):
                handled[i] += w * self.data[d].handled[i]
                handle_ms[i] += w * self.data[d].handle_ms[i]
        overall = (sum(handle_ms) / sum(handled) / 1000) if sum(handled) else 180.0
        self.aht = [
            (handle_ms[i] / 1000 + AHT_PRIOR_CALLS * overall) / (handled[i] + AHT_PRIOR_CALLS) for i in range(INTERVALS)
        ]
        self.mean_aht = overall

    def _kind_params(self, kind: str) -> tuple[float, list[float]]:
        if kind in self.shape and self.by_type.get(kind):
            return self.factor[kind], self.shape[kind]
        borrowed = [k for k in _fallback(kind) if k in self.shape]
        if not borrowed:
            borrowed = list(self.shape)
        if not borrowed:
            return 0.0, [1.0 / INTERVALS] * INTERVALS
        factor = sum(self.factor[k] for k in borrowed) / len(borrowed)
        shape = [sum(self.shape[k][i] for k in borrowed) / len(borrowed) for i in range(INTERVALS)]
        return factor, shape

    def level(self, day: date) -> float:
        ahead_days = (day - self.last).days
        # Damped trend: Σ φ^w over the weeks ahead instead of the weeks themselves.
        weeks = ahead_days / 7
        damped = (1 - TREND_DAMPING**weeks) / (1 - TREND_DAMPING) if weeks > 0 else weeks
        return max(self.intercept + self.slope * 7 * damped, 0.0)

    def day(self, day: date) -> list[ForecastInterval]:
        kind = day_type(day, self.is_working_day)
        factor, shape = self._kind_params(kind)
        total = self.level(day) * factor
        midnight = datetime.combine(day, time.min).replace(tzinfo=self.tz)
        return [
            ForecastInterval(midnight + timedelta(minutes=30 * i), kind, total * shape[i], self.aht[i])
            for i in range(INTERVALS)
        ]

    def forecast(self, start: date, days: int) -> list[ForecastInterval]:
        out: list[ForecastInterval] = []
        for k in range(days):
            out.extend(self.day(start + timedelta(days=k)))
        return out


def wape(forecast: Iterable[float], actual: Iterable[float]) -> float | None:
    """Σ|F − A| ÷ Σ A (None when nothing happened)."""
    pairs = list(zip(forecast, actual, strict=True))
    total = sum(a for _, a in pairs)
    if total <= 0:
        return None
    return sum(abs(f - a) for f, a in pairs) / total


def holdout(
    history: list[IntervalFigures],
    *,
    first: date,
    last: date,
    tz: tzinfo,
    is_working_day: Callable[[date], bool] | None = None,
    holdout_days: int = 14,
) -> dict[str, float | int | None]:
    """Fit on ``[first, last − holdout_days]``, forecast the last ``holdout_days`` and compare with
    two naive forecasts: "same interval last week" from the actuals (a rolling one-week-ahead
    forecast, which sees the holdout's first week when forecasting its second) and the same
    from the last week before the cutoff (what one can know on the cutoff day)."""
    cutoff = last - timedelta(days=holdout_days)
    train = [row for row in history if row.start.astimezone(tz).date() <= cutoff]
    model = Forecaster(train, first=first, last=cutoff, tz=tz, is_working_day=is_working_day)
    actual_days = _by_day(history, tz)
    zero = [0.0] * INTERVALS

    def actual(day: date) -> list[float]:
        found = actual_days.get(day)
        return found.offered if found else zero

    model_f: list[float] = []
    naive_rolling: list[float] = []
    naive_cutoff: list[float] = []
    actuals: list[float] = []
    for k in range(1, holdout_days + 1):
        day = cutoff + timedelta(days=k)
        model_f.extend(row.calls for row in model.day(day))
        naive_rolling.extend(actual(day - timedelta(days=7)))
        weeks_back = math.ceil(k / 7)
        naive_cutoff.extend(actual(day - timedelta(days=7 * weeks_back)))
        actuals.extend(actual(day))
    result: dict[str, float | int | None] = {
        "holdout_days": holdout_days,
        "intervals": len(actuals),
        "calls": sum(actuals),
        "wape_model": wape(model_f, actuals),
        "wape_naive_last_week": wape(naive_rolling, actuals),
        "wape_naive_at_cutoff": wape(naive_cutoff, actuals),
    }
    model_w, naive_w = result["wape_model"], result["wape_naive_last_week"]
    if isinstance(model_w, float) and isinstance(naive_w, float) and naive_w:
        result["improvement_vs_naive"] = 1 - model_w / naive_w
    return result
