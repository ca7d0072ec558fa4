"""The IVR simulator reaches an agent, in Chromium: a team lead places a test call that asks for an
agent; it is queued and rung on a READY agent's desktop with a screen-pop marked as a test call;
the simulator page follows it (ringing, answered) and the tester hangs up. A test transfer on the
way says it was simulated. Chinese and English screenshots.

Runs on the ASGI server of ``tests/test_calls_browser.py`` (websockets; PostgreSQL)."""

from __future__ import annotations

import pytest

from agents.models import AgentState, AgentStatus
from calls.models import Call
from tests.test_calls_browser import SHOTS, asgi_server, browser, center, login  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE_PIN = "123456"


def keys(page, digits: str) -> None:
    for digit in digits:
        page.click(f".keypad .key[data-key='{digit}']")


def ready_agent(browser, base):  # noqa: F811 - the fixture's value
    context, page = login(browser, base, "agent01", "zh-hans")
    page.wait_for_url(f"{base}/agent/desktop/")
    page.wait_for_selector("#link.link-up")
    page.click("#btn-ready")
    page.wait_for_selector("#state-badge.state-ready")
    return context, page


def test_a_simulator_call_reaches_a_ready_agent_as_a_test_call(browser, asgi_server, center):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = asgi_server
    agent_context, desk = ready_agent(browser, base)
    sim_context, sim = login(browser, base, "lead1", "zh-hans")
    try:
        sim.goto(f"{base}/ivr/simulator/")
        assert "模拟，未实际记账" not in sim.content()
        sim.click("#sim-call")
        sim.wait_for_selector(".keypad .key:not([disabled])")

        # A transfer on the way: said as a real one would be, and marked as simulated.
        keys(sim, "1")
        keys(sim, center["card"] + "#")
        keys(sim, PHONE_PIN + "#")
        sim.wait_for_selector("#st-verified:has-text('已验证')", timeout=5_000)
        keys(sim, "4")
        keys(sim, "01#")
        keys(sim, "100#")
        keys(sim, "1")
        sim.wait_for_selector(".sim-simulated", timeout=5_000)
        assert "模拟，未实际记账" in sim.locator(".sim-simulated").last.inner_text()

        # To an agent: the call is queued and rings agent01, whose screen-pop says test call.
        keys(sim, "0")
        desk.wait_for_selector("#btn-answer", timeout=10_000)
        desk.wait_for_selector("#test-call-badge")
        assert "测试来电" in desk.locator("#pop-body").inner_text()
        assert "测试来电" in desk.locator("#call-body").inner_text()
        sim.wait_for_selector(".sim-queue:has-text('agent01')", timeout=10_000)
        assert sim.locator("#sim-hangup").is_enabled()
        desk.screenshot(path=str(SHOTS / "agent-desktop-test-call-zh.png"))
        sim.screenshot(path=str(SHOTS / "ivr-simulator-to-agent-zh.png"), full_page=True)

        call = Call.objects.get(call_id__startswith="sim-")
        assert call.is_test and call.state == "offered" and call.agent == center["agent"]

        desk.click("#btn-answer")
        desk.wait_for_selector("#state-badge.state-on_call")
        sim.wait_for_selector(".sim-queue:has-text('已接听')", timeout=10_000)
        sim.click("#sim-hangup")
        desk.wait_for_selector("#wrapup-form", timeout=10_000)
        sim.wait_for_selector("#sim-call:not([disabled])")
        call.refresh_from_db()
        assert call.state == "ended" and call.end_reason == "caller_hangup"
        assert AgentStatus.objects.get(user=center["agent"]).state == AgentState.ACW

        # English: the same badge and the same follow-up on the page.
        desk.select_option("#wrapup-disposition", "resolved")
        desk.click("#btn-wrapup")
        desk.wait_for_selector("#state-badge.state-ready", timeout=10_000)
        with sim.expect_navigation():
            sim.select_option("#lang-select", "en")
        with desk.expect_navigation():
            desk.select_option("#lang-select", "en")
        desk.wait_for_selector("#link.link-up")
        desk.wait_for_selector("#state-badge.state-ready", timeout=10_000)  # still ready after the wrap-up
        sim.click("#sim-call")
        sim.wait_for_selector(".keypad .key:not([disabled])")
        keys(sim, "0")
        desk.wait_for_selector("#test-call-badge", timeout=10_000)
        assert "Test call" in desk.locator("#pop-body").inner_text()
        sim.wait_for_selector(".sim-queue:has-text('agent01')", timeout=10_000)
        desk.screenshot(path=str(SHOTS / "agent-desktop-test-call-en.png"))
        sim.screenshot(path=str(SHOTS / "ivr-simulator-to-agent-en.png"), full_page=True)
        sim.click("#sim-hangup")
        sim.wait_for_selector("#sim-call:not([disabled])", timeout=10_000)
    finally:
        agent_context.close()
        sim_context.close()
