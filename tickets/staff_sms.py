"""Texts of the staff notices by SMS (短信通知): a work order's reminder before its due time to the
unit's staff, and its escalations when overdue to the head of the unit and to the director.

Short, in Chinese, and with no customer data: the work order's number, its category, its due time
and (to the director) the unit — never the customer's name, phone or account. Placeholders are
``{name}``; ``render`` fills them. (Kept in this one module so the texts can move to the
maintainer's editable templates as they are.)
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone, translation

from .models import EscalationKind, Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")

STAFF_REMINDER = "{signature}工单{ticket_number}（{category}）将于{due}到期，请及时处理。"
STAFF_OVERDUE_HEAD = "{signature}工单{ticket_number}（{category}）已超期（时限{due}），请督办。"
STAFF_OVERDUE_DIRECTOR = "{signature}工单{ticket_number}（{category}）已超期未办结（{unit}，时限{due}）。"

TEMPLATES: dict[str, str] = {
    EscalationKind.REMINDER: STAFF_REMINDER,
    EscalationKind.OVERDUE_HEAD: STAFF_OVERDUE_HEAD,
    EscalationKind.OVERDUE_DIRECTOR: STAFF_OVERDUE_DIRECTOR,
}


def signature() -> str:
    return getattr(settings, "BANKING_SMS_SIGNATURE", "")


def sms_time(moment: datetime) -> str:
    """``12月1日09:05`` in the center's time."""
    local = timezone.localtime(moment, SHANGHAI)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def render(template: str, **values: object) -> str:
    return template.format(**values)


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
    """The SMS of one reminder or escalation (``EscalationKind``) of ``ticket``."""
    return render(TEMPLATES[kind], **ticket_values(ticket))
