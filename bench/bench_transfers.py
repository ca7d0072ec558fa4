"""Transfers per second through ``transfer_execute`` on PostgreSQL (issue 3).

16 worker processes over 1,000 accounts (500 registrations, each with one linked account),
then all workers on one hot pair; p99 latency of each; next to pgbench running a single-row
UPDATE transaction in the same run (the ceiling of this machine). Goal: ≥ 500/s spread,
≥ 200/s hot pair, and no deadlock or serialization error reaching a caller.

Run: ``make bench`` (all benchmarks) or ``.venv/bin/python -m bench.bench_transfers``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORKERS = int(os.environ.get("BENCH_WORKERS", "16"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
PAIRS = 500
GOAL_SPREAD_TPS = 500
GOAL_HOT_TPS = 200
ROOT = Path(__file__).resolve().parent.parent


def run() -> list[dict]:
    """Spawn the measurement in a child process on a throw-away database; return table rows."""
    from bench.pg import pgbench_update_tps, throwaway_database

    with throwaway_database("cc_bench_tx") as url:
        env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="contactcenter.settings.test")
        env.pop("REDIS_URL", None)
        output = subprocess.run(
            [sys.executable, "-m", "bench.bench_transfers", "--child"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
        spread = pgbench_update_tps(url, clients=WORKERS, seconds=int(SECONDS), hot=False)
        hot = pgbench_update_tps(url, clients=WORKERS, seconds=int(SECONDS), hot=True)
    rows = []
    for key, label, baseline, goal in (
        ("spread", f"transfers/s spread ({WORKERS} workers, 1,000 accounts)", spread["tps"], GOAL_SPREAD_TPS),
        ("hot", f"transfers/s one hot pair ({WORKERS} workers)", hot["tps"], GOAL_HOT_TPS),
    ):
        measured = result[key]
        rows.append(
            {
                "name": label,
                "value": measured["tps"],
                "unit": "tps",
                "baseline": baseline,
                "ratio": measured["tps"] / baseline if baseline else float("nan"),
                "note": f"goal ≥ {goal}; pgbench 1-row UPDATE = baseline",
            }
        )
        rows.append(
            {
                "name": f"  p99 latency, {key}",
                "value": measured["p99_ms"],
                "unit": "ms",
                "baseline": (spread if key == "spread" else hot)["latency_avg_ms"] or 0.0,
                "ratio": measured["p99_ms"] / ((spread if key == "spread" else hot)["latency_avg_ms"] or 1.0),
                "note": "baseline = pgbench average latency",
            }
        )
        rows.append(
            {
                "name": f"  errors reaching callers, {key}",
                "value": float(measured["unexpected_errors"]),
                "unit": "count",
                "baseline": 0.0,
                "ratio": 0.0,
                "note": f"refusals by rule: {measured['refusals']}",
            }
        )
    return rows


# --- child process: Django set up on the throw-away database ------------------------------------


def _setup_accounts() -> list[tuple[int, int, int]]:
    """500 registrations with one linked account each; returns (registration, card, passbook) ids."""
    from django.core.management import call_command

    from banking.models import Account
    from banking.services.accounts import account_link, account_open, customer_create, registration_create
    from org.models import Unit

    call_command("migrate", verbosity=0)
    unit, _ = Unit.objects.get_or_create(code="B01", defaults={"name": "东丽区行社", "kind": Unit.Kind.BRANCH})
    triples = []
    for index in range(PAIRS):
        customer = customer_create(
            name=f"压测{index}", mobile=f"139{index:08d}", id_number=f"1201011990{index:08d}", home_unit=unit
        )
        card = account_open(
            customer=customer,
            kind=Account.Kind.DEBIT_CARD,
            number=f"62284899{index:08d}",
            unit=unit,
            withdrawal_password="000000",
            card_role=Account.CardRole.MAIN,
            opening_balance_fen=100_000_000,
        )
        book = account_open(
            customer=customer,
            kind=Account.Kind.SAVINGS_PASSBOOK,
            number=f"0101{index:010d}",
            unit=unit,
            withdrawal_password="000000",
            opening_balance_fen=100_000_000,
        )
        registration = registration_create(account=card, password="000000")
        account_link(registration=registration, account=book, code="01")
        triples.append((registration.pk, card.pk, book.pk))
    return triples


def _worker(args) -> dict:
    worker_id, triples, hot, seconds = args
    from django.db import connection

    from banking.models import Account, PhoneBankingRegistration
    from banking.services.transfers import transfer_execute
    from core.errors import DomainError

    rng = random.Random(worker_id)
    latencies, refusals, unexpected = [], 0, 0
    used = triples[:1] if hot else triples
    # The callers' own look-ups happen before the clock starts: measured is the service alone.
    registrations = PhoneBankingRegistration.objects.in_bulk([pk for pk, _c, _b in used])
    accounts = Account.objects.in_bulk([pk for _r, card, book in used for pk in (card, book)])
    count = 0
    loop_started = time.monotonic()
    deadline = loop_started + seconds
    while time.monotonic() < deadline:
        registration_id, card_id, book_id = triples[0] if hot else rng.choice(triples)
        source, target = (card_id, book_id) if rng.random() < 0.5 else (book_id, card_id)
        started = time.perf_counter()
        try:
            transfer_execute(
                registration=registrations[registration_id],
                from_account=accounts[source],
                to_account=accounts[target],
                amount=f"{rng.randint(1, 100)}.{rng.randint(0, 99):02d}",
                idempotency_key=f"bench:{hot}:{worker_id}:{count}",
                channel="ivr",
            )
        except DomainError:
            refusals += 1  # a rule refused it (e.g. daily limit): a clean answer, not an error
        except Exception:  # deadlock, serialization failure, anything else reaching the caller
            unexpected += 1
        latencies.append((time.perf_counter() - started) * 1000)
        count += 1
    elapsed = time.monotonic() - loop_started
    connection.close()
    return {"latencies": latencies, "refusals": refusals, "unexpected": unexpected, "elapsed": elapsed}


def _measure(triples, *, hot: bool) -> dict:
    import multiprocessing

    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    with context.Pool(WORKERS) as pool:
        results = pool.map(_worker, [(n, triples, hot, SECONDS) for n in range(WORKERS)])
    # Workers run their loops side by side for SECONDS each (set-up excluded).
    elapsed = max(result["elapsed"] for result in results)
    latencies = sorted(value for result in results for value in result["latencies"])
    return {
        "tps": len(latencies) / elapsed,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        "median_ms": statistics.median(latencies) if latencies else float("nan"),
        "refusals": sum(result["refusals"] for result in results),
        "unexpected_errors": sum(result["unexpected"] for result in results),
        "count": len(latencies),
    }


def _child() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Limits would refuse most transfers of a benchmark; the rule checks still run on every call.
    settings.BANKING_DAILY_LIMIT_FEN = 10**15
    triples = _setup_accounts()
    result = {"spread": _measure(triples, hot=False), "hot": _measure(triples, hot=True)}
    call_command("ledger_check", verbosity=0)  # exits non-zero on any inconsistency
    print(json.dumps(result))


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child()
    else:
        from bench.__main__ import print_table

        print_table(run())
