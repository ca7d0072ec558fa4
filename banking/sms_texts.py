"""The SMS texts banking sends: their defaults, their placeholders and the values, each defined once.

SMS texts go to customers in Chinese whatever language the agent's UI is in, so they are not
translatable strings. They carry the last 4 digits only (notifications refuses longer runs of
digits, on the Python path in ``sms_enqueue`` and on PostgreSQL in ``notifications_sms_enqueue``).

Each text is a template of ``notifications.texts`` (registered by ``BankingConfig.ready``): the
default below, with ``{name}`` placeholders, until the maintainer edits it on
``/notifications/sms/templates/``. Python renders it with ``notifications.texts.render`` /
``enqueue``; the PL/pgSQL transfer function (``banking.transfer_sql``) is generated with ``to_sql``,
a call of ``notifications_sms_render`` with the same key, default and the SQL twin of each value
(``SQL_TIME``, ``banking_group_yuan``), so the two paths cannot word a notice differently.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications import texts
from notifications.models import SmsOutbox

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
REGISTRATION_LOCKED = (
    "{signature}您尾号{last4}的{kind_name}电话银行已于{time}因密码连续输错被锁定。"
    "如需解锁，请致电本行客服热线核实身份后办理；如非本人操作，请及时修改密码。"
)

_SIGNATURE = (_("The bank's SMS signature"), "【农合银行】")
_LAST4 = (_("The last 4 digits of the card or passbook number"), "0001")
_KIND_NAME = (_("The kind of account (debit card, passbook)"), "借记卡")
_TIME = (_("When it happened, local time"), "12月1日09:05")
_VALID_UNTIL = (_("When the verbal loss report expires, local time"), "12月4日09:05")

TRANSACTION_NOTICE_SPEC = texts.TemplateSpec(
    key="banking.transaction_notice",
    kind=SmsOutbox.Kind.TRANSACTION_NOTICE,
    label=_("Transaction notice (SMS notice service)"),
    default=TRANSACTION_NOTICE,
    placeholders={
        "signature": _SIGNATURE,
        "last4": _LAST4,
        "kind_name": _KIND_NAME,
        "time": (_("The posting's time, local time"), "12月1日09:05"),
        "verb": (_("转入 / 转出 for a transfer, 存入 / 支出 for other postings"), "转出"),
        "amount": (_("The amount in yuan, grouped"), "1,234.56"),
        "balance": (_("The balance after it in yuan, grouped"), "12,345.67"),
    },
    required=("signature", "last4", "time", "verb", "amount"),
)
LOSS_REPORTED_SPEC = texts.TemplateSpec(
    key="banking.loss_reported",
    kind=SmsOutbox.Kind.LOSS_REPORT,
    label=_("Verbal loss report registered"),
    default=LOSS_REPORTED,
    placeholders={
        "signature": _SIGNATURE,
        "last4": _LAST4,
        "kind_name": _KIND_NAME,
        "time": _TIME,
        "valid_until": _VALID_UNTIL,
    },
    required=("signature", "last4", "valid_until"),
)
LOSS_CANCELLED_SPEC = texts.TemplateSpec(
    key="banking.loss_cancelled",
    kind=SmsOutbox.Kind.LOSS_REPORT,
    label=_("Verbal loss report cancelled"),
    default=LOSS_CANCELLED,
    placeholders={"signature": _SIGNATURE, "last4": _LAST4, "kind_name": _KIND_NAME, "time": _TIME},
    required=("signature", "last4"),
)
LOSS_REMINDER_SPEC = texts.TemplateSpec(
    key="banking.loss_reminder",
    kind=SmsOutbox.Kind.LOSS_REPORT,
    label=_("Verbal loss report about to expire"),
    default=LOSS_REMINDER,
    placeholders={"signature": _SIGNATURE, "last4": _LAST4, "kind_name": _KIND_NAME, "valid_until": _VALID_UNTIL},
    required=("signature", "last4", "valid_until"),
)
REGISTRATION_LOCKED_SPEC = texts.TemplateSpec(
    key="banking.registration_locked",
    kind=SmsOutbox.Kind.SERVICE,
    label=_("Phone banking locked after wrong passwords"),
    default=REGISTRATION_LOCKED,
    placeholders={"signature": _SIGNATURE, "last4": _LAST4, "kind_name": _KIND_NAME, "time": _TIME},
    required=("signature", "time"),
)
SPECS = (TRANSACTION_NOTICE_SPEC, LOSS_REPORTED_SPEC, LOSS_CANCELLED_SPEC, LOSS_REMINDER_SPEC, REGISTRATION_LOCKED_SPEC)


def register_templates() -> None:
    texts.register(*SPECS)


# ``sms_time`` in SQL, over a timestamptz expression: "12月1日09:05".
SQL_TIME = "to_char({moment} AT TIME ZONE 'Asia/Shanghai', 'FMMM\"月\"FMDD\"日\"HH24:MI')"
# ``banking.money.group_yuan`` in SQL (the function is created with the transfer function).
SQL_GROUP_YUAN = "banking_group_yuan({fen})"


def signature() -> str:
    return settings.BANKING_SMS_SIGNATURE


def sms_time(moment: datetime) -> str:
    local = timezone.localtime(moment, SHANGHAI)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def account_values(account: Account) -> dict[str, str]:
    """The placeholders every notice about ``account`` has."""
    return {"signature": signature(), "last4": account.number[-4:], "kind_name": KIND_NAMES[account.kind]}


def transaction_notice_values(
    *, account: Account, transfer: bool, amount_fen: int, balance_fen: int, at: datetime
) -> dict[str, str]:
    credit, debit = TRANSFER_VERBS if transfer else OTHER_VERBS
    return {
        **account_values(account),
        "time": sms_time(at),
        "verb": credit if amount_fen > 0 else debit,
        "amount": group_yuan(abs(amount_fen)),
        "balance": group_yuan(balance_fen),
    }


def transaction_notice(
    *, account: Account, transfer: bool, amount_fen: int, balance_fen: int, at: datetime, text: str | None = None
) -> str:
    """The notice of one posting (``text``: the template's text read already, for a batch)."""
    values = transaction_notice_values(
        account=account, transfer=transfer, amount_fen=amount_fen, balance_fen=balance_fen, at=at
    )
    return texts.render(TRANSACTION_NOTICE_SPEC.key, values, text=text)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def to_sql(spec: texts.TemplateSpec, values: dict[str, str]) -> str:
    """The template ``spec`` as a PL/pgSQL text expression: ``notifications_sms_render(key,
    default, names, values)`` — the maintainer's text if there is one, else the default — with the
    SQL expression in ``values`` of every placeholder the template has (an override may use any)."""
    if set(values) != set(spec.placeholders):
        missing = sorted(set(spec.placeholders) ^ set(values))
        raise ValueError(f"placeholder {missing[0]!r} of SMS template {spec.key} has no SQL value (or no placeholder)")
    names = list(spec.placeholders)
    return (
        f"notifications_sms_render({_sql_literal(spec.key)}, {_sql_literal(spec.default)}, "
        f"ARRAY[{', '.join(_sql_literal(name) for name in names)}]::text[], "
        f"ARRAY[{', '.join(values[name] for name in names)}]::text[])"
    )
