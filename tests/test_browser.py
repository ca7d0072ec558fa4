"""Every role logs in through the real login page in Chromium and lands on its home, in Chinese
and in English (Playwright driving Debian's chromium)."""

import os
import shutil
from pathlib import Path

import pytest

from org.roles import Role
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"

# (fixture key, username, home path, Chinese heading, English heading)
ROLES = [
    (Role.AGENT, "/agent/desktop/", "座席工作台", "Agent desktop"),
    (Role.TEAM_LEAD, "/calls/wallboard/", "监控大屏", "Wallboard"),
    ("unit_staff_b01", "/tickets/inbox/", "工单收件箱", "Work-order inbox"),
    (Role.DIRECTOR, "/reports/dashboard/", "运营看板", "Dashboard"),
    (Role.MAINTAINER, "/config/", "系统配置", "System configuration"),
    (Role.ANALYST, "/tickets/", "工单管理", "Work orders"),
    (Role.RISK_OFFICER, "/risk/alerts/", "风险预警", "Risk alerts"),
]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (apt-get install chromium); .ci/run installs it")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
    # body (fixtures) are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield chromium
        chromium.close()


@pytest.mark.parametrize(("who", "home", "heading_zh", "heading_en"), ROLES)
def test_role_logs_in_and_lands_on_its_home_in_chinese_and_english(
    browser, live_server, staff, who, home, heading_zh, heading_en
):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        assert page.locator("h1").inner_text() == "登录"  # Chinese although the browser asks for English
        page.fill("#id_username", staff[who].username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}{home}")
        assert page.locator("main h1").inner_text() == heading_zh
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{staff[who].username}-zh.png"))

        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        assert page.locator("main h1").inner_text() == heading_en
        assert page.locator("html").get_attribute("lang") == "en"
        page.screenshot(path=str(SHOTS / f"{staff[who].username}-en.png"))
    finally:
        context.close()


def test_wrong_password_shows_the_error_in_the_browser(browser, live_server, staff):
    page = browser.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "director")
        page.fill("#id_password", "not-the-password")
        page.click("button[type=submit]")
        assert "用户名或密码错误" in page.locator("[role=alert]").inner_text()
    finally:
        page.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("who", [Role.DIRECTOR, Role.TEAM_LEAD, Role.MAINTAINER])
def test_every_menu_item_is_in_view_on_a_1366_pixel_screen(browser, live_server, staff, who, language):
    """The roles with the longest menus, in both languages: every item lies inside the menu's box
    and the menu clear of the name and language on its right — none hidden behind a scroll
    (the English menu of the director and the team lead lost its last items that way)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", staff[who].username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.locator("main h1").wait_for()
        placed = page.evaluate(
            """() => {
              const nav = document.querySelector('.mainnav').getBoundingClientRect();
              const right = document.querySelector('.topbar-right').getBoundingClientRect();
              const items = [...document.querySelectorAll('.mainnav a')].map(a => {
                const r = a.getBoundingClientRect();
                return [a.textContent.trim(), r.left >= nav.left - 1 && r.right <= nav.right + 1
                        && r.top >= nav.top - 1 && r.bottom <= nav.bottom + 1 && r.right <= right.left];
              });
              return {items, clear: nav.right <= right.left + 1};
            }"""
        )
        assert len(placed["items"]) >= 5 and placed["clear"]
        assert [label for label, inside in placed["items"] if not inside] == []
    finally:
        context.close()
