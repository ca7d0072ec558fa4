"""Simplified Chinese by default; English on request; every message translated."""

from pathlib import Path

import polib
import pytest
from django.conf import settings

from org.roles import Role

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese_even_for_an_english_browser(client):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "登录" in html and 'lang="zh-hans"' in html


def test_choosing_english_switches_the_ui(client_for, staff):
    client = client_for(staff[Role.AGENT])
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/agent/desktop/"})
    assert response.status_code == 302
    html = client.get("/agent/desktop/").content.decode()
    assert "Agent desktop" in html and "Ready" in html and 'lang="en"' in html and "座席工作台" not in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "座席工作台" in client.get("/agent/desktop/").content.decode()


def test_api_errors_follow_the_language(api_client):
    api_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    body = api_client.post("/api/auth/token/", {"username": "x", "password": "y"}, format="json").json()
    assert body["error"]["message"] == "用户名或密码错误。"


def test_chinese_catalog_is_complete():
    catalog = polib.pofile(str(Path(settings.BASE_DIR) / "locale/zh_Hans/LC_MESSAGES/django.po"))
    missing = [entry.msgid for entry in catalog.untranslated_entries() + catalog.fuzzy_entries()]
    assert missing == []
