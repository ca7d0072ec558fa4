"""The agent desktop in Chromium: a call started through the IVR API pops up on the agent's page
over the websocket with the verified caller's accounts, and the agent answers, hangs up and wraps
it up; the team lead's wallboard shows it live. Chinese and English screenshots.

Websockets need an ASGI server (pytest-django's live server is WSGI only): uvicorn runs in a
subprocess against the test database — on PostgreSQL, since SQLite's test database lives in
this process's memory. Everything the switch does goes over HTTP to that server, so the
in-memory channel layer of the embedded default works too.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection, connections
from rest_framework.authtoken.models import Token

from agents.models import AgentSkill, AgentState, AgentStatus
from banking.models import Customer
from calls.demo import ensure_default_queues
from calls.models import Call
from org.roles import Role
from tests.factories import PASSWORD, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "var" / "screenshots"
PHONE_PIN = "123456"


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
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield chromium
        chromium.close()
        # Playwright runs an event loop in this thread, and Django keeps a separate connection in
        # that context: close it, or the test database cannot be dropped at the end.
        connections.close_all()
    connections.close_all()


@pytest.fixture
def center(db):
    from ivr.demo import seed_default_menu
    from tests.factories_banking import phone_banking

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


def _switch(base: str, token: str, path: str, body) -> dict:
    request = urllib.request.Request(  # noqa: S310 - our own test server
        base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def place_call(base: str, center: dict, call_id: str) -> None:
    """The switch: an IVR call that logs in with the card and asks for an agent, then reports
    the transfer to the queue on the CTI feed."""
    token = center["token"]
    _switch(base, token, "/api/ivr/calls/", {"call_id": call_id, "ani": "13800000001", "dnis": "96123"})
    actions = []
    for seq, digits in enumerate(["1", center["card"], PHONE_PIN, "0"], start=1):
        actions = _switch(
            base, token, f"/api/ivr/calls/{call_id}/events/", {"seq": seq, "type": "digits", "digits": digits}
        )["actions"]
    transfer = actions[-1]
    assert transfer["type"] == "transfer"
    now = datetime.now(UTC).isoformat()
    _switch(
        base,
        token,
        "/api/cti/events/",
        [
            {"event_id": f"{call_id}-offered", "call_id": call_id, "type": "offered", "ts": now, "ani": "13800000001"},
            {
                "event_id": f"{call_id}-queued",
                "call_id": call_id,
                "type": "queued",
                "ts": now,
                "queue": transfer["queue"],
            },
        ],
    )


def login(browser, base: str, username: str, language: str):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    return context, page


def test_an_agent_gets_a_screen_pop_for_an_ivr_call_and_wraps_it_up(browser, asgi_server, center):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = asgi_server
    context, page = login(browser, base, "agent01", "zh-hans")
    lead_context, wallboard = login(browser, base, "lead1", "zh-hans")
    try:
        page.wait_for_url(f"{base}/agent/desktop/")
        assert page.locator("main h1").inner_text() == "座席工作台"
        page.wait_for_selector("#link.link-up")
        page.click("#btn-ready")
        page.wait_for_selector("#state-badge.state-ready")

        place_call(base, center, "browser-1")
        page.wait_for_selector("#btn-answer", timeout=10_000)
        pop = page.locator("#pop-body").inner_text()
        assert "张伟" in pop and "622848******" in pop and "¥50,000.00" in pop
        assert "已在自助语音服务中验证" in pop and "人工服务" in pop
        assert center["card"] not in page.content()  # the full card number never reaches the page
        page.screenshot(path=str(SHOTS / "agent-desktop-screen-pop-zh.png"))

        wallboard.wait_for_url(f"{base}/calls/wallboard/")
        wallboard.wait_for_selector('tr[data-agent="agent01"] .state-ringing', timeout=5_000)

        page.click("#btn-answer")
        page.wait_for_selector("#state-badge.state-on_call")
        page.click("#btn-hold")
        page.wait_for_selector("#btn-retrieve")
        page.click("#btn-retrieve")
        page.wait_for_selector("#btn-hold")
        wallboard.wait_for_selector('tr[data-agent="agent01"] .state-on_call', timeout=5_000)
        wallboard.screenshot(path=str(SHOTS / "wallboard-zh.png"), full_page=True)
        page.click("#btn-hangup")
        page.wait_for_selector("#wrapup-form")
        page.select_option("#wrapup-disposition", "resolved")
        page.fill("#wrapup-note", "查询余额，已解答")
        page.click("#btn-wrapup")
        page.wait_for_selector("#state-badge.state-ready")

        call = Call.objects.get(call_id="browser-1")
        assert (call.state, call.disposition, call.note) == ("ended", "resolved", "查询余额，已解答")
        assert call.verified and call.agent == center["agent"] and call.wrapup_at and call.hold_ms > 0

        # English: another call pops up the same way.
        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        assert page.locator("main h1").inner_text() == "Agent desktop"
        page.wait_for_selector("#link.link-up")
        place_call(base, center, "browser-2")
        page.wait_for_selector("#btn-answer", timeout=10_000)
        assert "Verified in the IVR" in page.locator("#pop-body").inner_text()
        page.screenshot(path=str(SHOTS / "agent-desktop-screen-pop-en.png"))
        with wallboard.expect_navigation():
            wallboard.select_option("#lang-select", "en")
        wallboard.wait_for_selector('tr[data-agent="agent01"] .state-ringing', timeout=5_000)
        wallboard.screenshot(path=str(SHOTS / "wallboard-en.png"), full_page=True)
    finally:
        context.close()
        lead_context.close()


def test_the_recording_pauses_while_the_caller_says_the_password_for_a_loss_report(browser, asgi_server, center):
    """The desktop's loss report verified by the withdrawal password: choosing that verification
    pauses the recording of the call, cancelling resumes it (docs/recordings.md)."""
    from calls.models import RecordingPause

    base = asgi_server
    context, page = login(browser, base, "agent01", "zh-hans")
    try:
        page.wait_for_url(f"{base}/agent/desktop/")
        page.wait_for_selector("#link.link-up")
        page.click("#btn-ready")
        page.wait_for_selector("#state-badge.state-ready")
        place_call(base, center, "browser-pause-1")
        page.wait_for_selector("#btn-answer", timeout=10_000)
        page.click("#btn-answer")
        page.wait_for_selector("#state-badge.state-on_call")
        page.get_by_role("button", name="口头挂失").first.click()
        page.select_option(".loss-form select[name=verification]", "password")
        page.wait_for_selector(".recording-paused:not([hidden])")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not RecordingPause.objects.filter(state="pause").exists():
            time.sleep(0.1)
        assert list(RecordingPause.objects.values_list("call__call_id", "state")) == [("browser-pause-1", "pause")]
        page.locator(".loss-form").get_by_role("button", name="取消").click()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not RecordingPause.objects.filter(state="resume").exists():
            time.sleep(0.1)
        assert list(RecordingPause.objects.order_by("at").values_list("state", flat=True)) == ["pause", "resume"]
    finally:
        context.close()
