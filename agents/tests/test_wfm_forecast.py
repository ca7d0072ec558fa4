"""The forecast: weekday × interval profile with a trend, holidays and make-up working days as
their own day types, measured on a held-out fortnight against the naive "same interval last
week" forecast; and the staffing page that shows it."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from agents.scheduling import forecast
from agents.scheduling.history_port import IntervalFigures

TZ = ZoneInfo("Asia/Shanghai")
FIRST = date(2026, 9, 1)
HOLIDAYS = {date(2026, 10, d) for d in range(1, 8)}  # National Day week
MAKEUP = {date(2026, 9, 27), date(2026, 10, 10)}  # weekend working days
HOURLY = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 5, 7, 7.5, 6.5, 5, 5.5, 6.5, 6.8, 6, 5, 4, 3.5, 3, 2.5, 2, 1.5]
WEEKDAY = [1.12, 1.05, 1.0, 1.0, 1.03, 0.92, 0.88]


def is_working_day(day: date) -> bool:
    if day in HOLIDAYS:
        return False
    return day in MAKEUP or day.weekday() < 5


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth: fine for the small means of a half-hour
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def synthetic_history(days: int, *, per_day: float = 600, trend_per_day: float = 0.003, seed: int = 7):
    rng = random.Random(seed)
    weights = [HOURLY[i // 2] / 2 for i in range(48)]
    total_w = sum(weights)
    rows = []
    for k in range(days):
        day = FIRST + timedelta(days=k)
        kind = forecast.day_type(day, is_working_day)
        factor = {"holiday": 0.5, "makeup": 1.05}.get(kind, WEEKDAY[day.weekday()])
        level = per_day * (1 + trend_per_day * k) * factor
        for i in range(48):
            calls = _poisson(rng, level * weights[i] / total_w)
            start = datetime.combine(day, time.min, tzinfo=TZ) + timedelta(minutes=30 * i)
            rows.append(IntervalFigures(start, calls, calls, calls * 200_000, calls, calls * 5000, 0, 0))
    return rows


def test_day_types_follow_the_working_day_calendar():
    assert forecast.day_type(date(2026, 10, 1), is_working_day) == "holiday"  # a Thursday off
    assert forecast.day_type(date(2026, 9, 27), is_working_day) == "makeup"  # a Sunday worked
    assert forecast.day_type(date(2026, 9, 28), is_working_day) == "wd0"
    assert forecast.day_type(date(2026, 10, 3), None) == "wd5"


def test_holdout_beats_naive_last_week_clearly():
    history = synthetic_history(75)
    last = FIRST + timedelta(days=74)
    result = forecast.holdout(history, first=FIRST, last=last, tz=TZ, is_working_day=is_working_day)
    assert result["intervals"] == 14 * 48
    assert result["wape_model"] < 0.85 * result["wape_naive_last_week"]
    assert result["wape_model"] < result["wape_naive_at_cutoff"]


def test_holidays_are_their_own_day_type():
    history = synthetic_history(45)  # Sep 1 – Oct 15, National Day inside
    model = forecast.Forecaster(
        history, first=FIRST, last=FIRST + timedelta(days=44), tz=TZ, is_working_day=is_working_day
    )
    assert model.factor["holiday"] < 0.7 * model.factor["wd3"]  # holidays are quiet, weekdays are not
    # A future holiday on a Thursday is forecast as a holiday, well below a normal Thursday.
    holiday = date(2026, 10, 29)
    HOLIDAYS.add(holiday)
    try:
        quiet = sum(row.calls for row in model.day(holiday))
        normal = sum(row.calls for row in model.day(holiday - timedelta(days=7)))
    finally:
        HOLIDAYS.discard(holiday)
    assert quiet < 0.7 * normal


def test_trend_is_carried_forward_but_damped():
    history = synthetic_history(63, trend_per_day=0.01)
    last = FIRST + timedelta(days=62)
    model = forecast.Forecaster(history, first=FIRST, last=last, tz=TZ, is_working_day=is_working_day)
    assert model.slope > 0
    in_a_week = model.level(last + timedelta(days=7))
    in_ten_weeks = model.level(last + timedelta(days=70))
    assert in_a_week > model.level(last)
    assert in_ten_weeks - model.level(last) < 10 * (in_a_week - model.level(last))


def test_aht_comes_from_the_handle_time():
    history = synthetic_history(28)
    model = forecast.Forecaster(history, first=FIRST, last=FIRST + timedelta(days=27), tz=TZ)
    assert model.mean_aht == pytest.approx(200)
    assert all(190 < aht < 210 for aht in model.aht)


def test_no_history_forecasts_zero_calls():
    model = forecast.Forecaster([], first=FIRST, last=FIRST + timedelta(days=13), tz=TZ)
    assert sum(row.calls for row in model.forecast(FIRST + timedelta(days=14), 7)) == 0


@pytest.mark.django_db
def test_staffing_page_shows_the_calculator_and_the_requirement(staff, client_for):
    client = client_for(staff["team_lead"])
    response = client.get(
        "/agent/wfm/staffing/",
        {
            "calls": 100,
            "aht_s": 180,
            "target_sl": 0.8,
            "target_t": 20,
            "interval_s": 1800,
            "shrinkage": "0.3",
            "max_occupancy": 1,
        },
    )
    assert response.status_code == 200
    assert response.context["result"].raw_agents == 14
    assert response.context["result"].agents == 20
    assert len(response.context["rows"]) == 48
    assert b"wfm-chart" in response.content
    page = response.content.decode()
    title = page[page.index("<title>") : page.index("</title>")]
    assert "<section" not in title and page.count('id="adh-title"') == 1  # the adherence table once, in the page
    assert client_for(staff["agent"]).get("/agent/wfm/staffing/").status_code == 403
