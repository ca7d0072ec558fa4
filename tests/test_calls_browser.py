"""The agent desktop in Chromium: a call started through the IVR API pops up on the agent's page
over the websocket with the verified caller's accounts, and the agent answers, hangs up and wraps
it up; the team lead's wallboard shows it live. Chinese and English screenshots.

Websockets need an ASGI server (pytest-django's live server is WSGI only): ``asgi_server`` of
``tests/browser_fixtures.py``, uvicorn in a subprocess against the PostgreSQL test database.
"""

from __future__ import annotations

import time

import pytest

from calls.models import Call
from tests.browser_helpers import SHOTS, login, place_call

pytest_plugins = ["tests.browser_fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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
