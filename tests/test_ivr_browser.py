"""The IVR simulator in Chromium: an agent places a test call and completes a balance query;
screenshots of the simulator and of the menu editor in Chinese and English."""

import os
import shutil
from pathlib import Path

import pytest

from ivr.demo import seed_default_menu
from ivr.tests.helpers import PHONE_PIN
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
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def log_in(page, base_url: str, username: str):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def keys(page, digits: str):
    for digit in digits:
        page.click(f".keypad .key[data-key='{digit}']")


def test_the_simulator_completes_a_balance_query(browser, live_server, staff, media):
    from tests.factories_banking import phone_banking

    seed_default_menu()
    customer = phone_banking(card_fen=5_000_000, linked_fen=(100_000,), pin=PHONE_PIN)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = context.new_page()
    try:
        log_in(page, live_server.url, staff[Role.AGENT].username)
        audio = []
        page.on(
            "response",
            lambda response: (
                audio.append((response.status, response.headers.get("content-type")))
                if "/audio/" in response.url
                else None
            ),
        )
        page.goto(f"{live_server.url}/ivr/simulator/")
        assert page.locator("main h1").inner_text() == "语音导航模拟器"
        page.click("#sim-call")
        page.wait_for_selector("#sim-log li:has-text('main_menu')")
        assert page.locator("#st-node").inner_text() == "main"
        keys(page, "1")
        page.wait_for_selector("#sim-log li:has-text('enter_number')")
        keys(page, customer.card.number + "#")
        page.wait_for_selector("#sim-log li:has-text('enter_password')")
        keys(page, PHONE_PIN)
        assert page.locator("#sim-display").inner_text() == "•" * len(PHONE_PIN)  # the password is not shown
        keys(page, "#")
        page.wait_for_selector("#sim-log li:has-text('account_menu')")
        keys(page, "1")
        page.wait_for_selector("#sim-log li:has-text('50000.00')")
        assert page.locator("#st-verified").inner_text() == "已验证"
        assert '"balance": "50000.00"' in page.locator("#st-data").inner_text()
        transcript = page.locator("#sim-log").inner_text()
        assert PHONE_PIN not in transcript and customer.card.number not in transcript  # masked
        # The page played the prompts: their WAVs were fetched and served as audio.
        assert any(status in (200, 206) and kind == "audio/wav" for status, kind in audio), audio
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "ivr-simulator-zh.png"), full_page=True)
        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        assert page.locator("main h1").inner_text() == "IVR simulator"
        page.click("#sim-call")
        page.wait_for_selector("#sim-log li:has-text('main_menu')")
        page.screenshot(path=str(SHOTS / "ivr-simulator-en.png"), full_page=True)
        page.click("#sim-hangup")
        page.wait_for_selector("#sim-display:has-text('The call has ended.')")
    finally:
        context.close()


def test_the_menu_editor_in_chinese_and_english(browser, live_server, staff):
    version = seed_default_menu()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        log_in(page, live_server.url, staff[Role.MAINTAINER].username)
        page.goto(f"{live_server.url}/ivr/menus/")
        assert page.locator("main h1").inner_text() == "语音菜单"
        page.click("button:has-text('以此新建草稿')")
        page.wait_for_selector("main h1:has-text('v2')")
        page.click("#node-main button:has-text('编辑')")
        page.wait_for_selector("#node-main select[name=option_1]")
        page.screenshot(path=str(SHOTS / "ivr-menu-editor-zh.png"))
        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        assert "IVR menu v2" in page.locator("main h1").inner_text()
        page.screenshot(path=str(SHOTS / "ivr-menu-editor-en.png"))
        page.goto(f"{live_server.url}/ivr/menus/")
        page.screenshot(path=str(SHOTS / "ivr-menu-list-en.png"), full_page=True)
        assert version.pk
    finally:
        context.close()
