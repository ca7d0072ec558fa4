"""The default IVR menu of DESIGN.md §6 with its Mandarin prompts and information texts.

``seed_default_menu()`` is idempotent: it creates and publishes version 1 only when no version
is published yet (``seed_demo`` calls it; tests use it for the default menu).
"""

from __future__ import annotations

import copy

from django.db import transaction

from .models import MenuVersion

DEFAULT_PROMPTS = {
    "welcome": "您好，欢迎致电农村合作银行客户服务中心。",
    "announcement": "{text}",
    "main_menu": "账户服务请按1，口头挂失请按2，金融信息查询请按3，人工服务请按0。",
    "enter_number": "请输入您的卡号或账号，以井号键结束。",
    "enter_password": "请输入{password_name}，以井号键结束。",
    "auth_failed": "您输入的账号或密码有误，请重新输入。",
    "locked": "您的电话银行密码输错次数过多，已被锁定，请携带有效身份证件到营业网点或致电人工服务办理解锁。",
    "not_registered": "该账户尚未开通电话银行服务，请携带有效身份证件到营业网点办理。",
    "account_menu": (
        "查询余额请按1，查询当日交易请按2，查询近期交易请按3，转账请按4，人工服务请按0，返回上级菜单请按星号键。"
    ),
    "balance": "您的账户可用余额为{balance}元。",
    "transactions": "共查询到{count}笔交易。{items}",
    "enter_target": "请输入转入账户的两位账户编码，或完整的卡号、账号，以井号键结束。",
    "enter_amount": "请输入转账金额，单位为元，小数点请按星号键，以井号键结束。",
    "transfer_confirm": "您将向账户{target}转账{amount}元。确认请按1，取消请按2。",
    "transfer_done": "转账成功，转出金额{amount}元，账户余额{balance}元。",
    "transfer_refused": "转账未能办理：{reason_text}。",
    "loss_done": "口头挂失已受理，有效期至{valid_until}。请在有效期内携带有效身份证件到营业网点办理正式挂失。",
    "loss_refused": "口头挂失未能办理：{reason_text}。",
    "info_menu": "存款利率请按1，收费标准请按2，业务范围请按3，返回上级菜单请按星号键。",
    "info": "{text}",
    "to_agent": "正在为您转接人工服务，请稍候。",
    "invalid": "输入有误，请重新输入。",
    "goodbye": "感谢您的来电，再见。",
}

INFO_DEPOSIT_RATES = (
    "人民币存款挂牌年利率：活期百分之零点一五；整存整取三个月百分之一点零五，半年百分之一点二五，"
    "一年百分之一点三五，二年百分之一点四五，三年百分之一点七五，五年百分之一点八。"
    "具体以营业网点当日公告为准。"
)
INFO_FEES = (
    "电话银行查询、转账和口头挂失免收手续费。借记卡年费和小额账户管理费已免收；"
    "本行借记卡在本行自助设备取款免费，跨行取款每笔收费二元。具体收费标准以营业网点公示为准。"
)
INFO_BUSINESS_SCOPE = (
    "本行办理人民币存款、贷款、结算，借记卡，代理收付，电话银行和短信通等业务。详情请咨询就近营业网点或按0转人工服务。"
)

DEFAULT_TREE = {
    "root": "main",
    "prompts": DEFAULT_PROMPTS,
    "nodes": [
        {
            "key": "main",
            "kind": "menu",
            "title": "主菜单",
            "prompt": "main_menu",
            "options": {"1": "account", "2": "loss", "3": "info", "0": "agent"},
        },
        {"key": "account", "kind": "auth", "title": "账户服务登录", "next": "account_menu"},
        {
            "key": "account_menu",
            "kind": "menu",
            "title": "账户服务",
            "prompt": "account_menu",
            "options": {"1": "balance", "2": "today", "3": "recent", "4": "transfer", "0": "agent", "*": "main"},
        },
        {"key": "balance", "kind": "balance", "title": "余额查询", "next": "account_menu"},
        {"key": "today", "kind": "today_transactions", "title": "当日交易", "next": "account_menu"},
        {"key": "recent", "kind": "recent_transactions", "title": "近期交易", "next": "account_menu"},
        {"key": "transfer", "kind": "transfer", "title": "转账", "next": "account_menu"},
        {"key": "loss", "kind": "loss_report", "title": "口头挂失", "next": "main"},
        {
            "key": "info",
            "kind": "menu",
            "title": "金融信息",
            "prompt": "info_menu",
            "options": {"1": "info_rates", "2": "info_fees", "3": "info_scope", "*": "main"},
        },
        {"key": "info_rates", "kind": "info", "title": "存款利率", "text": INFO_DEPOSIT_RATES, "next": "info"},
        {"key": "info_fees", "kind": "info", "title": "收费标准", "text": INFO_FEES, "next": "info"},
        {"key": "info_scope", "kind": "info", "title": "业务范围", "text": INFO_BUSINESS_SCOPE, "next": "info"},
        {"key": "agent", "kind": "agent", "title": "人工服务", "prompt": "to_agent", "queue": "general"},
    ],
}


def default_tree() -> dict:
    return copy.deepcopy(DEFAULT_TREE)


@transaction.atomic
def seed_default_menu() -> MenuVersion:
    """The published menu; creates and publishes the default one if none is published."""
    from .services import menu_version_create, menu_version_publish

    published = MenuVersion.objects.select_for_update().filter(status=MenuVersion.Status.PUBLISHED).first()
    if published is not None:
        return published
    version = menu_version_create(tree=default_tree(), note="默认菜单")
    return menu_version_publish(version=version)
