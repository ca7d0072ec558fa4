"""The IVR simulator's test calls: a banking service run as it would run, then rolled back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction

from core.errors import DomainError

from ..models import Account, PhoneBankingRegistration

logger = logging.getLogger(__name__)

logger = logging.getLogger(__name__)

# --- simulation (the IVR simulator's test calls) ---------------------------------------------------


class _Undone(Exception):  # noqa: N818 - carries an answer out of the rolled-back savepoint
    def __init__(self, outcome: Any):
        super().__init__()
        self.outcome = outcome


def simulate(service: Callable[..., Any], /, *, sandbox: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Run the banking service ``service(**kwargs)`` exactly as it would run — the same rules,
    locks, refusals and answer — in a transaction (a savepoint inside the caller's) that is then
    rolled back whatever happened: no posting, balance change, idempotency record, loss report,
    account event, SMS outbox row, password-failure count or lock is kept, and the on-commit work
    registered inside goes with it. A domain error comes out as the service raised it. On
    PostgreSQL the transfer's PL/pgSQL function runs inside the same savepoint.

    ``sandbox``: a JSON-able dict the caller keeps for one session (a test call's data). It
    carries what the session's earlier simulated writes would have left on the registrations and
    accounts they touched — a registration's failure counter and lock, an account's status — and
    is applied inside the savepoint before the service runs, so the third wrong password of a
    test call meets the lock a real caller would, and a simulated loss report is seen by a
    simulated transfer after it. It holds ids and those states only: no secret, no money.
    """
    state = sandbox if sandbox is not None else {}
    try:
        with transaction.atomic():
            _sandbox_apply(state)
            try:
                outcome = service(**kwargs)
            except DomainError as error:
                _sandbox_keep(state, kwargs)
                raise _Undone(error) from None
            _sandbox_keep(state, kwargs)
            raise _Undone(outcome)
    except _Undone as undone:
        logger.info("simulated %s rolled back", getattr(service, "__name__", "banking call"))
        if isinstance(undone.outcome, DomainError):
            raise undone.outcome from None
        return undone.outcome


def _sandbox_apply(state: dict[str, Any]) -> None:
    for pk, values in (state.get("registrations") or {}).items():
        locked_at = values.get("locked_at")
        PhoneBankingRegistration.objects.filter(pk=int(pk)).update(
            failed_attempts=int(values.get("failed_attempts") or 0),
            locked=bool(values.get("locked")),
            locked_at=datetime.fromisoformat(locked_at) if locked_at else None,
        )
    for pk, status in (state.get("accounts") or {}).items():
        if status in Account.Status.values:
            Account.objects.filter(pk=int(pk)).update(status=status)


def _sandbox_keep(state: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """Note, before the rollback, the states the service left on the rows it was given."""
    registration = kwargs.get("registration")
    if isinstance(registration, PhoneBankingRegistration):
        row = (
            PhoneBankingRegistration.objects.filter(pk=registration.pk)
            .values("failed_attempts", "locked", "locked_at")
            .first()
        )
        if row is not None:
            at = row["locked_at"]
            state.setdefault("registrations", {})[str(registration.pk)] = {
                "failed_attempts": row["failed_attempts"],
                "locked": row["locked"],
                "locked_at": at.isoformat() if at else None,
            }
    ids = [
        account.pk
        for account in (kwargs.get(name) for name in ("account", "from_account", "to_account"))
        if isinstance(account, Account)
    ]
    if ids:
        statuses = dict(Account.objects.filter(pk__in=ids).values_list("pk", "status"))
        state.setdefault("accounts", {}).update({str(pk): status for pk, status in statuses.items()})
