"""Fuzz the API over its own OpenAPI schema with schemathesis, once per role (issue 12 point 6).

Seeds a fresh database (``DATABASE_URL``; a throwaway SQLite file when unset), serves it with
gunicorn on a free port, takes a token for each role's demo login and, for every operation of
``/api/schema/``, sends ``--examples`` generated requests valid by the schema and
``--negative-examples`` invalid ones with that token. A response fails when
it is a 5xx, or does not conform to the schema (undocumented status, wrong content type, a body
that does not match). Prints per role: operations, requests, 5xx, schema failures — and the
first failures in detail. Exit status 1 on any failure.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc_st .venv/bin/python scripts/schemathesis_run.py

The database is migrated and seeded here (``seed_demo`` with a short history); use one nobody
else needs: the run writes to it (it is the point: every write endpoint is called).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Derandomized by default: CI sends the same cases every run (a failure reproduces); --random explores.
RANDOM = os.environ.get("SCHEMATHESIS_RANDOM") == "1"
ROLES = ["director", "maintainer", "analyst", "lead1", "agent01", "branch01", "risk", "switch"]


@dataclass
class RoleReport:
    role: str
    operations: int = 0
    requests: int = 0
    server_errors: int = 0
    schema_failures: int = 0
    errors: int = 0  # the request could not be made or generated (counted apart)
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def note(self, text: str) -> None:
        if len(self.examples) < 40:
            self.examples.append(text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not listen on {port}")


def prepare_database(env: dict) -> None:
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)  # noqa: S603
    subprocess.run(  # noqa: S603 - our own command
        [*manage, "seed_demo", "--history-days", "2", "--customers", "50", "--quiet"], env=env, check=True, cwd=ROOT
    )


def tokens(base: str, password: str, roles: list[str]) -> dict[str, str]:
    import requests

    found = {}
    for role in roles:
        response = requests.post(f"{base}/api/auth/token/", json={"username": role, "password": password}, timeout=30)
        response.raise_for_status()
        found[role] = response.json()["token"]
    return found


def _runner(operation, label, role, base, headers, session, report, checks, examples, mode):
    """The Hypothesis test of one operation: each generated case is sent and checked; failures
    are counted, not raised, so that every example runs."""
    import requests
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: count every failure once
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        try:
            response = case.call(base_url=base, headers=headers, session=session, timeout=30)
        except requests.RequestException as exc:
            report.errors += 1
            report.note(f"{role} {label}: request failed: {exc}")
            return
        report.requests += 1
        report.statuses[response.status_code // 100] += 1
        if response.status_code >= 500:
            report.server_errors += 1
            report.note(f"{role} {label}: {response.status_code} for {case.as_curl_command(headers={})}")
            return
        try:
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
            report.schema_failures += 1
            summary = " | ".join(str(exc).split("\n")[:8])[:700]
            report.note(f"{role} {label}: {response.status_code} {summary}")

    return run


def fuzz_role_at(base: str, role: str, token: str, examples: int, negative: int) -> RoleReport:
    import schemathesis

    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{base}/api/schema/?format=json")
    report = fuzz_role(schema, base, role, token, examples, negative)
    report.seconds = time.monotonic() - started
    return report


def fuzz_role(schema, base: str, role: str, token: str, examples: int, negative: int) -> RoleReport:
    """Positive cases (valid by the schema) and negative ones (invalid: wrong types, out of range,
    missing fields) for every operation; both must never be a 5xx and must conform."""
    import requests
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    report = RoleReport(role)
    session = requests.Session()
    headers = {"Authorization": f"Token {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations += 1
        label = f"{operation.method.upper()} {operation.path}"
        for mode, count in ((GenerationMode.POSITIVE, examples), (GenerationMode.NEGATIVE, negative)):
            if count <= 0:
                continue
            run = _runner(operation, label, role, base, headers, session, report, checks, count, mode)
            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - unsatisfiable schema, generation error
                if mode is GenerationMode.NEGATIVE:
                    continue  # nothing in this operation can be made invalid (no parameters, no body)
                report.errors += 1
                report.note(f"{role} {label}: could not generate: {type(exc).__name__}: {str(exc)[:300]}")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=25, help="generated requests per operation and role")
    parser.add_argument(
        "--negative-examples", type=int, default=10, help="invalid requests per operation and role (0: none)"
    )
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated demo logins")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=2, help="roles fuzzed at once (client processes)")
    parser.add_argument("--random", action="store_true", help="new random cases instead of the fixed ones")
    parser.add_argument("--keep-going", action="store_true", help="exit 0 even with failures (exploring)")
    args = parser.parse_args()
    roles = [role for role in args.roles.split(",") if role]
    if args.random:
        os.environ["SCHEMATHESIS_RANDOM"] = "1"  # read by the client processes
        global RANDOM
        RANDOM = True

    env = dict(os.environ, DJANGO_SETTINGS_MODULE="contactcenter.settings.test", PYTHONUNBUFFERED="1")
    scratch = tempfile.mkdtemp(prefix="cc-schemathesis-")
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{scratch}/db.sqlite3"
    env.setdefault("MEDIA_ROOT", f"{scratch}/media")
    env.setdefault("RECORDINGS_ROOT", f"{scratch}/recordings")  # the seed's files, the server's reads
    password = env.setdefault("DEMO_PASSWORD", "demo12345")
    started = time.monotonic()
    prepare_database(env)
    port = free_port()
    server_log = open(f"{scratch}/gunicorn.log", "ab")  # noqa: SIM115 - open for the server's lifetime
    server = subprocess.Popen(  # noqa: S603 - our own executable and arguments
        [str(BIN / "gunicorn"), "contactcenter.wsgi:application", "-c", "gunicorn.conf.py"]
        + ["--workers", str(args.workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
        + ["--timeout", "60"],
        cwd=ROOT,
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(port)
        base = f"http://127.0.0.1:{port}"
        role_tokens = tokens(base, password, roles)
        reports = []
        # Roles run in parallel client processes (each loads the schema): the generator's CPU
        # is about half of the work, and the server has workers to spare.
        with ProcessPoolExecutor(max_workers=args.clients) as pool:
            futures = [
                pool.submit(fuzz_role_at, base, role, role_tokens[role], args.examples, args.negative_examples)
                for role in roles
            ]
            for future in as_completed(futures):
                report = future.result()
                reports.append(report)
                print(
                    f"{report.role:<11} operations {report.operations:>3}  requests {report.requests:>5}  "
                    f"5xx {report.server_errors:>3}  schema failures {report.schema_failures:>3}  "
                    f"not run {report.errors:>2}  statuses {dict(sorted(report.statuses.items()))}  "
                    f"({report.seconds:.0f} s)",
                    flush=True,
                )
        reports.sort(key=lambda report: roles.index(report.role))
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()

    print(f"\n{'role':<11} {'operations':>10} {'requests':>9} {'5xx':>5} {'schema failures':>16}")
    for report in reports:
        print(
            f"{report.role:<11} {report.operations:>10} {report.requests:>9} "
            f"{report.server_errors:>5} {report.schema_failures:>16}"
        )
    total = sum(r.server_errors + r.schema_failures + r.errors for r in reports)
    print(f"total requests {sum(r.requests for r in reports)}, {time.monotonic() - started:.0f} s")
    for report in reports:
        for line in report.examples:
            print("  " + line)
    log = Path(f"{scratch}/gunicorn.log")
    if total and log.exists():
        tracebacks = log.read_text(errors="replace").split("Traceback")[1:]
        print("\ngunicorn log, last tracebacks:\n" + "\nTraceback".join(tracebacks[-3:])[-6000:])
    if total:
        print(f"server log and media kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if total == 0 or args.keep_going else 1


if __name__ == "__main__":
    sys.exit(main())
