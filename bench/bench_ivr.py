"""IVR step throughput and latency under gunicorn, next to a one-row UPDATE baseline (issue 4).

Whole simulated calls (an authenticated balance query: start, "1", card number, password,
"1", hang-up = 6 steps) at 16 and 64 concurrent connections against gunicorn (sync workers,
as production serves plain HTTP), and in the same run, on the same server, a baseline DRF view
with the same token authentication that runs one single-row UPDATE in a transaction (every IVR
step must persist state, so that is the floor). Goals: IVR steps ≥ 70 % of the baseline's
requests/s; p99 < 100 ms at 16 connections.

The load generator is a small asyncio HTTP/1.1 client in this process (``bench/http.py``; no
wrk on the machine); it shares the 2 cores with the server, equally for both measurements. The
two run in alternating windows (baseline, IVR, IVR, baseline, ...; ``BENCH_ROUNDS``), because
this shared machine's speed drifts by tens of percent within minutes: a ratio taken from two
back-to-back runs measures the drift as much as the code. Phone-banking passwords
are hashed with Django's test hasher in this run (PBKDF2 would make each login cost hundreds
of ms of CPU whatever the IVR does; the note says how much).

Run: ``make bench`` or ``.venv/bin/python -m bench bench_ivr``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

from bench.baseline import baseline_loop, baseline_urlpatterns, create_counter_table
from bench.http import (
    ROOT,
    Http,
    cpu_seconds,
    free_port,
    gunicorn,
    percentile,
    phone_banking_cards,
    stop,
    use_fast_hashers,
    wait_for,
)

SECONDS = float(os.environ.get("BENCH_SECONDS", "24"))  # per kind and concurrency, over all rounds
WARMUP_SECONDS = 3.0
CONCURRENCY = tuple(int(n) for n in os.environ.get("BENCH_IVR_CONCURRENCY", "16,64").split(","))
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", str((os.cpu_count() or 2) * 2)))
CUSTOMERS = 200
PIN = "246810"
GOAL_RATIO = 0.70
GOAL_P99_MS = 100.0
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
CPU_PARTS = ("server", "postgres", "generator")


def run() -> list[dict]:
    from bench.pg import throwaway_database

    with throwaway_database("cc_bench_ivr") as url:
        env = dict(
            os.environ,
            DATABASE_URL=url,
            DJANGO_SETTINGS_MODULE="contactcenter.settings.base",
            LOG_LEVEL="WARNING",
            AXES_ENABLED="false",
        )
        env.pop("REDIS_URL", None)
        setup = subprocess.run(
            [sys.executable, "-m", "bench.bench_ivr", "--setup"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        fixture = json.loads(setup.strip().splitlines()[-1])
        port = free_port()
        server = gunicorn("bench.bench_ivr:application", port, env, GUNICORN_WORKERS)
        try:
            wait_for(port)
            results = asyncio.run(_measure_all(port, fixture, server.pid))
        finally:
            stop(server)
    return _rows(results, fixture)


def _rows(results: dict, fixture: dict) -> list[dict]:
    rows = []
    for conc in CONCURRENCY:
        ivr, base = results[f"ivr-{conc}"], results[f"baseline-{conc}"]
        rows.append(
            {
                "name": f"IVR steps/s ({conc} connections, gunicorn ×{GUNICORN_WORKERS})",
                "value": ivr["rps"],
                "unit": "req/s",
                "baseline": base["rps"],
                "ratio": ivr["rps"] / base["rps"] if base["rps"] else float("nan"),
                "note": f"goal ≥ {GOAL_RATIO:.0%} of baseline (1-row UPDATE view); "
                f"{ivr['calls_per_s']:.1f} whole calls/s; errors {ivr['errors']}",
            }
        )
        rows.append(
            {
                "name": f"  IVR step p99 latency ({conc} connections)",
                "value": ivr["p99_ms"],
                "unit": "ms",
                "baseline": base["p99_ms"],
                "ratio": ivr["p99_ms"] / base["p99_ms"] if base["p99_ms"] else float("nan"),
                "note": (f"goal < {GOAL_P99_MS:.0f} ms; " if conc == 16 else "")
                + f"median {ivr['median_ms']:.1f} ms; baseline = its p99",
            }
        )
    for part, what in (
        ("server", "gunicorn, all workers"),
        ("postgres", "PostgreSQL"),
        ("generator", "load generator"),
    ):
        conc = CONCURRENCY[0]
        ivr, base = results[f"ivr-{conc}"]["cpu_us"][part], results[f"baseline-{conc}"]["cpu_us"][part]
        rows.append(
            {
                "name": f"  CPU per request: {what} ({conc} conns)",
                "value": ivr,
                "unit": "µs",
                "baseline": base,
                "ratio": ivr / base if base else float("nan"),
                "note": "user + system, from /proc"
                + ("; 0 when PostgreSQL runs elsewhere" if part == "postgres" else ""),
            }
        )
    rows.append(
        {
            "name": "  one PBKDF2 password check (not in the figures above)",
            "value": fixture["pbkdf2_ms"],
            "unit": "ms",
            "baseline": 0.0,
            "ratio": 0.0,
            "note": "CPU per login with Django's default hasher",
        }
    )
    return rows


# --- the load generator ---------------------------------------------------------------------------


async def _ivr_loop(client: Http, deadline: float, cards: list[str], prefix: str) -> int:
    calls = 0
    while time.monotonic() < deadline:
        call_id = f"{prefix}-{calls}"
        card = cards[calls % len(cards)]
        await client.post("/api/ivr/calls/", {"call_id": call_id, "ani": "13900000000", "dnis": "96000"})
        events = f"/api/ivr/calls/{call_id}/events/"
        for seq, body in enumerate(
            (
                {"type": "digits", "digits": "1"},
                {"type": "digits", "digits": card},
                {"type": "digits", "digits": PIN},
                {"type": "digits", "digits": "1"},
                {"type": "hangup"},
            ),
            start=1,
        ):
            answer = await client.post(events, {"seq": seq, **body})
            if seq == 4 and not any(a.get("prompt") == "balance" for a in answer.get("actions", [])):
                client.errors += 1
        calls += 1
    return calls


async def _window(port: int, token: str, conc: int, kind: str, cards: list[str], prefix: str, seconds: float):
    """``conc`` connections for ``seconds``: (clients, whole calls, elapsed s)."""
    clients = [Http(port, token) for _ in range(conc)]
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    if kind == "baseline":
        counts = await asyncio.gather(*(baseline_loop(c, deadline) for c in clients))
    else:
        # Each connection calls with its own customers, so logins do not queue on one registration.
        counts = await asyncio.gather(
            *(
                _ivr_loop(c, deadline, cards[index::conc] or cards, f"{prefix}-{index}")
                for index, c in enumerate(clients)
            )
        )
    return clients, sum(counts), time.monotonic() - started


async def _measure(port: int, token: str, conc: int, cards: list[str], server_pid: int) -> dict:
    """Baseline and IVR in alternating windows (B I I B B I ...), so that the shared machine
    speeding up or slowing down during the run weighs on both alike."""
    totals = {
        kind: {"latencies": [], "errors": 0, "calls": 0, "elapsed": 0.0, "cpu": dict.fromkeys(CPU_PARTS, 0.0)}
        for kind in ("baseline", "ivr")
    }
    window = SECONDS / ROUNDS
    for number in range(ROUNDS):
        order = ("baseline", "ivr") if number % 2 == 0 else ("ivr", "baseline")
        for kind in order:
            prefix = f"c{conc}-r{number}-{time.time_ns()}"
            before = cpu_seconds(server_pid)
            clients, calls, elapsed = await _window(port, token, conc, kind, cards, prefix, window)
            after = cpu_seconds(server_pid)
            total = totals[kind]
            for part in CPU_PARTS:
                total["cpu"][part] += after[part] - before[part]
            total["latencies"] += [value for c in clients for value in c.latencies]
            total["errors"] += sum(c.errors for c in clients)
            total["calls"] += calls
            total["elapsed"] += elapsed
    return {
        kind: {
            "rps": len(total["latencies"]) / total["elapsed"],
            "p99_ms": percentile(total["latencies"], 0.99),
            "median_ms": statistics.median(total["latencies"]) if total["latencies"] else float("nan"),
            "errors": total["errors"],
            "calls_per_s": total["calls"] / total["elapsed"],
            "cpu_us": {part: 1e6 * seconds / max(len(total["latencies"]), 1) for part, seconds in total["cpu"].items()},
        }
        for kind, total in totals.items()
    }


async def _measure_all(port: int, fixture: dict, server_pid: int) -> dict:
    token, cards = fixture["token"], fixture["cards"]
    # Warm every worker up (imports, translations, compiled menu, DB pool) before measuring.
    for kind in ("baseline", "ivr"):
        await _window(port, token, max(CONCURRENCY), kind, cards, f"warm-{time.time_ns()}", WARMUP_SECONDS)
    results = {}
    for conc in CONCURRENCY:
        measured = await _measure(port, token, conc, cards, server_pid)
        results[f"baseline-{conc}"], results[f"ivr-{conc}"] = measured["baseline"], measured["ivr"]
    return results


# --- the server side: this module is also the WSGI app and URLconf gunicorn serves -------------------


def _application():
    import django
    from django.conf import settings

    django.setup()
    # The bench URLconf adds the baseline view in front of the project's URLs.
    settings.ROOT_URLCONF = "bench.bench_ivr"
    use_fast_hashers()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _urlpatterns():
    from django.urls import include, path

    return [*baseline_urlpatterns(), path("", include("contactcenter.urls"))]


_cache: dict = {}


def __getattr__(name: str):
    # PEP 562: gunicorn asks for ``application``, Django's resolver for ``urlpatterns``; both are
    # built lazily so that importing this module for ``make bench`` needs no Django settings.
    if name == "application":
        _cache.setdefault("application", _application())
        return _cache["application"]
    if name == "urlpatterns":
        _cache.setdefault("urlpatterns", _urlpatterns())
        return _cache["urlpatterns"]
    raise AttributeError(name)


# --- setup (child process on the throw-away database) ----------------------------------------------


def _setup() -> None:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    started = time.perf_counter()
    make_password(PIN)  # the default hasher (PBKDF2), timed for the note
    pbkdf2_ms = (time.perf_counter() - started) * 1000
    use_fast_hashers()

    from ivr.demo import seed_default_menu
    from org.models import StaffProfile
    from org.roles import Role

    call_command("migrate", verbosity=0)
    seed_default_menu()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bench-switch", password="bench-switch-1")  # noqa: S106 - a throw-away bench database
    StaffProfile.objects.create(user=user, role=Role.SWITCH)
    token = Token.objects.create(user=user).key
    cards = phone_banking_cards(CUSTOMERS, PIN)
    create_counter_table()
    print(json.dumps({"token": token, "cards": cards, "pbkdf2_ms": pbkdf2_ms}))


if __name__ == "__main__":
    if "--setup" in sys.argv:
        sys.path.insert(0, str(ROOT))
        _setup()
    else:
        from bench.__main__ import print_table

        print_table(run())
