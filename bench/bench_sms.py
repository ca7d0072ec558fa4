"""SMS outbox delivery under load, on PostgreSQL, Celery on Redis and the file gateway (issue 15).

1. Outbox throughput, 2 Celery worker processes (``celery -A contactcenter worker --concurrency
   2``, prefork) and the file gateway: ``BENCH_SMS_N`` pending rows (default 20,000; batch 1 gets
   ``BENCH_SMS_N1``, default 4,000) are written with one ``INSERT … SELECT`` (the columns
   ``sms_enqueue`` writes) and handed to ``notifications.deliver`` in batches of ``SMS_BATCH``
   (1, 20, 50; as ``delivery.sweep`` does); timed from the first task published until every row is
   ``sent``. Baseline in the same run, same workers: as many trivial tasks as rows
   (``bench.noop``, defined here and loaded with ``--include bench.bench_sms``: it only counts
   itself in Redis). Goal: messages/s ≥ 60 % of the no-op tasks/s.
   A breakdown in-process (batch of 50) says where a message's time goes: claim, gateway, record.
2. Delay from a posting's commit to the gateway call under 200 postings/s (``BENCH_SMS_RATE``,
   for ``BENCH_SMS_SECONDS``, default 10 s), the 2 workers delivering: 4 generator processes
   post debit-card → passbook moves through ``banking.services.ledger.ledger_post`` (the Python
   path: ``sms_enqueue`` in the posting's transaction, the task after the commit); the delay is
   the gateway file's ``at`` − the row's ``created_at`` (the posting's time). Second row: the same
   load through ``transfer_execute``, which on PostgreSQL runs the PL/pgSQL function; the ids of
   the notices it queued come back in its result and are handed to delivery after the commit, as
   on the Python path (the beat's 15 s ``notifications.sweep``, emulated here from the start of
   the load, stays the safety net). Goal p95 < 2 s.

Run: ``make bench`` or ``.venv/bin/python -m bench bench_sms`` (needs PostgreSQL at
``BENCH_ADMIN_URL`` and Redis at ``BENCH_SMS_REDIS_URL``, default ``redis://127.0.0.1:6379/12``;
the Redis DB is flushed).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from celery import shared_task

ROOT = Path(__file__).resolve().parent.parent
REDIS = os.environ.get("BENCH_SMS_REDIS_URL", "redis://127.0.0.1:6379/12")
N = int(os.environ.get("BENCH_SMS_N", "20000"))
N_BATCH1 = int(os.environ.get("BENCH_SMS_N1", "4000"))
BATCHES = [int(b) for b in os.environ.get("BENCH_SMS_BATCHES", "1,20,50").split(",")]
RATE = float(os.environ.get("BENCH_SMS_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_SMS_SECONDS", "10"))
PARTS = set(os.environ.get("BENCH_PARTS", "throughput,profile,latency,function").split(","))
GENERATORS = 4
# Enough customers that a run's notices are one or two per phone: the per-phone flood limit
# (SMS_FLOOD_MAX in SMS_FLOOD_WINDOW_S) is a policy for real floods, not for the bench's traffic.
CUSTOMERS = int(os.environ.get("BENCH_SMS_CUSTOMERS", "2500"))
GOAL_RATIO = 0.60
GOAL_P95_S = 2.0
SWEEP_S = 15.0
COUNTER = "bench-sms:noop"


@shared_task(name="bench.noop", acks_late=True, ignore_result=True)
def noop() -> None:
    """The baseline task: nothing but counting itself (one Redis INCR)."""
    _redis().incr(COUNTER)


_client = []


def _redis():
    if not _client:
        import redis

        _client.append(redis.Redis.from_url(REDIS))
    return _client[0]


def run() -> list[dict]:
    from bench.pg import throwaway_database

    with throwaway_database("cc_bench_sms") as url, tempfile.TemporaryDirectory(prefix="bench-sms-") as files:
        env = dict(
            os.environ,
            DATABASE_URL=url,
            REDIS_URL=REDIS,
            CHANNELS_PREFIX=f"bench{os.getpid()}",
            CACHE_PREFIX=f"bench{os.getpid()}",
            DJANGO_SETTINGS_MODULE="contactcenter.settings.base",
            LOG_LEVEL="WARNING",
            SMS_GATEWAY="file",
            SMS_FILE_DIR=files,
            DB_POOL_MAX="4",
        )
        output = subprocess.run(
            [sys.executable, "-m", "bench.bench_sms", "--child"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
    return _rows(result)


def _rows(r: dict) -> list[dict]:
    rows = []
    load = f"load {r['load_before']} → {r['load_after']}"
    if "noop" in r:
        noop_rate = r["noop"]["per_s"]
        rows.append(
            {
                "name": f"  no-op Celery tasks, 2 workers ({r['noop']['n']} tasks)",
                "value": noop_rate,
                "unit": "task/s",
                "baseline": noop_rate,
                "ratio": 1.0,
                "note": f"baseline of the SMS rows; publishing took {r['noop']['publish_s']:.1f} s; "
                f"CPU ms/task workers {r['noop']['cpu_ms']['workers']:.2f}; {load}",
            }
        )
        for batch in BATCHES:
            m = r["throughput"][str(batch)]
            rows.append(
                {
                    "name": f"SMS outbox → file gateway, SMS_BATCH {batch} ({m['n']} msgs)",
                    "value": m["per_s"],
                    "unit": "msg/s",
                    "baseline": noop_rate,
                    "ratio": m["per_s"] / noop_rate if noop_rate else float("nan"),
                    "note": f"goal ≥ {GOAL_RATIO:.0%} of no-op tasks/s; {m['tasks_per_s']:.1f} tasks/s; "
                    f"sent {m['sent']}/{m['n']}, other {m['other']}; publishing {m['publish_s']:.1f} s; "
                    f"CPU ms/msg workers {m['cpu_ms']['workers']:.2f} + PostgreSQL {m['cpu_ms']['postgres']:.2f}",
                }
            )
    if "profile" in r:
        p = r["profile"]
        rows.append(
            {
                "name": f"  per message in-process, batch {p['batch']}",
                "value": p["total_ms"],
                "unit": "ms",
                "baseline": p["proposed_ms"],
                "ratio": p["total_ms"] / p["proposed_ms"] if p["proposed_ms"] else float("nan"),
                "note": f"claim {p['claim_ms']:.2f} + gateway {p['gateway_ms']:.2f} + record {p['record_ms']:.2f} ms; "
                f"baseline = the same with a one-statement claim and bulk record (prototype here: "
                f"claim {p['bulk_claim_ms']:.2f} + gateway + record {p['bulk_record_ms']:.2f} ms)",
            }
        )
    for key, label in (
        ("latency", f"posting commit → gateway p95, {RATE:.0f}/s, ledger_post"),
        ("function", f"posting commit → gateway p95, {RATE:.0f}/s, PL/pgSQL transfer"),
    ):
        if key in r:
            d = r[key]
            rows.append(
                {
                    "name": label,
                    "value": d["p95_s"] * 1000,
                    "unit": "ms",
                    "baseline": GOAL_P95_S * 1000,
                    "ratio": d["p95_s"] / GOAL_P95_S,
                    "note": f"goal < {GOAL_P95_S * 1000:.0f} ms (baseline = goal); p50 {d['p50_s'] * 1000:.0f}, "
                    f"p99 {d['p99_s'] * 1000:.0f}, max {d['max_s'] * 1000:.0f} ms; {d['posted']} postings at "
                    f"{d['rate']:.0f}/s, {d['delivered']}/{d['messages']} msgs delivered, errors {d['errors']}"
                    f"{d.get('extra', '')}; {d['load']}",
                }
            )
    return rows


# --- child: Django on the throw-away database -------------------------------------------------------


def _load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg()[:2])


def _setup() -> list[tuple[int, int, int]]:
    """Customers with a debit main card (短信通 on), a passbook linked to the card's phone-banking
    registration: (registration, card, book) ids."""
    from django.core.management import call_command

    from banking.models import Account
    from banking.services.accounts import (
        account_link,
        account_open,
        customer_create,
        registration_create,
        sms_notice_subscribe,
    )
    from bench.http import use_fast_hashers
    from org.models import Unit

    call_command("migrate", verbosity=0)
    use_fast_hashers()
    unit, _ = Unit.objects.get_or_create(code="B01", defaults={"name": "东丽区行社", "kind": Unit.Kind.BRANCH})
    triples = []
    for index in range(CUSTOMERS):
        customer = customer_create(
            name=f"压测{index}", mobile=f"139{index:08d}", id_number=f"1201011990{index:08d}", home_unit=unit
        )
        card = account_open(
            customer=customer,
            kind=Account.Kind.DEBIT_CARD,
            number=f"62284899{index:08d}",
            unit=unit,
            withdrawal_password="000000",  # noqa: S106 - a throw-away bench database
            card_role=Account.CardRole.MAIN,
            opening_balance_fen=10**12,
        )
        book = account_open(
            customer=customer,
            kind=Account.Kind.SAVINGS_PASSBOOK,
            number=f"0101{index:010d}",
            unit=unit,
            withdrawal_password="000000",  # noqa: S106
            opening_balance_fen=10**12,
        )
        registration = registration_create(account=card, password="000000")  # noqa: S106
        account_link(registration=registration, account=book, code="01")
        sms_notice_subscribe(account=card, phone=f"139{index:08d}")
        triples.append((registration.pk, card.pk, book.pk))
    return triples


def _workers(env: dict) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own executable and arguments
        [str(Path(sys.executable).parent / "celery"), "-A", "contactcenter", "worker", "--concurrency", "2"]
        + ["--pool", "prefork", "--include", "bench.bench_sms", "--without-gossip", "--without-mingle"]
        + ["--without-heartbeat", "--loglevel", "WARNING", "-n", f"benchsms{os.getpid()}@%h"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def _wait_workers_ready() -> None:
    from contactcenter.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if replies:
            # Both pool processes take tasks: warm them (imports, the database connection).
            for _ in range(20):
                noop.delay()
            time.sleep(2)
            return
    raise RuntimeError("celery workers did not start")


def _cpu(master: int) -> dict[str, float]:
    from bench.http import cpu_seconds

    result = cpu_seconds(master)
    return {"workers": result["server"], "postgres": result["postgres"]}


# Rows inserted so far: each row its own phone (the flood limit counts per phone), none of them a
# customer's (139…): the latency runs' notices are the only messages to those.
_inserted = [0]


def _insert_pending(n: int) -> list[int]:
    from django.db import connection

    offset, _inserted[0] = _inserted[0], _inserted[0] + n
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO notifications_smsoutbox (phone, kind, text, status, attempts, related_posting_id, created_at)
            SELECT '137' || lpad(((g + %s) %% 100000000)::text, 8, '0'), 'service', '【农合银行】压测短信 ' || g,
                   'pending', 0, NULL, now()
            FROM generate_series(1, %s) AS g
            RETURNING id
            """,
            [offset, n],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _wait_until(predicate, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.05)
    return time.monotonic()


