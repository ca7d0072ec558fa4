"""Issue 12 point 1 in Chromium, end to end: an unidentified caller's ATM complaint. The agent
finds the customer on the desktop (the card number typed into the search, sent in a POST body) and
links them as the caller; the wrap-up leaves a notice with the work order's number that stays until
dismissed; the analyst dispatches it, the branch confirms ¥200, a satisfied callback leaves it
awaiting the adjustment (the money still shows as owed), the analyst posts it to the customer's
card and only then is it closed — without the 确认调账 button any more. Screenshots under
var/screenshots/ (money-owed-*.png).

Runs against uvicorn on PostgreSQL like tests/test_calls_browser.py (websockets need ASGI)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.authtoken.models import Token

from agents.models import AgentSkill, AgentState, AgentStatus
from banking.models import Customer
from calls.demo import ensure_default_queues
from org.roles import Role
from tests.test_calls_browser import SHOTS, _switch, asgi_server, browser, login  # noqa: F401 - fixtures
from tickets.models import State, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ANI = "13700000077"  # nobody's number: the caller is not recognised


@pytest.fixture
def scene(staff):
    from tests.factories_banking import AccountFactory
    from tickets.services.calendar import calendar_sync_from_package

    calendar_sync_from_package(years=[2025, 2026, 2027])
    queues = ensure_default_queues()
    card = AccountFactory(opening_fen=100_000)
    Customer.objects.filter(pk=card.customer_id).update(name="李娜", mobile="13800000002")
    agent = staff[Role.AGENT]
    AgentSkill.objects.create(agent=agent, queue=queues["general"], level=4)
    AgentStatus.objects.create(user=agent, state=AgentState.OFFLINE, since=datetime.now(UTC))
    return {"card": card, "token": Token.objects.create(user=staff[Role.SWITCH]).key}


def _ring(base: str, token: str, call_id: str) -> None:
    now = datetime.now(UTC).isoformat()
    _switch(
        base,
        token,
        "/api/cti/events/",
        [
            {"event_id": f"{call_id}-offered", "call_id": call_id, "type": "offered", "ts": now, "ani": ANI},
            {"event_id": f"{call_id}-queued", "call_id": call_id, "type": "queued", "ts": now, "queue": "general"},
        ],
    )


def _login(browser, base: str, username: str):  # noqa: F811
    context, page = login(browser, base, username, "zh-hans")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return context, page


def _act(page, action: str) -> None:
    with page.expect_navigation():
        page.click(f'form[action$="/do/{action}/"] button[type=submit]')


def test_unknown_callers_refund_is_linked_posted_then_closed(browser, asgi_server, scene):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    base, card = asgi_server, scene["card"]
    agent_context, desk = _login(browser, base, "agent")
    try:
        desk.wait_for_url(f"{base}/agent/desktop/")
        desk.wait_for_selector("#link.link-up")
        desk.click("#btn-ready")
        desk.wait_for_selector("#state-badge.state-ready")
        _ring(base, scene["token"], "money-1")
        desk.wait_for_selector("#btn-answer", timeout=10_000)
        assert "李娜" not in desk.locator("#pop-body").inner_text()
        desk.click("#btn-answer")
        desk.wait_for_selector("#state-badge.state-on_call")

        # Customer search in the screen-pop: the card number goes in a POST body, never a URL.
        desk.wait_for_selector("#customer-search", timeout=5_000)
        search_urls = []
        desk.on("request", lambda request: search_urls.append((request.method, request.url)))
        desk.fill("#customer-q", card.number)
        desk.click("#customer-search button[type=submit]")
        desk.wait_for_selector("#btn-this-caller", timeout=5_000)
        assert all(card.number not in url for _method, url in search_urls)
        assert ("POST", f"{base}/api/banking/customers/search/") in search_urls
        desk.screenshot(path=str(SHOTS / "money-owed-desktop-search-zh.png"))
        desk.click("#btn-this-caller")
        desk.wait_for_function("document.querySelector('#pop-body .caller-name').textContent.includes('李娜')")
        assert "座席关联的客户" in desk.locator("#pop-body").inner_text()
        assert card.number not in desk.content()

        desk.click("#btn-hangup")
        desk.wait_for_selector("#wrapup-form")
        desk.select_option("#wrapup-disposition", "complaint")
        desk.select_option("#wrapup-form select[name=category]", "atm_mispost")
        desk.fill("#wrapup-form textarea[name=description]", "ATM取款200元未出钞，账户已扣款")
        desk.click("#btn-wrapup")
        desk.wait_for_selector(".notice-record", timeout=5_000)
        ticket = Ticket.objects.get(call_id="money-1")
        notice = desk.locator(".notice-record").inner_text()
        assert f"工单号 {ticket.number}" in notice
        assert desk.locator(".notice-record a").get_attribute("href") == f"/tickets/{ticket.pk}/"
        assert (ticket.customer_id, ticket.caller_number) == (card.customer_id, ANI)
        desk.screenshot(path=str(SHOTS / "money-owed-desktop-notice-zh.png"))
        desk.reload()  # the notice stays until dismissed
        desk.wait_for_selector(".notice-record")
        desk.click(f"#btn-dismiss-{ticket.pk}")
        assert desk.locator(".notice-record").count() == 0
    finally:
        agent_context.close()

    # The analyst dispatches to B01; the branch confirms ¥200.
    analyst_context, analyst = _login(browser, base, "analyst")
    branch_context, branch = _login(browser, base, "branch01")
    agent_context, agent = _login(browser, base, "agent")
    try:
        analyst.goto(f"{base}/tickets/{ticket.pk}/")
        assert "来电号码" in analyst.content() and ANI in analyst.locator("#ticket-caller").inner_text()
        analyst.select_option('form[action$="/do/dispatch/"] select[name=unit]', "B01")
        _act(analyst, "dispatch")
        branch.goto(f"{base}/tickets/{ticket.pk}/")
        branch.fill('form[action$="/do/reply/"] textarea[name=result]', "核实ATM长款200元，同意调账")
        branch.fill('form[action$="/do/reply/"] input[name=adjustment_amount]', "200")
        _act(branch, "reply")
        assert Ticket.objects.get(pk=ticket.pk).adjustment_confirmed_fen == 20_000

        # A satisfied callback does not close it: the money is still owed.
        agent.goto(f"{base}/tickets/{ticket.pk}/")
        _act(agent, "callback")
        assert Ticket.objects.get(pk=ticket.pk).state == State.AWAITING_ADJUSTMENT
        assert agent.locator("#money-owed").count() == 1 and "待调账" in agent.content()
        assert agent.locator("#adjust-form").count() == 0  # not the agent's to post

        analyst.goto(f"{base}/tickets/{ticket.pk}/")
        assert analyst.locator("#money-owed").count() == 1
        assert analyst.locator('form[action$="/do/close/"]').count() == 0
        options = analyst.locator("#adjust-form select[name=account] option").all_inner_texts()
        assert any(card.number[:6] in text and card.number[-4:] in text for text in options)
        analyst.screenshot(path=str(SHOTS / "money-owed-ticket-awaiting-zh.png"), full_page=True)
        _act(analyst, "adjust")
        ticket = Ticket.objects.get(pk=ticket.pk)
        card.refresh_from_db()
        assert ticket.state == State.CLOSED and card.balance_fen == 120_000
        assert analyst.locator("#adjust-form").count() == 0 and analyst.locator("#money-owed").count() == 0
        assert "已入账" in analyst.locator("#adjustment-status").inner_text()
        analyst.screenshot(path=str(SHOTS / "money-owed-ticket-closed-zh.png"), full_page=True)
    finally:
        analyst_context.close()
        branch_context.close()
        agent_context.close()
