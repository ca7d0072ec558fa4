"""The default IVR menu of DESIGN.md §6 with its Mandarin prompts and information texts.

``seed_default_menu()`` is idempotent: it creates and publishes version 1 only when no version
is published yet (``seed_demo`` calls it; tests use it for the default menu).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from .labels import seeded_title
from .models import IvrCall, MenuVersion

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

DEFAULT_TREE: dict[str, Any] = {
    "root": "main",
    "prompts": DEFAULT_PROMPTS,
    "nodes": [
        {
            "key": "main",
            "kind": "menu",
            "prompt": "main_menu",
            "options": {"1": "account", "2": "loss", "3": "info", "0": "agent"},
        },
        {"key": "account", "kind": "auth", "next": "account_menu"},
        {
            "key": "account_menu",
            "kind": "menu",
            "prompt": "account_menu",
            "options": {"1": "balance", "2": "today", "3": "recent", "4": "transfer", "0": "agent", "*": "main"},
        },
        {"key": "balance", "kind": "balance", "next": "account_menu"},
        {"key": "today", "kind": "today_transactions", "next": "account_menu"},
        {"key": "recent", "kind": "recent_transactions", "next": "account_menu"},
        {"key": "transfer", "kind": "transfer", "next": "account_menu"},
        {"key": "loss", "kind": "loss_report", "next": "main"},
        {
            "key": "info",
            "kind": "menu",
            "prompt": "info_menu",
            "options": {"1": "info_rates", "2": "info_fees", "3": "info_scope", "*": "main"},
        },
        {"key": "info_rates", "kind": "info", "text": INFO_DEPOSIT_RATES, "next": "info"},
        {"key": "info_fees", "kind": "info", "text": INFO_FEES, "next": "info"},
        {"key": "info_scope", "kind": "info", "text": INFO_BUSINESS_SCOPE, "next": "info"},
        {"key": "agent", "kind": "agent", "prompt": "to_agent", "queue": "general"},
    ],
}


def default_tree() -> dict[str, Any]:
    """The default menu, its nodes titled in Chinese (``ivr.labels`` shows them in the reader's language)."""
    tree = copy.deepcopy(DEFAULT_TREE)
    for node in tree["nodes"]:
        node["title"] = seeded_title(node["key"])
    return tree


@transaction.atomic
def seed_default_menu() -> MenuVersion:
    """The published menu; creates and publishes the default one if none is published."""
    from .services import menu_version_create, menu_version_publish

    published = MenuVersion.objects.select_for_update().filter(status=MenuVersion.Status.PUBLISHED).first()
    if published is not None:
        return published
    version = menu_version_create(tree=default_tree(), note="默认菜单")
    return menu_version_publish(version=version)


# --- History ---------------------------------------------------------------------------------------

# What the seeded history's callers did in the IVR before hanging up (relative weights): most check
# a balance or their transactions, some hear the financial information, a few transfer or report
# a loss, and some hang up at the main menu. Every node entered is in the path, as the engine
# records it (``IvrEngine.enter``).
SELF_SERVICE_PATHS = (
    (("main", "account", "account_menu", "balance", "account_menu"), 30),
    (("main", "account", "account_menu", "today", "account_menu"), 10),
    (("main", "account", "account_menu", "recent", "account_menu"), 12),
    (("main", "account", "account_menu", "balance", "account_menu", "recent", "account_menu"), 6),
    (("main", "account", "account_menu", "transfer", "account_menu"), 6),
    (("main", "loss", "main"), 4),
    (("main", "info", "info_rates", "info"), 14),
    (("main", "info", "info_fees", "info"), 7),
    (("main", "info", "info_scope", "info"), 4),
    (("main",), 7),
)
# Callers who ask for an agent: at once, or after trying the account services or the information.
AGENT_PATHS_VERIFIED = (
    (("main", "account", "account_menu", "agent"), 70),
    (("main", "account", "account_menu", "balance", "account_menu", "agent"), 30),
)
AGENT_PATHS_UNVERIFIED = (
    (("main", "agent"), 80),
    (("main", "info", "info_fees", "info", "main", "agent"), 12),
    (("main", "account", "main", "agent"), 8),  # gave up at the login
)


@dataclass(frozen=True)
class HistoryCall:
    """One IVR call of the seeded history, as ``calls.demo`` generates the matching CDR."""

    call_id: str
    ani: str
    dnis: str
    started_at: datetime
    ended_at: datetime
    path: tuple[str, ...]
    to_agent: str  # the queue the caller went to, "" when the IVR served them
    verified: bool
    customer_id: int | None
    auth_failures: int


def _weighted(rng: random.Random, choices) -> tuple[str, ...]:
    paths, weights = zip(*choices, strict=True)
    return rng.choices(paths, weights=weights)[0]


def history_path(rng: random.Random, *, to_agent: bool, verified: bool) -> tuple[str, ...]:
    if to_agent:
        return _weighted(rng, AGENT_PATHS_VERIFIED if verified else AGENT_PATHS_UNVERIFIED)
    return _weighted(rng, SELF_SERVICE_PATHS)


def seed_ivr_history(calls: list[HistoryCall]) -> int:
    """Store the IVR side of history calls (ended, on the published menu); returns how many."""
    version = seed_default_menu()
    rows = [
        IvrCall(
            call_id=call.call_id,
            ani=call.ani,
            dnis=call.dnis,
            version=version,
            node=call.path[-1],
            path=list(call.path),
            verified=call.verified,
            customer_id=call.customer_id,
            auth_failures=call.auth_failures,
            last_seq=len(call.path) * 2,
            ended=True,
            outcome=IvrCall.Outcome.AGENT if call.to_agent else IvrCall.Outcome.HANGUP,
            queue=call.to_agent,
            started_at=call.started_at,
            ended_at=call.ended_at,
        )
        for call in calls
    ]
    # ``started_at`` is stamped on insert for live calls; history keeps the time it is given.
    started_at = IvrCall._meta.get_field("started_at")
    started_at.auto_now_add = False
    try:
        IvrCall.objects.bulk_create(rows, batch_size=2000)
    finally:
        started_at.auto_now_add = True
    return len(rows)
