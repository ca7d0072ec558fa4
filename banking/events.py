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
        call_id=call_id[:128],
    )


def customer_search_event(*, actor, q: str, call_id: str = "", results: list[int], request=None, channel: str = "api"):
    """A customer search, audited with the call it was made for and without the full number
    (``mask_query``: cards first 6 + last 4, other long numbers last 4)."""
    from audit.services import audit_record

    from .masking import mask_query

    return audit_record(
        actor=actor,
        action="banking.customer_search",
        object_type="customer",
        details={"query": mask_query(q), "call_id": str(call_id or "")[:128], "results": results, "channel": channel},
        request=request,
    )