def _measure_noop(n: int, master: int) -> dict:
    redis = _redis()
    redis.set(COUNTER, 0)
    cpu_before = _cpu(master)
    started = time.monotonic()
    for _ in range(n):
        noop.delay()
    published = time.monotonic()
    done = _wait_until(lambda: int(redis.get(COUNTER) or 0) >= n, timeout=600)
    cpu_after = _cpu(master)
    return {
        "n": n,
        "per_s": n / (done - started),
        "publish_s": published - started,
        "done": int(redis.get(COUNTER)),
        "cpu_ms": {key: (cpu_after[key] - cpu_before[key]) * 1000 / n for key in cpu_before},
    }


def _measure_outbox(n: int, batch: int, master: int) -> dict:
    from notifications import tasks
    from notifications.models import SmsOutbox

    ids = _insert_pending(n)
    cpu_before = _cpu(master)
    started = time.monotonic()
    for start in range(0, len(ids), batch):
        tasks.deliver.delay(ids[start : start + batch])
    published = time.monotonic()
    rows = SmsOutbox.objects.filter(pk__gte=ids[0], pk__lte=ids[-1])

    def finished() -> bool:
        return not rows.filter(status__in=["pending", "sending"]).exists()

    time.sleep(0.2)
    done = _wait_until(finished, timeout=900)
    cpu_after = _cpu(master)
    sent = rows.filter(status="sent").count()
    return {
        "n": n,
        "per_s": n / (done - started),
        "tasks_per_s": (len(ids) + batch - 1) // batch / (done - started),
        "publish_s": published - started,
        "sent": sent,
        "other": n - sent,
        "cpu_ms": {key: (cpu_after[key] - cpu_before[key]) * 1000 / n for key in cpu_before},
    }


