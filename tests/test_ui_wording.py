"""Small things a user saw (issue 12, point 7): IVR nodes named, not keyed, in the reader's
language; the admin in Chinese; a favicon; a past work order by its number and state."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from ivr.labels import DEFAULT_NODE_TITLES, node_label, seeded_title
from org.roles import Role

pytest_plugins = ["ivr.tests.fixtures"]
pytestmark = pytest.mark.django_db


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_default_menu_nodes_are_named_in_the_readers_language_and_renamed_ones_as_typed(ivr_menu):
    from ivr.selectors import menu_tree_of

    titles = {node["key"]: node["title"] for node in menu_tree_of(ivr_menu)["nodes"]}
    assert titles["main"] == "主菜单" and titles["info_fees"] == "收费标准"  # seeded in Chinese
    assert set(titles) == set(DEFAULT_NODE_TITLES)
    from django.utils import translation

    with translation.override("en"):
        assert node_label("main", titles["main"]) == "Main menu"
        assert node_label("info_fees", titles["info_fees"]) == "Fee schedule"
        assert node_label("main", "假日菜单") == "假日菜单"  # the maintainer's own title
        assert node_label("holiday_special") == "holiday_special"  # no title: the key
    with translation.override("zh-hans"):
        assert node_label("main", seeded_title("main")) == "主菜单"


def test_ivr_statistics_page_names_nodes_and_has_no_developer_text(client_for, staff, caller, customer):
    call = caller()
    call.start()
    call.press("3"), call.press("2")  # financial information, fees
    client = client_for(staff[Role.ANALYST])
    html = client.get("/ivr/statistics/").content.decode()
    assert "金融信息" in html and "收费标准" in html and "主菜单" in html
    assert "机器可读" not in html and "/api/ivr/statistics/" not in html
    html = english(client).get("/ivr/statistics/").content.decode()
    assert "Financial information" in html and "Fee schedule" in html and "金融信息" not in html


def test_desktop_names_the_ivr_path_in_the_agents_language(client_for, staff, ivr_menu):
    client = client_for(staff[Role.AGENT])
    config = client.get("/agent/desktop/").context["config"]
    assert config["ivr_labels"]["main"] == "主菜单" and config["ivr_labels"]["agent"] == "人工服务"
    config = english(client).get("/agent/desktop/").context["config"]
    assert config["ivr_labels"]["main"] == "Main menu" and config["ivr_labels"]["info_scope"] == "Business scope"
    assert {"value": "closed", "label": "Closed"} in config["tickets"]["states"]


def test_admin_user_list_and_lockouts_are_in_chinese(client, staff):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    html = client.get("/admin/auth/user/").content.decode()
    headers = " ".join(re.findall(r'<th scope="col"[^>]*>.*?</th>', html, re.S))
    assert "角色" in headers and "单位" in headers
    index = client.get("/admin/").content.decode()
    assert "登录锁定" in index and "登录失败与锁定" in index
    assert "Access attempts" not in index and "Access logs" not in index and "Axes" not in index


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and b"".join(icon.streaming_content if icon.streaming else [icon.content])[:4] == (
        b"\x00\x00\x01\x00"
    )


def test_screen_pop_lists_past_work_orders_by_number_and_link(staff):
    from calls.selectors import _tickets
    from tests.factories_banking import AccountFactory
    from tickets.services.contacts import ticket_create

    customer = AccountFactory(opening_fen=0).customer
    ticket = ticket_create(
        actor=staff[Role.AGENT], kind="complaint", category="fees", description="多扣手续费", customer=customer
    )
    [row] = _tickets(staff[Role.AGENT], customer.pk)
    assert row["number"] == f"{ticket.pk:06d}" and row["url"] == f"/tickets/{ticket.pk}/"


def test_date_inputs_carry_iso_dates_in_chinese(client_for, staff, ivr_menu):
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    html = client_for(staff[Role.ANALYST]).get("/ivr/statistics/").content.decode()
    assert f'type="date" name="date_from" value="{today - timedelta(days=29):%Y-%m-%d}"' in html
    assert f'name="date_to" value="{today:%Y-%m-%d}"' in html


def test_simulator_names_the_queue_a_caller_is_transferred_to(client_for, staff, ivr_menu):
    from calls.demo import ensure_default_queues

    ensure_default_queues()
    client = client_for(staff[Role.MAINTAINER])
    texts = client.get("/ivr/simulator/").context["texts"]
    assert texts["queue_names"]["general"] == "综合业务" and texts["queue_names"]["card"] == "银行卡业务"
    texts = english(client).get("/ivr/simulator/").context["texts"]
    assert texts["queue_names"]["general"] == "General service"
