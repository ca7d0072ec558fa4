"""Throw-away PostgreSQL databases for benchmarks, and the pgbench baseline."""

import os
import re
import subprocess
import time
from contextlib import contextmanager
from urllib.parse import urlparse

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-q", ADMIN_URL, "-c", sql], check=True, capture_output=True)


@contextmanager
def throwaway_database(prefix: str):
    name = f"{prefix}_{os.getpid()}_{int(time.time())}"
    _psql(f"CREATE DATABASE {name}")
    parts = urlparse(ADMIN_URL)
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pgbench_update_tps(database_url: str, *, clients: int, seconds: int, hot: bool) -> dict:
    """tps and p99 latency of a one-row UPDATE transaction (spread over 100,000 rows, or one hot row)."""
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", database_url], check=True, capture_output=True)
    script = "\\set aid 1\n" if hot else "\\set aid random(1, 100000)\n"
    script += "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n"
    path = f"/tmp/pgbench-{os.getpid()}-{'hot' if hot else 'spread'}.sql"
    with open(path, "w") as handle:
        handle.write(script)
    result = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", path, "-r", database_url],
        check=True,
        capture_output=True,
        text=True,
    )
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", result.stdout)
    return {"tps": tps, "latency_avg_ms": float(latency.group(1)) if latency else None}
