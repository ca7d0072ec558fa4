"""Pytest fixtures of the browser tests (Playwright driving Debian's chromium):
``pytest_plugins = ["tests.browser_fixtures"]`` in a test module; its helpers (logging in,
screenshots, the switch's calls) are in ``tests.browser_helpers``.

Two servers: pytest-django's ``live_server`` (WSGI) and ``asgi_server``, uvicorn in a subprocess
for the pages that need websockets — on PostgreSQL, since SQLite's test database lives in this
process's memory. Everything the switch does goes over HTTP to that server, so the in-memory
channel layer of the embedded default works too.

Two browsers: ``browser``, a Chromium of the test's own, and ``module_browser``, one for all the
tests of a module on the live server, which lets pages play audio without a click (the recording
player, the IVR simulator).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.db import connection, connections
from rest_framework.authtoken.models import Token

from agents.models import AgentSkill, AgentState, AgentStatus
from banking.models import Customer
from calls.demo import ensure_default_queues
from org.roles import Role
from tests.browser_helpers import ROOT
from tests.factories import make_staff
from tests.factories_banking import PHONE_PIN, phone_banking

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def chromium(*, autoplay: bool = False) -> Iterator[Browser]:
    """Debian's chromium through Playwright's sync API; the test fails (not skips) where it or
    Playwright is missing: a browser test that silently does not run tests nothing."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
    # body (fixtures) are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed (pip install -r requirements-dev.txt)")

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    if autoplay:
        args.append("--autoplay-policy=no-user-gesture-required")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()
        # Playwright runs an event loop in this thread, and Django keeps a separate connection in
        # that context: close it, or the test database cannot be dropped at the end.
        connections.close_all()
    connections.close_all()


@pytest.fixture
def browser():
    """A Chromium of the test's own: what a test on ``asgi_server`` needs, whose server's database
    sessions must have ended when the test does."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def module_browser():
    """One Chromium for a module's tests on the live server; pages may play audio unprompted."""
    with chromium(autoplay=True) as launched:
        yield launched


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    params = connection.settings_dict
    user = params["USER"] or "postgres"
    return f"postgres://{user}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


@pytest.fixture
def asgi_server():
    """uvicorn serving the test database (PostgreSQL); its base URL."""
    port = _free_port()
    sessions_before = _other_sessions()
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(),
        DJANGO_SETTINGS_MODULE="contactcenter.settings.test",
        LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "contactcenter.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310 - our own test server
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail(f"uvicorn did not start: {server.stderr.read().decode()[-2000:]}")
    yield base
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    _wait_for_sessions(sessions_before)


def _other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _wait_for_sessions(at_most: int) -> None:
    """The server's database sessions end a moment after its process; the test database can only
    be dropped once they have."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _other_sessions() > at_most:
        time.sleep(0.1)


@pytest.fixture
def center(db):
    """The agent desk's scene: the default IVR menu and queues, a phone-banking customer (张伟,
    card and ``PHONE_PIN``), agent01 (offline, skilled for general), lead1 and the switch's token."""
    from ivr.demo import seed_default_menu

    seed_default_menu()
    queues = ensure_default_queues()
    banking = phone_banking(card_fen=5_000_000, linked_fen=(100_000, 0), pin=PHONE_PIN)
    Customer.objects.filter(pk=banking.customer.pk).update(name="张伟", mobile="13800000001")
    agent = make_staff(Role.AGENT, username="agent01")
    agent.first_name, agent.last_name = "芳", "王"
    agent.save()
    AgentSkill.objects.create(agent=agent, queue=queues["general"], level=4)
    AgentStatus.objects.create(user=agent, state=AgentState.OFFLINE, since=datetime.now(UTC))
    lead = make_staff(Role.TEAM_LEAD, username="lead1")
    switch = make_staff(Role.SWITCH, username="switch")
    return {"agent": agent, "lead": lead, "token": Token.objects.create(user=switch).key, "card": banking.card.number}
