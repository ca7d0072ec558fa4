"""Settlement batches on PostgreSQL (issue 16): a batch of ``BENCH_BATCH_ITEMS`` items (default
1,000,000) validated and posted.

* validation: ``batch_upload`` of the CSV file (parse, stage with ``COPY``, the set-based checks,
  the items written) — rows per second, goal ≥ 100,000;
* the run: one worker process (``batch_run_process``, the PL/pgSQL chunk function) — postings per
  second, goal ≥ 5,000, and its peak RSS (memory flat: it does not grow with the batch);
* the baseline in the same run: the naive per-item loop (each item through ``ledger_post`` in the
  ORM, ``fast=False``) over ``BENCH_NAIVE_ITEMS`` items (default 5,000) — the run must be ≥ 10×.

Run: ``make bench`` or ``.venv/bin/python -m bench bench_settlement``; smaller:
``BENCH_BATCH_ITEMS=100000 .venv/bin/python -m bench bench_settlement``.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ITEMS = int(os.environ.get("BENCH_BATCH_ITEMS", "1000000"))
NAIVE_ITEMS = int(os.environ.get("BENCH_NAIVE_ITEMS", "5000"))
ACCOUNTS = int(os.environ.get("BENCH_BATCH_ACCOUNTS", "20000"))
SMS_SHARE = 0.05  # debit main cards with 短信通: their credits queue an SMS each
GOAL_RUN = 5_000
GOAL_RATIO = 10
GOAL_VALIDATION = 100_000
ROOT = Path(__file__).resolve().parent.parent


def run() -> list[dict]:
    from bench.pg import throwaway_database

    with throwaway_database("cc_bench_batch") as url:
        env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="contactcenter.settings.test")
        env.pop("REDIS_URL", None)
        output = subprocess.run(
            [sys.executable, "-m", "bench.bench_settlement", "--child"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    fast, naive = result["fast"], result["naive"]
    return [
        {
            "name": f"batch postings/s ({ITEMS:,} items, 1 worker, PL/pgSQL chunks)",
            "value": fast["rate"],
            "unit": "/s",
            "baseline": naive["rate"],
            "ratio": fast["rate"] / naive["rate"] if naive["rate"] else float("nan"),
            "note": f"goal ≥ {GOAL_RUN:,}/s and ≥ {GOAL_RATIO}× the naive per-item ORM loop = baseline "
            f"({NAIVE_ITEMS:,} items); {fast['notices']:,} SMS queued; done={fast['status']}",
        },
        {
            "name": "  peak RSS of the worker",
            "value": fast["peak_rss_mb"],
            "unit": "MB",
            "baseline": naive["peak_rss_mb"],
            "ratio": fast["peak_rss_mb"] / naive["peak_rss_mb"] if naive["peak_rss_mb"] else float("nan"),
            "note": f"baseline = the naive loop's worker over {NAIVE_ITEMS:,} items",
        },
        {
            "name": f"batch validation rows/s ({ITEMS:,} rows CSV)",
            "value": result["validation"]["rate"],
            "unit": "/s",
            "baseline": float(GOAL_VALIDATION),
            "ratio": result["validation"]["rate"] / GOAL_VALIDATION,
            "note": f"goal ≥ {GOAL_VALIDATION:,}/s (baseline = goal); "
            f"{result['validation']['seconds']:.1f} s, peak RSS {result['validation']['peak_rss_mb']:.0f} MB",
        },
    ]


# --- child: Django on the throw-away database -------------------------------------------------------


def _setup_accounts() -> list[str]:
    """``ACCOUNTS`` debit main cards at zero (no postings: consistent), ``SMS_SHARE`` with 短信通."""
    from django.core.management import call_command

    from banking.models import Account, Customer, SmsNoticeSubscription
    from org.models import Unit

    call_command("migrate", verbosity=0)
    unit, _ = Unit.objects.get_or_create(code="B01", defaults={"name": "东丽区行社", "kind": Unit.Kind.BRANCH})
    customers = Customer.objects.bulk_create(
        [
            Customer(
                name=f"压测{n}",
                mobile=f"139{n:08d}",
                id_number_digest=f"{n:064d}",
                id_last6=f"{n % 10**6:06d}",
                home_unit=unit,
            )
            for n in range(ACCOUNTS)
        ],
        batch_size=5000,
    )
    accounts = Account.objects.bulk_create(
        [
            Account(
                number=f"62284899{n:011d}",
                kind=Account.Kind.DEBIT_CARD,
                card_role=Account.CardRole.MAIN,
                customer=customer,
                unit=unit,
            )
            for n, customer in enumerate(customers)
        ],
        batch_size=5000,
    )
    rng = random.Random(16)
    SmsNoticeSubscription.objects.bulk_create(
        [SmsNoticeSubscription(account=a, phone=a.customer.mobile) for a in accounts if rng.random() < SMS_SHARE],
        batch_size=5000,
    )
    return [account.number for account in accounts]


def _write_file(path: str, numbers: list[str], items: int, tag: str) -> None:
    rng = random.Random(tag)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("account,amount,reference\n")
        for n in range(items):
            handle.write(f"{rng.choice(numbers)},{rng.randint(1, 2000)}.{rng.randint(0, 99):02d},{tag}{n:08d}\n")


def _peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``: ``ru_maxrss`` would report the parent's
    peak after fork + exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(batch_id: int, fast: bool) -> None:
    """A fresh process, like a Celery worker: run the batch, print rate and peak RSS."""
    import django

    django.setup()
    from banking.models import Batch, BatchItem
    from banking.services import batches
    from notifications.models import SmsOutbox

    notices_before = SmsOutbox.objects.count()
    batch = Batch.objects.get(pk=batch_id)
    items = BatchItem.objects.filter(batch=batch, status="pending").count()
    started = time.perf_counter()
    done = batches.batch_run_process(batch_id=batch_id, fast=fast)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rate": items / seconds,
                "seconds": seconds,
                "items": items,
                "status": done.status,
                "notices": SmsOutbox.objects.count() - notices_before,
                "peak_rss_mb": _peak_rss_mb(),
            }
        )
    )


def _run_worker(batch_id: int, fast: bool) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_settlement", "--worker", str(batch_id), "1" if fast else "0"],
        cwd=ROOT,
        env=os.environ,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _child() -> None:
    import django

    django.setup()
    from banking.services import batches
    from org.roles import Role
    from tests.factories import make_staff

    numbers = _setup_accounts()
    analyst, director = make_staff(Role.ANALYST), make_staff(Role.DIRECTOR)
    with tempfile.TemporaryDirectory() as folder:
        big, small = os.path.join(folder, "big.csv"), os.path.join(folder, "small.csv")
        _write_file(big, numbers, ITEMS, "B")
        _write_file(small, numbers, NAIVE_ITEMS, "N")
        rss_before = _peak_rss_mb()
        started = time.perf_counter()
        with open(big, "rb") as handle:
            batch = batches.batch_upload(kind="pos_prize", period="2026-11", file=handle, actor=analyst)
        validation_s = time.perf_counter() - started
        validation = {
            "rate": ITEMS / validation_s,
            "seconds": validation_s,
            "peak_rss_mb": max(rss_before, _peak_rss_mb()),
        }
        with open(small, "rb") as handle:
            naive_batch = batches.batch_upload(kind="refund", period="2026-11", file=handle, actor=analyst)
    for each in (batch, naive_batch):
        batches.batch_approve(batch=each, actor=director)
        batches.batch_run_start(batch=each, actor=analyst, enqueue=lambda pk: None)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE banking_batchitem")
    naive = _run_worker(naive_batch.pk, fast=False)
    fast = _run_worker(batch.pk, fast=True)
    print(json.dumps({"validation": validation, "naive": naive, "fast": fast}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child()
    elif sys.argv[1:2] == ["--worker"]:
        _worker(int(sys.argv[2]), sys.argv[3] == "1")
    else:
        from bench.__main__ import print_table

        print_table(run())
