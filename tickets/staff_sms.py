"""Texts of the staff notices by SMS (短信通知): a work order's reminder before its due time to the
unit's staff, and its escalations when overdue to the head of the unit and to the director.

Short, in Chinese, and with no customer data: the work order's number, its category, its due time
and (to the director) the unit — never the customer's name, phone or account (no such
placeholder). Registered templates (``notifications.texts``, registered by ``TicketsConfig.ready``):
the maintainer may edit them.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from notifications import texts
from notifications.models import SmsOutbox

from .models import EscalationKind, Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")

STAFF_REMINDER = "{signature}工单{ticket_number}（{category}）将于{due}到期，请及时处理。"
STAFF_OVERDUE_HEAD = "{signature}工单{ticket_number}（{category}）已超期（时限{due}），请督办。"
STAFF_OVERDUE_DIRECTOR = "{signature}工单{ticket_number}（{category}）已超期未办结（{unit}，时限{due}）。"

_PLACEHOLDERS = {
    "signature": (_("The bank's SMS signature"), "【农合银行】"),
    "ticket_number": (_("The work order's number"), "000123"),
    "category": (_("The work order's category, in Chinese"), "ATM吞卡/错账"),
    "due": (_("The work order's due time, local time"), "12月8日23:59"),
    "unit": (_("The unit handling it"), "城关支行"),
}


def _spec(key: str, label, default: str) -> texts.TemplateSpec:
    return texts.TemplateSpec(
        key=key,
        kind=SmsOutbox.Kind.STAFF_NOTICE,
        label=label,
        default=default,
        placeholders=_PLACEHOLDERS,
        required=("ticket_number",),
    )


# The template of each reminder or escalation kind (``EscalationKind``).
TEMPLATES: dict[str, texts.TemplateSpec] = {
    EscalationKind.REMINDER: _spec(
        "tickets.staff_reminder", _("Work order about to fall due (to the unit's staff)"), STAFF_REMINDER
    ),
    EscalationKind.OVERDUE_HEAD: _spec(
        "tickets.staff_overdue_head", _("Work order overdue (to the unit's head)"), STAFF_OVERDUE_HEAD
    ),
    EscalationKind.OVERDUE_DIRECTOR: _spec(
        "tickets.staff_overdue_director", _("Work order overdue (to the director)"), STAFF_OVERDUE_DIRECTOR
    ),
}


def register_templates() -> None:
    texts.register(*TEMPLATES.values())


def signature() -> str:
    return getattr(settings, "BANKING_SMS_SIGNATURE", "")


def sms_time(moment: datetime) -> str:
    """``12月1日09:05`` in the center's time."""
    local = timezone.localtime(moment, SHANGHAI)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def ticket_values(ticket: Ticket) -> dict[str, str]:
    """The placeholders a staff notice about ``ticket`` may use — nothing of the customer's."""
    with translation.override("zh-hans"):  # an SMS is Chinese whatever the sweep's language
        category = str(ticket.get_category_display())
    return {
        "signature": signature(),
        "ticket_number": ticket.number,
        "category": category,
        "due": sms_time(ticket.due_at) if ticket.due_at else "",
        "unit": ticket.unit.name if ticket.unit is not None else "",
    }


def escalation_text(ticket: Ticket, kind: str) -> str:
    """The SMS of one reminder or escalation (``EscalationKind``) of ``ticket``, in the template's
    text in force."""
    return texts.render(TEMPLATES[kind].key, ticket_values(ticket))


def escalation_enqueue(ticket: Ticket, kind: str, *, phone: str, text: str, created_at: datetime) -> None:
    """Queue the staff notice ``text`` (``escalation_text``) to ``phone`` in the caller's transaction."""
    texts.enqueue(key=TEMPLATES[kind].key, phone=phone, values=ticket_values(ticket), text=text, created_at=created_at)
