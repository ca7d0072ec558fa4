"""Append-only account events (who, what, when, before/after) for every state change that
matters to a customer or an auditor. Details are scrubbed of anything that looks secret."""

from __future__ import annotations

from typing import Any

from audit.services import scrub

from .models import Account, AccountEvent


def _user_or_none(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def account_event_record(
    *,
    account: Account | int,
    kind: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor=None,
    channel: str = "",
    call_id: str = "",
) -> AccountEvent:
    return AccountEvent.objects.create(
        account_id=account.pk if isinstance(account, Account) else account,
        kind=kind,
        before=scrub(before or {}),
        after=scrub(after or {}),
        actor=_user_or_none(actor),
        channel=channel,
        call_id=call_id[:64],
    )