# --- where a message's time goes (in this process, no Celery) ----------------------------------------


def _bulk_claim(ids: list[int], now):
    """Prototype: claim in one statement (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)
    RETURNING``) and the ``sending`` events in one ``INSERT``."""
    from django.db import connection, transaction

    from notifications.models import SmsOutbox

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE notifications_smsoutbox o
               SET status = 'sending', claim = md5(random()::text || o.id::text), claimed_at = %s,
                   attempts = o.attempts + 1
             WHERE o.id IN (SELECT id FROM notifications_smsoutbox
                             WHERE id = ANY(%s) AND status = 'pending'
                               AND (next_attempt_at IS NULL OR next_attempt_at <= %s)
                             ORDER BY created_at, id FOR UPDATE SKIP LOCKED)
            RETURNING o.id, o.phone, o.text, o.claim, o.attempts
            """,
            [now, ids, now],
        )
        claimed = cursor.fetchall()
        cursor.execute(
            "INSERT INTO notifications_smsevent (message_id, status, attempt, detail, actor_id, at) "
            "SELECT unnest(%s::bigint[]), 'sending', unnest(%s::int[]), '', NULL, %s",
            [[row[0] for row in claimed], [row[4] for row in claimed], now],
        )
    return [SmsOutbox(pk=row[0], phone=row[1], text=row[2], claim=row[3], attempts=row[4]) for row in claimed]


def _bulk_record(rows, submitted, now) -> None:
    """Prototype: mark the batch ``sent`` in one ``UPDATE … FROM (VALUES …)`` guarded by each row's
    claim, and its events in one ``INSERT``."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE notifications_smsoutbox o
               SET status = 'sent', claim = '', gateway = 'file', gateway_id = v.gid, segments = v.seg,
                   sent_at = %s, last_error = ''
              FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[]) AS v(id, claim, gid, seg)
             WHERE o.id = v.id AND o.claim = v.claim AND o.status = 'sending'
            RETURNING o.id, o.attempts, o.gateway_id
            """,
            [
                now,
                [row.pk for row in rows],
                [row.claim for row in rows],
                [s.gateway_id for s in submitted],
                [s.segments for s in submitted],
            ],
        )
        done = cursor.fetchall()
        cursor.execute(
            "INSERT INTO notifications_smsevent (message_id, status, attempt, detail, actor_id, at) "
            "SELECT unnest(%s::bigint[]), 'sent', unnest(%s::int[]), unnest(%s::text[]), NULL, %s",
            [[r[0] for r in done], [r[1] for r in done], [r[2] for r in done], now],
        )


def _profile(batch: int = 50, rounds: int = 20) -> dict:
    from django.utils import timezone

    from notifications import delivery
    from notifications.gateways.base import OutgoingSms

    via = delivery.gateway()
    claim_s = gateway_s = record_s = 0.0
    n = 0
    for _ in range(rounds):
        ids = _insert_pending(batch)
        t0 = time.perf_counter()
        rows = delivery.claim(ids=ids, limit=batch)
        t1 = time.perf_counter()
        answers = [via.send(OutgoingSms(id=row.pk, phone=row.phone, text=row.text)) for row in rows]
        t2 = time.perf_counter()
        for row, submitted in zip(rows, answers, strict=True):
            delivery._record_sent(row, submitted, via.name)
        t3 = time.perf_counter()
        claim_s, gateway_s, record_s, n = claim_s + t1 - t0, gateway_s + t2 - t1, record_s + t3 - t2, n + len(rows)
    bulk_claim_s = bulk_gateway_s = bulk_record_s = 0.0
    m = 0
    for _ in range(rounds):
        ids = _insert_pending(batch)
        t0 = time.perf_counter()
        rows = _bulk_claim(ids, timezone.now())
        t1 = time.perf_counter()
        answers = [via.send(OutgoingSms(id=row.pk, phone=row.phone, text=row.text)) for row in rows]
        t2 = time.perf_counter()
        _bulk_record(rows, answers, timezone.now())
        t3 = time.perf_counter()
        bulk_claim_s, bulk_gateway_s, bulk_record_s = (
            bulk_claim_s + t1 - t0,
            bulk_gateway_s + t2 - t1,
            bulk_record_s + t3 - t2,
        )
        m += len(rows)
    ms = 1000 / max(n, 1)
    bulk_ms = 1000 / max(m, 1)
    return {
        "batch": batch,
        "claim_ms": claim_s * ms,
        "gateway_ms": gateway_s * ms,
        "record_ms": record_s * ms,
        "total_ms": (claim_s + gateway_s + record_s) * ms,
        "bulk_claim_ms": bulk_claim_s * bulk_ms,
        "bulk_record_ms": bulk_record_s * bulk_ms,
        "proposed_ms": (bulk_claim_s + bulk_gateway_s + bulk_record_s) * bulk_ms,
    }


# --- 2. delay from the posting's commit to the gateway ------------------------------------------------


def _generator(args) -> dict:
    index, triples, rate, seconds, path, t0 = args
    import django

    django.setup()  # a spawned process (a forked one would inherit the connection pool's dead threads)
    from django.conf import settings
    from django.db import connection

    from banking.models import Account, LedgerTransaction, PhoneBankingRegistration
    from banking.services.ledger import ledger_post
    from banking.services.transfers import transfer_execute

    settings.BANKING_DAILY_LIMIT_FEN = 10**15  # limits would refuse most postings of a benchmark
    rng = random.Random(index)
    mine = triples[index::GENERATORS]
    accounts = Account.objects.in_bulk([pk for _r, card, book in mine for pk in (card, book)])
    registrations = PhoneBankingRegistration.objects.in_bulk([r for r, _c, _b in mine])
    interval = GENERATORS / rate
    posted = errors = 0
    while time.time() < t0:
        time.sleep(0.001)
    while True:
        due = t0 + posted * interval
        if due >= t0 + seconds:
            break
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        registration, card, book = rng.choice(mine)
        amount = rng.randint(1, 9999)
        try:
            if path == "ledger":
                ledger_post(
                    kind=LedgerTransaction.Kind.TRANSFER,
                    lines=[(accounts[card], -amount), (accounts[book], amount)],
                    channel=LedgerTransaction.Channel.IVR,
                    memo="bench",
                )
            else:
                transfer_execute(
                    registration=registrations[registration],
                    from_account=accounts[card],
                    to_account=accounts[book],
                    amount=f"{amount // 100}.{amount % 100:02d}",
                    idempotency_key=f"bench-sms:{index}:{posted}",
                    channel="ivr",
                )
        except Exception:  # noqa: BLE001 - counted and reported
            errors += 1
        posted += 1
    connection.close()
    return {"posted": posted, "errors": errors, "late_s": max(0.0, time.time() - (t0 + seconds))}


def _measure_delay(triples, path: str) -> dict:
    import multiprocessing

    from django.conf import settings
    from django.db import connections

    from notifications import tasks
    from notifications.models import SmsOutbox

    first = (SmsOutbox.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    connections.close_all()
    load_before = _load()
    t0 = time.time() + 10.0  # the spawned generators set Django up first
    sweeps = 0
    with multiprocessing.get_context("spawn").Pool(GENERATORS) as pool:
        pending = pool.map_async(_generator, [(i, triples, RATE, SECONDS, path, t0) for i in range(GENERATORS)])
        while not pending.ready():
            if path == "function" and time.time() >= t0 + SWEEP_S * (sweeps + 1):
                tasks.sweep.delay()
                sweeps += 1
            time.sleep(0.05)
        results = pending.get()
    load_after = _load()
    posted = sum(r["posted"] for r in results)
    rows = SmsOutbox.objects.filter(pk__gte=first, kind="transaction_notice")
    messages = rows.count()

    def finished() -> bool:
        return not rows.filter(status__in=["pending", "sending"]).exists()

    deadline = time.time() + (300 if path == "function" else 60)
    while time.time() < deadline and not finished():
        if path == "function" and time.time() >= t0 + SWEEP_S * (sweeps + 1):
            tasks.sweep.delay()
            sweeps += 1
        time.sleep(0.05)
    directory = Path(settings.SMS_FILE_DIR)
    delays = []
    from datetime import datetime

    for pk, created_at in rows.filter(status="sent").values_list("pk", "created_at"):
        try:
            body = json.loads((directory / f"{pk}.json").read_text(encoding="utf-8"))
        except OSError:
            continue
        delays.append((datetime.fromisoformat(body["at"]) - created_at).total_seconds())
    delays.sort()

    def pct(share: float) -> float:
        return delays[min(int(len(delays) * share), len(delays) - 1)] if delays else float("nan")

    result = {
        "posted": posted,
        "rate": posted / (SECONDS + max(r["late_s"] for r in results)),
        "errors": sum(r["errors"] for r in results),
        "messages": messages,
        "delivered": len(delays),
        "p50_s": pct(0.50),
        "p95_s": pct(0.95),
        "p99_s": pct(0.99),
        "max_s": delays[-1] if delays else float("nan"),
        "load": f"load {load_before} → {load_after}",
    }
    if path == "function":
        result["extra"] = f"; {sweeps} sweeps (every {SWEEP_S:.0f} s, ≤ 1,000 rows each)"
    return result


def _child() -> None:
    import django

    django.setup()
    from django.db import connections

    triples = _setup()
    _redis().flushdb()
    result: dict = {"load_before": _load()}
    connections.close_all()
    env = dict(os.environ)
    workers = _workers(env)
    try:
        _wait_workers_ready()
        if "throughput" in PARTS:
            n_max = max(N if batch > 1 else N_BATCH1 for batch in BATCHES)
            result["noop"] = _measure_noop(n_max, workers.pid)
            result["throughput"] = {
                str(batch): _measure_outbox(N if batch > 1 else N_BATCH1, batch, workers.pid) for batch in BATCHES
            }
        if "latency" in PARTS:
            result["latency"] = _measure_delay(triples, "ledger")
        if "function" in PARTS:
            result["function"] = _measure_delay(triples, "function")
    finally:
        workers.terminate()
        try:
            workers.wait(timeout=30)
        except subprocess.TimeoutExpired:
            workers.kill()
    if "profile" in PARTS:
        result["profile"] = _profile()
    result["load_after"] = _load()
    print(json.dumps(result))


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child()
    else:
        from bench.__main__ import print_table

        print_table(run())
