"""The IVR's side of risk monitoring's port (``banking.risk.ivr_port``, plugged in by
``ivr/apps.py``): the event log in id order, told as numbers keyed at a ``number`` step and
balances heard. Test calls from the simulator are passed as nothing (DESIGN.md §5)."""

from __future__ import annotations

from banking.risk import ivr_port

from .models import IvrEvent


def _heard_balance(response: dict) -> bool:
    return any(
        action.get("type") == "say" and action.get("prompt") == "balance"
        for action in (response or {}).get("actions") or []
    )


def activity_after(last_id: int, limit: int) -> list[ivr_port.IvrActivity]:
    rows = (
        IvrEvent.objects.filter(pk__gt=last_id)
        .order_by("pk")
        .values_list(
            "pk",
            "created_at",
            "type",
            "step",
            "digits",
            "response",
            "call__call_id",
            "call__ani",
            "call__is_test",
            "call__account_id",
        )[:limit]
    )
    found = []
    for pk, at, type_, step, digits, response, call_id, ani, is_test, account_id in rows:
        kind = ""
        if not is_test and type_ == IvrEvent.Type.DIGITS:
            if step == "number" and digits.isdigit():
                kind = ivr_port.NUMBER_ENTERED
            elif account_id is not None and _heard_balance(response):
                kind = ivr_port.BALANCE_QUERY
        found.append(
            ivr_port.IvrActivity(
                event_id=pk,
                at=at,
                kind=kind,
                call_id=call_id if kind else "",
                ani=ani if kind else "",
                digits=digits if kind == ivr_port.NUMBER_ENTERED else "",
                account_id=account_id if kind == ivr_port.BALANCE_QUERY else None,
            )
        )
    return found


def latest_id() -> int:
    return ivr_port.allocated_max_id(IvrEvent)


def register() -> None:
    ivr_port.register(activity_after=activity_after, latest_id=latest_id)
