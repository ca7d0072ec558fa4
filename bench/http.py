"""What the HTTP benchmarks share: a small asyncio HTTP/1.1 client (no third-party client or
``wrk`` on the machine), starting gunicorn / uvicorn on a free port, percentiles, the fast
password hasher of bench databases and their phone-banking customers."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Django's test hasher for phone-banking passwords and staff logins in bench databases: PBKDF2
# would make each login cost hundreds of ms of CPU whatever the code under test does.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Http:
    """One connection-per-request client (``Connection: close``, as gunicorn's sync workers
    answer), token-authenticated; keeps every request's latency in ms and counts 4xx/5xx."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.latencies: list[float] = []
        self.errors = 0

    async def request(self, method: str, path: str, body=None) -> tuple[int, dict]:
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {self.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(head + data)
        await writer.drain()
        raw = await reader.read()
        writer.close()
        self.latencies.append((time.perf_counter() - started) * 1000)
        status = int(raw[9:12]) if len(raw) > 12 else 0
        if status >= 400 or status == 0:
            self.errors += 1
        payload = raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else b""
        try:
            return status, json.loads(payload or b"{}")
        except ValueError:
            return status, {}

    async def post(self, path: str, body=None) -> dict:
        """The JSON body of the answer (an error's too: ``errors`` counts it)."""
        return (await self.request("POST", path, body if body is not None else {}))[1]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def gunicorn(app: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    """Plain HTTP as production serves it: gunicorn's sync workers."""
    return subprocess.Popen(  # noqa: S603 - our own executable and arguments
        [str(BIN / "gunicorn"), app, "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
        + ["--backlog", "512", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )


def uvicorn(app: str, port: int, env: dict) -> subprocess.Popen:
    """Websockets as production serves them: uvicorn (ASGI)."""
    return subprocess.Popen(  # noqa: S603 - our own executable and arguments
        [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port)]
        + ["--lifespan", "off", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, bytes, float]]:
    """Every process: pid → (parent pid, command line, user + system CPU seconds)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat, open(f"/proc/{name}/cmdline", "rb") as cmdline:
                fields = stat.read().rsplit(")", 1)[1].split()
                command = cmdline.read()
        except OSError:  # gone meanwhile
            continue
        found[int(name)] = (int(fields[1]), command, (int(fields[11]) + int(fields[12])) / _TICKS)
    return found


def _is_postgres(command: bytes) -> bool:
    program = command.split(b"\0", 1)[0]
    return program.startswith(b"postgres") or program.endswith(b"/postgres")  # backends, postmaster


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server (the process and its workers), by this machine's
    PostgreSQL (its processes, when it runs here) and by this process (the load generator)."""
    processes = _processes()
    server = sum(cpu for pid, (parent, _, cpu) in processes.items() if server_pid in (pid, parent))
    postgres = sum(cpu for _, command, cpu in processes.values() if _is_postgres(command))
    return {"server": server, "postgres": postgres, "generator": processes.get(os.getpid(), (0, b"", 0.0))[2]}


def use_fast_hashers() -> None:
    """In a bench server or setup process (after ``django.setup()``)."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = FAST_HASHERS
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


def phone_banking_cards(count: int, pin: str, *, balance_fen: int = 1_000_000) -> list[str]:
    """``count`` customers of branch B01, each with a debit card registered for phone banking
    with ``pin``, through the banking services (in a bench setup process): their card numbers."""
    from banking.models import Account
    from banking.services.accounts import account_open, customer_create, registration_create
    from org.models import Unit

    unit, _ = Unit.objects.get_or_create(code="B01", defaults={"name": "东丽区行社", "kind": Unit.Kind.BRANCH})
    cards = []
    for index in range(count):
        customer = customer_create(
            name=f"压测{index}", mobile=f"137{index:08d}", id_number=f"1201011985{index:08d}", home_unit=unit
        )
        card = account_open(
            customer=customer,
            kind=Account.Kind.DEBIT_CARD,
            number=f"62284877{index:08d}",
            unit=unit,
            withdrawal_password="000000",  # noqa: S106 - a throw-away bench database
            card_role=Account.CardRole.MAIN,
            opening_balance_fen=balance_fen,
        )
        registration_create(account=card, password=pin)
        cards.append(card.number)
    return cards
