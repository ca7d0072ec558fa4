"""The work-order pages in Chromium: the branch inbox and the analyst's list, in Chinese and in
English, with screenshots under var/screenshots/ (tickets-*.png)."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from org.roles import Role
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture(scope="module")
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


@pytest.fixture
def work_orders(staff, settings, tmp_path):
    """A branch's inbox with every open state, one overdue and one due tomorrow."""
    from tests.factories_banking import AccountFactory, CustomerFactory
    from tickets.models import Category
    from tickets.services.attachments import ticket_attachment_add
    from tickets.services.calendar import calendar_sync_from_package
    from tickets.services.contacts import ticket_create
    from tickets.services.escalation import tickets_escalate
    from tickets.services.pauses import ticket_pause
    from tickets.services.workflow import ticket_accept, ticket_dispatch, ticket_reply, ticket_review

    settings.TICKETS_ATTACHMENT_ROOT = tmp_path
    calendar_sync_from_package(years=[2025, 2026])
    analyst, agent, branch = staff[Role.ANALYST], staff[Role.AGENT], staff["unit_staff_b01"]
    now = timezone.now()
    names = ["张伟", "李娜", "王强", "赵敏", "刘洋", "陈静"]
    customers = [CustomerFactory(name=name, mobile=f"1380000{index:04d}") for index, name in enumerate(names)]
    AccountFactory(customer=customers[0], opening_fen=500_000)
    specs = [
        (Category.ATM_MISPOST, 12, "dispatched", "客户在东丽区中心分理处ATM取款500元，机器未出钞但账户已扣款。"),
        (Category.REFUND_POSTING, 4, "in_progress", "客户在商场刷卡消费后办理退货，商户称已退款300元，至今未到账。"),
        (Category.SERVICE_ATTITUDE, 3, "paused", "客户反映新华分理处柜员服务态度生硬。"),
        (Category.FEES, 2, "replied", "客户对借记卡年费扣收有异议。"),
        (Category.POS_PRIZE, 1, "dispatched", "客户参加POS刷卡消费抽奖活动中奖200元，奖金尚未到账。"),
        (Category.OTHER, 0, "returned", "客户反映自助设备故障。"),
    ]
    for index, (category, days, state, text) in enumerate(specs):
        ticket = ticket_create(
            actor=agent,
            kind="complaint",
            category=category,
            description=text,
            customer=customers[index],
            received_at=now - timedelta(days=days, hours=2),
        )
        ticket = ticket_dispatch(ticket=ticket, actor=analyst, unit_code="B01")
        if state == "in_progress":
            ticket_accept(ticket=ticket, actor=branch)
        if state == "paused":
            ticket_pause(ticket=ticket, actor=branch, reason="等待监控调取")
        if state in ("replied", "returned"):
            ticket_reply(ticket=ticket, actor=branch, result="已向客户解释", resolved=True)
        if state == "returned":
            ticket_review(ticket=ticket, actor=analyst, accepted=False, note="请补充整改措施")
        if index == 0:
            ticket_attachment_add(
                ticket=ticket,
                actor=branch,
                upload=SimpleUploadedFile("凭条.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
            )
    ticket_create(actor=agent, kind="consultation", category=Category.OTHER, description="咨询存款利率")
    ticket_dispatch(
        ticket=ticket_create(actor=agent, kind="complaint", category=Category.FEES, description="短信通收费"),
        actor=analyst,
        unit_code="B02",
    )
    tickets_escalate()


def _login(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


def _switch_to_english(page):
    with page.expect_navigation():
        page.select_option("#lang-select", "en")


def test_branch_inbox_in_chinese_and_english(browser, live_server, staff, work_orders):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _login(browser, live_server, staff["unit_staff_b01"].username)
    try:
        page.wait_for_url(f"{live_server.url}/tickets/inbox/")
        assert page.locator("main h1").inner_text() == "工单收件箱"
        assert page.locator("tr.overdue").count() == 1
        assert "已超期" in page.locator("tr.overdue").inner_text()
        assert "短信通收费" not in page.content()  # B02's work order
        page.screenshot(path=str(SHOTS / "tickets-inbox-zh.png"), full_page=True)
        page.locator("tr.overdue a").first.click()
        page.wait_for_load_state()
        assert "回复中心" in page.content()
        page.screenshot(path=str(SHOTS / "tickets-detail-branch-zh.png"), full_page=True)
        page.goto(f"{live_server.url}/tickets/inbox/")
        _switch_to_english(page)
        assert page.locator("main h1").inner_text() == "Work-order inbox"
        page.screenshot(path=str(SHOTS / "tickets-inbox-en.png"), full_page=True)
    finally:
        context.close()


def test_analyst_list_in_chinese_and_english(browser, live_server, staff, work_orders):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page = _login(browser, live_server, staff[Role.ANALYST].username)
    try:
        page.wait_for_url(f"{live_server.url}/tickets/")
        assert page.locator("main h1").inner_text() == "工单管理"
        assert page.locator("tr.overdue").count() == 1
        assert "已超期" in page.locator("tr.overdue").inner_text()
        page.screenshot(path=str(SHOTS / "tickets-list-zh.png"), full_page=True)
        page.locator("tr.overdue a").first.click()
        page.wait_for_load_state()
        page.screenshot(path=str(SHOTS / "tickets-detail-analyst-zh.png"), full_page=True)
        page.goto(f"{live_server.url}/tickets/")
        _switch_to_english(page)
        assert page.locator("main h1").inner_text() == "Work orders"
        page.screenshot(path=str(SHOTS / "tickets-list-en.png"), full_page=True)
        page.goto(f"{live_server.url}/tickets/calendar/?year=2027")
        page.screenshot(path=str(SHOTS / "tickets-calendar-en.png"), full_page=True)
    finally:
        context.close()
