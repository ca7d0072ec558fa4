"""The SMS texts banking sends, each defined once.

SMS texts go to customers in Chinese whatever language the agent's UI is in, so they are not
translatable strings. They carry the last 4 digits only (notifications refuses longer runs of
digits, on the Python path in ``sms_enqueue`` and on PostgreSQL in ``notifications_sms_enqueue``).

A template is text with ``{name}`` placeholders. Python fills it with ``render``; the PL/pgSQL
transfer function (``banking.transfer_sql``) is generated with ``to_sql``, which turns the same
template into a concatenation of its literal parts and the SQL twin of each value (``SQL_TIME``,
``banking_group_yuan``), so the two paths cannot word a notice differently.
"""

from __future__ import annotations

import string
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from .models import Account
from .money import group_yuan

SHANGHAI = ZoneInfo("Asia/Shanghai")

KIND_NAMES: dict[str, str] = {
    Account.Kind.DEBIT_CARD: "借记卡",
    Account.Kind.SAVINGS_PASSBOOK: "活期储蓄存折",
    Account.Kind.SETTLEMENT_PASSBOOK: "活期结算存折",
}

# A posting's verb: (credit, debit) for a transfer, and for every other transaction kind.
TRANSFER_VERBS = ("转入", "转出")
OTHER_VERBS = ("存入", "支出")

TRANSACTION_NOTICE = "{signature}您尾号{last4}的{kind_name}于{time}{verb}人民币{amount}元，余额{balance}元。"
LOSS_REPORTED = (
    "{signature}您尾号{last4}的{kind_name}已于{time}办理口头挂失，有效期至{valid_until}。"
    "请在有效期内携带本人有效身份证件到营业网点办理正式挂失。"
)
LOSS_CANCELLED = "{signature}您尾号{last4}的{kind_name}已于{time}撤销口头挂失，恢复正常使用。"
LOSS_REMINDER = (
    "{signature}您尾号{last4}的{kind_name}口头挂失将于{valid_until}到期，"
    "请及时携带本人有效身份证件到营业网点办理正式挂失。"
)

# ``sms_time`` in SQL, over a timestamptz expression: "12月1日09:05".
SQL_TIME = "to_char({moment} AT TIME ZONE 'Asia/Shanghai', 'FMMM\"月\"FMDD\"日\"HH24:MI')"
# ``banking.money.group_yuan`` in SQL (the function is created with the transfer function).
SQL_GROUP_YUAN = "banking_group_yuan({fen})"


def signature() -> str:
    return settings.BANKING_SMS_SIGNATURE


def sms_time(moment: datetime) -> str:
    local = timezone.localtime(moment, SHANGHAI)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def render(template: str, **values: object) -> str:
    return template.format(**values)


def account_values(account: Account) -> dict[str, str]:
    """The placeholders every notice about ``account`` has."""
    return {"signature": signature(), "last4": account.number[-4:], "kind_name": KIND_NAMES[account.kind]}


def transaction_notice(*, account: Account, transfer: bool, amount_fen: int, balance_fen: int, at: datetime) -> str:
    credit, debit = TRANSFER_VERBS if transfer else OTHER_VERBS
    return render(
        TRANSACTION_NOTICE,
        **account_values(account),
        time=sms_time(at),
        verb=credit if amount_fen > 0 else debit,
        amount=group_yuan(abs(amount_fen)),
        balance=group_yuan(balance_fen),
    )


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def to_sql(template: str, values: dict[str, str]) -> str:
    """``template`` as a PL/pgSQL text expression: literal parts quoted, each placeholder replaced
    by its SQL expression in ``values``, joined with ``||`` (every placeholder must be given)."""
    parts = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            parts.append(_sql_literal(literal))
        if name is not None:
            if spec or conversion or name not in values:
                raise ValueError(f"placeholder {name!r} of an SMS template has no SQL value")
            parts.append(values[name])
    return " || ".join(parts)
