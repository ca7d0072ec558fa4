"""Helpers of the browser tests (Playwright driving Debian's chromium): logging in, the language
cookie, screenshots, and the switch's HTTP calls to the server. Their fixtures are in
``tests.browser_fixtures``; a test module loads them with ``pytest_plugins``."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from tests.factories import PASSWORD
from tests.factories_banking import PHONE_PIN

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "var" / "screenshots"


def submit_login(page, base: str, username: str) -> None:
    """Fill in and send the login form (the demo password); the caller waits for what follows."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def language_context(browser, base: str, language: str):
    """A browser context that asks for English but has chosen ``language`` on the site (the
    ``django_language`` cookie the language selector sets)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    return context


def login(browser, base: str, username: str, language: str):
    """A new context logged in as ``username`` in ``language``: ``(context, page)``."""
    context = language_context(browser, base, language)
    page = context.new_page()
    submit_login(page, base, username)
    return context, page


def switch_post(base: str, token: str, path: str, body) -> dict:
    """What the switch sends the server: a JSON POST with its token; the JSON answer."""
    request = urllib.request.Request(  # noqa: S310 - our own test server
        base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def place_call(base: str, center: dict, call_id: str) -> None:
    """The switch: an IVR call that logs in with the card of ``center`` (the fixture) and asks for
    an agent, then reports the transfer to the queue on the CTI feed."""
    token = center["token"]
    switch_post(base, token, "/api/ivr/calls/", {"call_id": call_id, "ani": "13800000001", "dnis": "96123"})
    actions = []
    for seq, digits in enumerate(["1", center["card"], PHONE_PIN, "0"], start=1):
        actions = switch_post(
            base, token, f"/api/ivr/calls/{call_id}/events/", {"seq": seq, "type": "digits", "digits": digits}
        )["actions"]
    transfer = actions[-1]
    assert transfer["type"] == "transfer"
    now = datetime.now(UTC).isoformat()
    switch_post(
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
