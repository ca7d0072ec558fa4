"""Template helpers of the work-order pages: masked numbers, money, history lines."""

from __future__ import annotations

from django import template
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from tickets.calendar import holiday_label
from tickets.models import Category, EscalationKind, State

register = template.Library()

EVENT_LABELS = {
    "create": _("Recorded"),
    "dispatch": _("Dispatched"),
    "accept": _("Accepted by the unit"),
    "reply": _("Unit replied"),
    "review_accept": _("Reply accepted"),
    "return": _("Returned for rework"),
    "callback": _("Customer called back"),
    "close": _("Work order closed"),
    "withdraw": _("Withdrawn"),
    "merge": _("Merged into another work order"),
    "merged_in": _("Repeat complaint merged in"),
    "pause": _("Paused for an outside appraisal"),
    "resume": _("Resumed"),
    "extension_request": _("Extension requested"),
    "extension_approve": _("Extension approved"),
    "extension_reject": _("Extension rejected"),
    "attach": _("File attached"),
    "adjustment": _("Adjustment posted"),
    "adjustment_request": _("Adjustment above the approval limit: sent to the director"),
    "adjustment_approve": _("Adjustment approved by the director"),
    "adjustment_reject": _("Adjustment rejected by the director"),
    "adjustment_waive": _("Adjustment waived"),
    "customer_link": _("Customer linked"),
    "chase": _("Chased by the center"),
    "due_recompute": _("Due time recomputed (calendar changed)"),
    "escalation_reminder": _("Reminder sent"),
    "escalation_overdue_head": _("Overdue: escalated to the head of unit"),
    "escalation_overdue_director": _("Overdue: escalated to the director"),
}

FIELD_LABELS = {
    "state": _("state"),
    "unit": _("unit"),
    "due_at": _("due"),
    "due_estimated": _("estimated"),
    "satisfied": _("satisfied"),
    "paused_days": _("paused days"),
    "extension_days": _("extensions (days)"),
    "reply_resolved": _("resolved"),
    "merged_into": _("merged into"),
    "customer": _("customer"),
    "caller_number": _("Caller number"),
    "adjustment_needs_approval": _("needs the director's approval"),
    "amount_fen": _("amount"),
    "adjustment_confirmed_fen": _("Adjustment confirmed"),
    "to": _("sent to"),
    "sms_to": _("also by SMS to"),
}
STATE_LABELS = dict(State.choices)


@register.filter
def holiday_name(name: str) -> str:
    return holiday_label(name)


@register.filter
def mask_mobile(mobile: str | None) -> str:
    if not mobile:
        return ""
    from banking.masking import mask_mobile as mask

    return mask(mobile)


@register.filter
def yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    from banking.money import format_yuan

    return format_yuan(fen)


@register.filter
def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


@register.filter
def escalation_label(kind: str) -> str:
    return str(dict(EscalationKind.choices).get(kind, kind))


@register.filter
def category_label(code: str) -> str:
    return str(dict(Category.choices).get(code, code))


def _show(key: str, value) -> str:
    if value is None or value == "":
        return "—"
    if key == "state":
        return str(STATE_LABELS.get(value, value))
    if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
        return yuan(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if key.endswith("_at") and isinstance(value, str) and (moment := parse_datetime(value)) is not None:
        return date_format(moment, "Y-m-d H:i")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


@register.filter
def event_changes(event) -> list[tuple[str, str, str]]:
    """(field label, before, after) for the fields an event changed."""
    rows = []
    for key in FIELD_LABELS:
        if key in event.after or key in event.before:
            before, after = event.before.get(key), event.after.get(key)
            if key in event.before and before == after:
                continue
            rows.append((str(FIELD_LABELS[key]), _show(key, before) if key in event.before else "", _show(key, after)))
    return rows
