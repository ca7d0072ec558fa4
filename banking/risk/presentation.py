"""How an alert's details and its evidence read on the risk officer's page: the rules store
plain keys and values (``Finding.details``, ``Evidence.summary``, kept as evidence); the page
names them in the user's language and never shows a dict."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from banking.models import AccountEvent, LedgerTransaction

from .models import AlertEvidence, IvrObservation

LABELS: dict[str, Any] = {
    "count": _("How many"),
    "threshold": _("Threshold"),
    "threshold_items": _("Threshold (items)"),
    "threshold_total": _("Threshold (yuan)"),
    "total": _("Total (yuan)"),
    "amount": _("Amount (yuan)"),
    "window_minutes": _("Within (minutes)"),
    "window_hours": _("Within (hours)"),
    "window_days": _("Within (days)"),
    "calls": _("Calls"),
    "phone": _("Phone"),
    "phones": _("Phones"),
    "numbers": _("Numbers entered"),
    "number": _("Number entered"),
    "queries": _("Queries"),
    "tries": _("Tries"),
    "changes": _("Changes before it"),
    "channel": _("Channel"),
    "to": _("To account"),
    "memo": _("Memo"),
    "note": _("Note"),
    "agent": _("Agent"),
    "call_id": _("Call"),
    "test_call": _("Test call"),
    "failed_attempts": _("Wrong passwords in a row"),
    "locked": _("Locked"),
    "active": _("On"),
    "status": _("Status"),
    "registration": _("Registration"),
    "code": _("Code"),
    "after": _("After the change"),
    "before": _("Before the change"),
}
HIDDEN = {"demo"}  # the seeded demo's marker


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list | tuple):
        return "、".join(_value(item) for item in value) or "—"
    if isinstance(value, dict):
        return "；".join(f"{label}：{text}" for label, text in rows(value))
    return "—" if value in (None, "") else str(value)


def rows(values: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, text)`` for each key of ``values`` (a nested dict read the same way)."""
    return [(str(LABELS.get(key, key)), _value(value)) for key, value in values.items() if key not in HIDDEN]


def kind_label(evidence: AlertEvidence) -> str:
    """The name of the event behind a piece of evidence (an account event, a transaction kind)."""
    for choices in (AccountEvent.Kind, LedgerTransaction.Kind, IvrObservation.Kind):
        if evidence.kind in choices.values:
            return str(choices(evidence.kind).label)
    if evidence.kind == "agent_report":
        return str(_("Reported by an agent"))
    return evidence.kind
