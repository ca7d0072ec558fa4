"""Outbound campaigns on PostgreSQL (issue 19): list import rate and the dial decision.

In a throw-away database:

1. **Import**: a 100,000-row list (GB18030 CSV as Excel writes it: 姓名, 手机号码, 备注; 2% invalid
   numbers, 1% repeated, 1% on the do-not-call list) imported with ``imports.run_import`` —
   rows per second, against reading the same file with the ``csv`` module alone in the same run
   (the floor: decoding and splitting, no validation, no database).
2. **Dial decision**: ``compliance.check`` per contact with 1,000,000 numbers on the do-not-call
   list and 100,000 earlier dial attempts (the weekly cap's look-up), for 5,000 contacts taken
   at random (5% of them listed) — p99 in ms, goal < 5 ms. The contact rows are read before
   the clock starts (the dialer holds its locked contact already); each check is one statement of
   two index look-ups (``calls_dnc_active_once``, ``calls_attempt_phone_idx``), whose plan is printed.
3. **Pacing** (``pacing_hour``): a simulated hour of progressive dialing — h6's part, added to
   this module.

Run: ``make bench`` or ``.venv/bin/python -m bench bench_outbound``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = int(os.environ.get("BENCH_OUTBOUND_ROWS", "100000"))
DNC_ROWS = int(os.environ.get("BENCH_OUTBOUND_DNC", "1000000"))
DECISIONS = int(os.environ.get("BENCH_OUTBOUND_DECISIONS", "5000"))
GOAL_DECISION_P99_MS = 5.0
ROOT = Path(__file__).resolve().parent.parent


def run() -> list[dict]:
    from bench.pg import throwaway_database

    with throwaway_database("cc_bench_ob") as url:
        env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="contactcenter.settings.test")
        env.pop("REDIS_URL", None)
        output = subprocess.run(
            [sys.executable, "-m", "bench.bench_outbound", "--child"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    imported, decision = result["import"], result["decision"]
    rows = [
        {
            "name": f"outbound list import ({imported['rows']:,} rows, GB18030 CSV)",
            "value": imported["rows_per_s"],
            "unit": "rows/s",
            "baseline": imported["csv_rows_per_s"],
            "ratio": imported["rows_per_s"] / imported["csv_rows_per_s"],
            "note": (
                f"baseline: csv module alone on the same file; added {imported['added']:,}, "
                f"invalid {imported['invalid']:,}, duplicates {imported['duplicate']:,}, DNC {imported['dnc']:,}"
            ),
        },
        {
            "name": f"dial decision p99 ({result['dnc_rows']:,} DNC numbers)",
            "value": decision["p99_ms"],
            "unit": "ms",
            "baseline": GOAL_DECISION_P99_MS,
            "ratio": decision["p99_ms"] / GOAL_DECISION_P99_MS,
            "note": (
                f"goal < {GOAL_DECISION_P99_MS:.0f}; median {decision['median_ms']:.2f} ms over "
                f"{decision['n']:,} contacts, {decision['refused']} refused (DNC); plan: {decision['dnc_plan']}"
            ),
        },
    ]
    rows.extend(pacing_hour())
    return rows


def pacing_hour(agents: int = 15, answer_rate: float = 0.3) -> list[dict]:
    """A simulated hour of progressive dialing with 15 agents at a 30% answer rate: agent
    occupancy and answered customers who waited > 2 s for an agent (goal 0). The dialer's side:
    ``bench/outbound_pacing.py`` (virtual time through the real services, in its own throw-away
    database)."""
    from bench.outbound_pacing import pacing_rows

    return pacing_rows(agents=agents, answer_rate=answer_rate)


# --- child process: Django set up on the throw-away database ------------------------------------


def _write_list(path: Path, rng: random.Random) -> None:
    numbers = [f"138{n:08d}" for n in range(ROWS)]
    with open(path, "w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "手机号码", "备注"])
        for n in range(ROWS):
            roll = rng.random()
            if roll < 0.02:
                phone = f"1{n:06d}"  # too short: invalid
            elif roll < 0.03 and n:
                phone = numbers[rng.randrange(n)]  # repeats an earlier row
            elif roll < 0.04:
                phone = f"137{n:08d}"  # on the do-not-call list
            else:
                phone = f"{numbers[n][:3]} {numbers[n][3:7]} {numbers[n][7:]}"
            writer.writerow([f"客户{n}", phone, "理财意向" if n % 7 == 0 else ""])


def _csv_floor(path: Path) -> float:
    start = time.perf_counter()
    count = 0
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding="gb18030", newline="")
        for _row in csv.reader(text):
            count += 1
    return count / (time.perf_counter() - start)


def _child() -> None:
    import django

    django.setup()
    from datetime import date, datetime
    from datetime import time as clock
    from zoneinfo import ZoneInfo

    from django.core.management import call_command
    from django.db import connection

    from calls.demo import ensure_default_queues
    from calls.outbound import compliance, imports
    from calls.outbound.models import Campaign, CampaignContact, CampaignStatus, ImportJob

    call_command("migrate", verbosity=0)
    rng = random.Random(19)
    queues = ensure_default_queues()
    campaign = Campaign.objects.create(
        code="bench",
        name="bench",
        kind="marketing",
        status=CampaignStatus.RUNNING,
        queue=queues["card"],
        window_start=clock(9, 0),
        window_end=clock(20, 0),
        date_from=date(2026, 1, 1),
        date_to=date(2027, 12, 31),
    )
    with connection.cursor() as cursor:
        # The do-not-call list: 1,000,000 numbers (139…), plus the 1% of the list's rows (137…).
        cursor.execute(
            "INSERT INTO calls_donotcall (phone, reason, all_campaigns, note, removal_note, created_at)"
            " SELECT '139' || lpad(g::text, 8, '0'), 'optout', false, '', '', now()"
            " FROM generate_series(1, %s) g",
            [DNC_ROWS - ROWS],
        )
        cursor.execute(
            "INSERT INTO calls_donotcall (phone, reason, all_campaigns, note, removal_note, created_at)"
            " SELECT '137' || lpad(g::text, 8, '0'), 'optout', false, '', '', now() FROM generate_series(0, %s) g",
            [ROWS - 1],
        )
        cursor.execute("ANALYZE calls_donotcall")
        cursor.execute("SELECT count(*) FROM calls_donotcall WHERE removed_at IS NULL")
        dnc_rows = cursor.fetchone()[0]

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        _write_list(path, rng)
        floor = _csv_floor(path)
        job = ImportJob.objects.create(campaign=campaign, source="import", file_name="list.csv", stored_path=str(path))
        start = time.perf_counter()
        job = imports.run_import(job.pk)
        import_s = time.perf_counter() - start
    rows_read = job.rows_read

    with connection.cursor() as cursor:
        # Earlier dials: one a contact, two days ago, unanswered (the weekly cap reads them).
        cursor.execute(
            "INSERT INTO calls_dialattempt (campaign_id, contact_id, phone, mode, allowed_because, command_id,"
            " status, sends, decided_at, call_id, cause, outcome, note)"
            " SELECT campaign_id, id, phone, 'preview', '{}', 'bench-' || id, 'ended', 1,"
            " now() - interval '2 days', '', 'busy', 'busy', '' FROM calls_campaigncontact"
        )
        # 5% of the contacts put on the list after the import: the check refuses them at dial time.
        cursor.execute(
            "INSERT INTO calls_donotcall (phone, reason, all_campaigns, note, removal_note, created_at)"
            " SELECT phone, 'call_request', true, '', '', now() FROM calls_campaigncontact WHERE id % 20 = 0"
        )
        cursor.execute("ANALYZE calls_donotcall")
        cursor.execute("ANALYZE calls_dialattempt")
        cursor.execute("ANALYZE calls_campaigncontact")
        # The plan of the decision's one statement (``compliance.number_facts``): index scans only.
        cursor.execute(
            "EXPLAIN " + compliance._number_sql(True),
            ["13800012345", datetime(2026, 11, 24, tzinfo=ZoneInfo("Asia/Shanghai")), "13800012345"],
        )
        lines = [row[0].strip() for row in cursor.fetchall()]
        plan = "; ".join(line.split("  (")[0].lstrip("-> ") for line in lines if "Scan" in line)

    ids = list(CampaignContact.objects.filter(campaign=campaign).values_list("pk", flat=True))
    picked = rng.sample(ids, min(DECISIONS, len(ids)))
    contacts = list(CampaignContact.objects.filter(pk__in=picked).select_related("campaign"))
    now = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Tuesday
    for contact in contacts[:200]:  # warm-up: connection, the holiday cache
        compliance.check(contact, now=now)
    timings = []
    refused = 0
    for contact in contacts:
        start = time.perf_counter()
        decision = compliance.check(contact, now=now)
        timings.append((time.perf_counter() - start) * 1000)
        refused += not decision.allowed
    timings.sort()
    result = {
        "dnc_rows": dnc_rows,
        "import": {
            "rows": rows_read,
            "rows_per_s": rows_read / import_s,
            "csv_rows_per_s": floor,
            "added": job.rows_added,
            "invalid": job.rows_invalid,
            "duplicate": job.rows_duplicate,
            "dnc": job.rows_dnc,
            "status": job.status,
        },
        "decision": {
            "n": len(timings),
            "p99_ms": timings[int(len(timings) * 0.99) - 1],
            "median_ms": statistics.median(timings),
            "refused": refused,
            "dnc_plan": plan,
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child()
    else:
        from bench.__main__ import print_table

        print_table(run())
