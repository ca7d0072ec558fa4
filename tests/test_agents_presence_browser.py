"""Presence in Chromium (issue 12 point 3): an agent who closes the browser goes offline after
the (here shortened) disconnect delay, the team lead's wallboard shows them offline with the
reason, and the lead cannot set them ready again while no desktop is open. Chinese and English
screenshots of the wallboard."""

from __future__ import annotations

import pytest

from agents.models import AgentState, AgentStateLog, AgentStatus
from tests.test_calls_browser import SHOTS, asgi_server, browser, center, login  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OFFLINE_AFTER_S = 3


@pytest.fixture
def short_presence(monkeypatch):
    """The server's settings come from its environment: a 3 s disconnect delay, 1 s heartbeats."""
    monkeypatch.setenv("AGENTS_DISCONNECT_OFFLINE_S", str(OFFLINE_AFTER_S))
    monkeypatch.setenv("AGENTS_PRESENCE_HEARTBEAT_S", "1")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_agent_who_closes_the_browser_goes_offline_and_the_wallboard_shows_it(
    short_presence,
    browser,  # noqa: F811 - the fixture
    asgi_server,  # noqa: F811
    center,  # noqa: F811
    language,
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = asgi_server
    lead_context, wallboard = login(browser, base, "lead1", language)
    agent_context, desk = login(browser, base, "agent01", language)
    try:
        desk.wait_for_url(f"{base}/agent/desktop/")
        desk.wait_for_selector("#link.link-up")
        desk.click("#btn-ready")
        desk.wait_for_selector("#state-badge.state-ready")
        wallboard.wait_for_url(f"{base}/calls/wallboard/")
        row = 'tr[data-agent="agent01"]'
        wallboard.wait_for_selector(f"{row} .state-ready", timeout=5_000)
        assert wallboard.locator(f"{row} .no-desktop").count() == 0

        agent_context.close()  # the agent closes the browser: every desktop socket is gone
        wallboard.wait_for_selector(f"{row} .state-offline", timeout=(OFFLINE_AFTER_S + 12) * 1000)
        reason = "工作台已断开" if language == "zh-hans" else "Desktop disconnected"
        assert reason in wallboard.locator(row).inner_text()
        status = AgentStatus.objects.get(user=center["agent"])
        assert (status.state, status.reason) == (AgentState.OFFLINE, "disconnected")
        log = AgentStateLog.objects.filter(agent=center["agent"]).latest("started_at", "pk")
        assert (log.state, log.reason, log.previous_state) == ("offline", "disconnected", "ready")

        # The lead cannot put a seat nobody sits at back in the queue: the row says why.
        wallboard.locator(f"{row} select").first.select_option("ready")
        wallboard.locator(f"{row} button").first.click()
        refusal = "没有打开工作台" if language == "zh-hans" else "no desktop open"
        wallboard.wait_for_function(
            "([row, text]) => document.querySelector(row).innerText.includes(text)", arg=[row, refusal], timeout=5_000
        )
        assert AgentStatus.objects.get(user=center["agent"]).state == AgentState.OFFLINE
        wallboard.screenshot(path=str(SHOTS / f"wallboard-agent-disconnected-{language[:2]}.png"), full_page=True)
    finally:
        lead_context.close()


@pytest.fixture
def short_offer(monkeypatch):
    monkeypatch.setenv("CALLS_OFFER_TIMEOUT_S", "3")


def test_an_offer_that_times_out_clears_the_caller_panel(
    short_offer,
    browser,  # noqa: F811 - the fixture
    asgi_server,  # noqa: F811
    center,  # noqa: F811
):
    from tests.test_calls_browser import place_call

    base = asgi_server
    context, desk = login(browser, base, "agent01", "zh-hans")
    try:
        desk.wait_for_url(f"{base}/agent/desktop/")
        desk.wait_for_selector("#link.link-up")
        desk.click("#btn-ready")
        desk.wait_for_selector("#state-badge.state-ready")
        place_call(base, center, "presence-withdrawn-1")
        desk.wait_for_selector("#btn-answer", timeout=10_000)
        assert "张伟" in desk.locator("#pop-body").inner_text()
        # Not answered: the offer is withdrawn after 3 s; the banner and the caller panel clear.
        desk.wait_for_selector("#offer-withdrawn", timeout=15_000)
        assert "来电未及时接听" in desk.locator("#offer-withdrawn").inner_text()
        assert desk.locator("#btn-answer").count() == 0
        assert "张伟" not in desk.locator("#pop-body").inner_text()
        desk.screenshot(path=str(SHOTS / "agent-desktop-offer-withdrawn-zh.png"))
    finally:
        context.close()
