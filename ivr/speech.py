"""What the IVR says around the editable prompts: Mandarin voice content, not UI text.

The caller hears Mandarin whatever language a staff member picked for the web pages, so these
phrases are data (like the prompt texts in the database), not gettext messages.
"""

from __future__ import annotations

import string
from datetime import datetime

# Spoken reasons for a refused transfer or loss report, by error code.
REASON_TEXT = {
    "insufficient_funds": "账户余额不足",
    "not_linked": "转入账户不是您的注册账户或下挂账户",
    "not_registered": "该账户未开通电话银行",
    "account_lost": "账户已口头挂失",
    "account_blocked": "账户已冻结或已销户",
    "limit_exceeded": "转账金额超过限额",
    "invalid_amount": "金额输入有误",
    "same_account": "转出和转入账户相同",
    "locked": "电话银行已锁定",
    "account_not_found": "账户不存在",
    "wrong_password": "密码错误",
    "idempotency_conflict": "交易重复",
}
DEFAULT_REASON_TEXT = "暂时无法办理"

PASSWORD_NAMES = {"phone_banking": "电话银行密码", "withdrawal": "取款密码"}


def reason_text(code: str) -> str:
    return REASON_TEXT.get(code, DEFAULT_REASON_TEXT)


def fill(template: str, values: dict[str, object]) -> str:
    """Replace ``{name}`` by ``values[name]``; anything else (unknown names, attribute access,
    format specs) stays as literal text, so a draft prompt can never run code or leak objects."""
    out = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return template
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        if name in values and not spec and not conversion:
            out.append(str(values[name]))
        else:
            out.append("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    return "".join(out)


def spoken_amount(yuan: str) -> str:
    """``"-100.50"`` → ``"100.50"`` (the sign is said as 收入 / 支出)."""
    return yuan.lstrip("-")


def transactions_text(rows: list[dict]) -> str:
    parts = []
    for index, row in enumerate(rows, start=1):
        when = datetime.fromisoformat(row["ts"])
        direction = "支出" if row["amount"].startswith("-") else "收入"
        parts.append(
            f"第{index}笔，{when.month}月{when.day}日{when.hour}点{when.minute}分，"
            f"{direction}{spoken_amount(row['amount'])}元，余额{row['balance']}元。"
        )
    return "".join(parts)


def valid_until_text(value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value.year}年{value.month}月{value.day}日"
