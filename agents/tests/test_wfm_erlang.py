"""Erlang C and Erlang A against textbook figures and an independent, naive implementation
(direct formulas in exact or 60-digit arithmetic), and the ``/api/wfm/erlang-c/`` contract."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.scheduling import erlang

mpmath.mp.dps = 40
STATES = 90  # the chain far enough out: the tail beyond is below 1e-20 for the cases here


# --- an independent implementation: the textbook formulas, term by term -----------------------------


def naive_erlang_c(n: int, load: Fraction) -> Fraction:
    """P(wait) = (Aⁿ/n! · n/(n−A)) / (Σ_{k<n} Aᵏ/k! + Aⁿ/n! · n/(n−A)), exactly."""
    top = load**n / math.factorial(n) * Fraction(n) / (n - load)
    return top / (sum(load**k / math.factorial(k) for k in range(n)) + top)


def naive_c_figures(n: int, calls: int, interval_s: int, aht_s: int, target_t: int) -> tuple[float, float]:
    load = Fraction(calls * aht_s, interval_s)
    c = naive_erlang_c(n, load)
    sl = 1 - mpmath.mpf(c.numerator) / c.denominator * mpmath.exp(
        -(n - mpmath.mpf(load.numerator) / load.denominator) * target_t / aht_s
    )
    asa = c * aht_s / (n - load)
    return float(sl), float(asa)


def naive_erlang_a(n: int, calls: float, interval_s: float, aht_s: float, patience_s: float, target_t: float):
    """M/M/n+M from the birth-death chain written out (truncated far out), each waiting caller's
    fate from the hypo-exponential density of the offered wait (distinct rates θ(a+i))."""
    lam = mpmath.mpf(calls) / interval_s
    mu = 1 / mpmath.mpf(aht_s)
    theta = 1 / mpmath.mpf(patience_s)
    states = [mpmath.mpf(1)]
    for k in range(1, STATES):
        rate_out = min(k, n) * mu + max(k - n, 0) * theta
        states.append(states[-1] * lam / rate_out)
    total = sum(states)
    probs = [s / total for s in states]
    sl = sum(probs[:n])
    abandon = mpmath.mpf(0)
    for j in range(0, STATES - n):
        p = probs[n + j]
        rates = [n * mu + i * theta for i in range(j + 1)]
        # P(V ≤ t, patience > V) = Σ_i c_i r_i (1 − e^{−(r_i+θ)t}) / (r_i+θ),
        # c_i = Π_{k≠i} r_k/(r_k − r_i): the density of a sum of exponentials with distinct rates.
        within = mpmath.mpf(0)
        answered = mpmath.mpf(1)
        for i, r in enumerate(rates):
            c = mpmath.mpf(1)
            for k, rk in enumerate(rates):
                if k != i:
                    c *= rk / (rk - r)
            within += c * r * (1 - mpmath.exp(-(r + theta) * target_t)) / (r + theta)
            answered *= r / (r + theta)
        sl += p * within
        abandon += p * (1 - answered)
    return float(sl), float(abandon)


# --- textbook cases ----------------------------------------------------------------------------------


def test_textbook_100_calls_half_hour_aht_180_needs_14_agents():
    result = erlang.erlang_c_staffing(calls=100, interval_s=1800, aht_s=180, target_sl=0.8, target_t=20)
    assert result.raw_agents == 14
    assert result.service_level == pytest.approx(0.8884, abs=5e-5)
    assert result.asa_s == pytest.approx(7.84, abs=0.005)
    assert result.occupancy == pytest.approx(10 / 14)
    # 13 agents miss the target: 14 is the smallest
    assert erlang.erlang_c_metrics(agents=13, calls=100, interval_s=1800, aht_s=180, target_t=20).service_level < 0.8


def test_shrinkage_rounds_up_exactly():
    assert 21 / (1 - 0.3) > 30  # the float trap: 30.000000000000004
    assert erlang.agents_after_shrinkage(21, 0.3) == 30
    assert erlang.agents_after_shrinkage(21, "0.3") == 30
    assert erlang.agents_after_shrinkage(22, "0.3") == 32  # 31.43 → 32
    assert erlang.agents_after_shrinkage(14, 0) == 14


@given(raw=st.integers(0, 5000), shrink_bp=st.integers(0, 9900))
def test_shrinkage_is_the_smallest_whole_number_covering_raw(raw, shrink_bp):
    shrink = Fraction(shrink_bp, 10_000)
    agents = erlang.agents_after_shrinkage(raw, str(float(shrink)) if shrink_bp % 100 == 0 else f"{shrink_bp / 10000}")
    keep = 1 - Fraction(str(shrink_bp / 10000))
    assert agents * keep >= raw
    assert agents == 0 or (agents - 1) * keep < raw


def test_zero_calls_need_zero_agents():
    result = erlang.erlang_c_staffing(calls=0, interval_s=1800, aht_s=180, shrinkage="0.3")
    assert (result.raw_agents, result.agents, result.service_level, result.asa_s) == (0, 0, 1.0, 0.0)
    assert erlang.erlang_a_staffing(calls=0, aht_s=180, patience_s=60).agents == 0


def test_max_occupancy_caps_the_load_per_agent():
    # 170 calls × 180 s / 1800 s = 17 Erlangs; 85 % occupancy needs 20 agents, more than the SL does
    free = erlang.erlang_c_staffing(calls=170, aht_s=180, target_sl=0.5, target_t=20)
    capped = erlang.erlang_c_staffing(calls=170, aht_s=180, target_sl=0.5, target_t=20, max_occupancy=0.85)
    assert free.raw_agents < 20
    assert capped.raw_agents == 20
    assert capped.occupancy <= 0.85


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("calls", {"calls": -1}),
        ("aht_s", {"aht_s": 0}),
        ("target_sl", {"target_sl": 1.0}),
        ("shrinkage", {"shrinkage": "1"}),
        ("max_occupancy", {"max_occupancy": 0}),
        ("interval_s", {"interval_s": 0}),
    ],
)
def test_bad_parameters_name_the_field(field, kwargs):
    params = {"calls": 100, "interval_s": 1800, "aht_s": 180, **kwargs}
    with pytest.raises(erlang.ErlangInputError) as caught:
        erlang.erlang_c_staffing(**params)
    assert caught.value.field == field


# --- against the independent implementation ----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(calls=st.integers(1, 150), aht_s=st.integers(30, 400), extra=st.integers(1, 12), target_t=st.integers(0, 60))
def test_erlang_c_matches_the_direct_formula(calls, aht_s, extra, target_t):
    load = Fraction(calls * aht_s, 1800)
    n = math.floor(load) + extra
    mine = erlang.erlang_c_metrics(agents=n, calls=calls, interval_s=1800, aht_s=aht_s, target_t=target_t)
    sl, asa = naive_c_figures(n, calls, 1800, aht_s, target_t)
    assert mine.waiting_probability == pytest.approx(float(naive_erlang_c(n, load)), rel=1e-9)
    assert mine.service_level == pytest.approx(sl, rel=1e-9, abs=1e-12)
    assert mine.asa_s == pytest.approx(asa, rel=1e-9)


def test_erlang_c_search_is_the_smallest_n_by_the_direct_formula():
    for calls in (1, 7, 33, 100, 250):
        result = erlang.erlang_c_staffing(calls=calls, aht_s=240, target_sl=0.8, target_t=20)
        n = result.raw_agents
        assert naive_c_figures(n, calls, 1800, 240, 20)[0] >= 0.8
        below = n - 1
        if below > calls * 240 / 1800:
            assert naive_c_figures(below, calls, 1800, 240, 20)[0] < 0.8


def test_erlang_c_is_stable_up_to_5000_agents():
    # 4,950 Erlangs: factorials of 5,000 overflow floats; the recursion does not.
    mine = erlang.erlang_c_metrics(agents=5000, calls=49_500, interval_s=1800, aht_s=180, target_t=20)
    load = mpmath.mpf(4950)
    n = 5000
    log_top = n * mpmath.log(load) - mpmath.loggamma(n + 1) + mpmath.log(mpmath.mpf(n) / (n - load))
    below = mpmath.fsum(mpmath.exp(k * mpmath.log(load) - mpmath.loggamma(k + 1) - log_top) for k in range(n))
    expected = 1 / (below + 1)
    assert math.isfinite(mine.service_level) and math.isfinite(mine.asa_s)
    assert mine.waiting_probability == pytest.approx(float(expected), rel=1e-8)
    big = erlang.erlang_c_staffing(calls=49_900, interval_s=1800, aht_s=180)
    assert 4990 < big.raw_agents <= 5100
    assert erlang.erlang_c_metrics(agents=0, calls=0, interval_s=1800, aht_s=180, target_t=20).service_level == 1.0


@pytest.mark.parametrize(
    ("n", "calls", "aht_s", "patience_s", "target_t"),
    [(3, 40, 180, 60, 20), (5, 60, 150, 120, 20), (2, 30, 200, 30, 10), (8, 100, 180, 300, 30), (4, 80, 180, 45, 0)],
)
def test_erlang_a_matches_the_birth_death_chain(n, calls, aht_s, patience_s, target_t):
    mine = erlang.erlang_a_figures(
        agents=n, calls=calls, interval_s=1800, aht_s=aht_s, patience_s=patience_s, target_t=target_t
    )
    sl, abandon = naive_erlang_a(n, calls, 1800, aht_s, patience_s, target_t)
    assert mine.service_level == pytest.approx(sl, rel=1e-7, abs=1e-9)
    assert mine.abandon_probability == pytest.approx(abandon, rel=1e-7, abs=1e-9)


def test_erlang_a_with_endless_patience_is_erlang_c_and_impatience_needs_fewer_agents():
    c = erlang.erlang_c_staffing(calls=100, aht_s=180)
    a_patient = erlang.erlang_a_staffing(calls=100, aht_s=180, patience_s=1e6)
    assert a_patient.raw_agents == c.raw_agents
    assert a_patient.service_level == pytest.approx(c.service_level, abs=1e-4)  # abandons ~ ASA / patience
    impatient = erlang.erlang_a_staffing(calls=100, aht_s=180, patience_s=60)
    assert impatient.raw_agents < c.raw_agents
    assert impatient.abandon_probability > 0
    assert impatient.service_level >= 0.8


def test_erlang_a_is_stable_for_thousands_of_agents():
    result = erlang.erlang_a_staffing(calls=40_000, interval_s=1800, aht_s=180, patience_s=120)
    assert 3000 < result.raw_agents < 4100
    assert 0.8 <= result.service_level <= 1
    assert 0 <= result.abandon_probability < 0.2


def test_patience_counts_the_waits_of_answered_calls_as_censored():
    # 10 abandons after 30 s each, 90 answered after 20 s: MLE (300 + 1800) / 10 = 210 s
    assert erlang.patience_estimate(abandoned=10, abandoned_wait_s=300, answered_wait_s=1800) == 210
    assert erlang.patience_estimate(abandoned=0, abandoned_wait_s=0, answered_wait_s=100) is None


# --- the API -----------------------------------------------------------------------------------------


URL = "/api/wfm/erlang-c/"


@pytest.mark.django_db
def test_api_gives_the_contract_figures(staff, api_for):
    client = api_for(staff["team_lead"])
    response = client.get(
        URL,
        {
            "calls": 100,
            "interval_s": 1800,
            "aht_s": 180,
            "target_sl": 0.8,
            "target_t": 20,
            "shrinkage": "0.3",
            "max_occupancy": 1,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"raw_agents", "agents", "service_level", "asa_s", "occupancy", "waiting_probability"}
    assert body["raw_agents"] == 14
    assert body["agents"] == 20  # ⌈14 / 0.7⌉
    assert body["service_level"] == pytest.approx(0.8884, abs=5e-5)
    assert body["asa_s"] == pytest.approx(7.84, abs=0.005)


@pytest.mark.django_db
def test_api_zero_calls_is_zero_agents(staff, api_for):
    response = api_for(staff["analyst"]).get(URL, {"calls": 0, "aht_s": 180, "shrinkage": "0.3"})
    assert response.status_code == 200
    assert response.json()["agents"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "params"),
    [
        ("aht_s", {"calls": 10, "aht_s": 0}),
        ("calls", {"calls": "many", "aht_s": 180}),
        ("calls", {"aht_s": 180}),
        ("shrinkage", {"calls": 10, "aht_s": 180, "shrinkage": "1"}),
        ("target_sl", {"calls": 10, "aht_s": 180, "target_sl": "2"}),
        ("max_occupancy", {"calls": 10, "aht_s": 180, "max_occupancy": "0"}),
    ],
)
def test_api_bad_parameter_is_400_naming_the_field(staff, api_for, field, params):
    response = api_for(staff["director"]).get(URL, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"]
    assert field in error["fields"]


@pytest.mark.django_db
def test_api_refuses_agents(staff, api_for):
    assert api_for(staff["agent"]).get(URL, {"calls": 1, "aht_s": 180}).status_code == 403
