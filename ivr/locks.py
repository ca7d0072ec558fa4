"""Row locks of the IVR (and the same read without the lock)."""

from __future__ import annotations

from typing import Any, NamedTuple

from core import rows

from . import banking_port as bank
from .models import IvrCall


class CallRows(NamedTuple):
    """A call row and the rows read along with it, from ``lock_call`` (locked) or ``read_call`` (as
    they are now, without a lock)."""

    call: IvrCall
    account: Any  # a verified call's account, read in the same statement; else None
    # While a password is asked: (the account logging in, its own registration or None), read in
    # the same statement; else None.
    login: tuple[Any, Any] | None = None


def lock_call(call_id: str, *, started_by=None) -> CallRows | None:
    """The call ``call_id`` locked for the rest of the transaction (its row only, not its menu
    version or account), with, once the caller is verified, the account row, and while a password
    is asked, the account logging in and its registration (the steps that need them then read
    them with the call: one statement fewer);
    ``None`` when there is no such call: with ``started_by``, no such test call of that user (the
    simulator); without, no such real call (the switch never reaches a simulator's test call).

    One statement on every step of every call, so it is written out (``core.rows``)."""
    return _call_with_account(call_id, started_by=started_by, lock=True)


def read_call(call_id: str, *, started_by=None) -> CallRows | None:
    """``lock_call``'s read without the lock: the same row and joined rows as they are now (a
    compare-and-set on the call's event counter follows, ``ivr.services``)."""
    return _call_with_account(call_id, started_by=started_by, lock=False)


def _call_with_account(call_id: str, *, started_by, lock: bool) -> CallRows | None:
    where, params = '"ivr_ivrcall"."call_id" = %s', [call_id]
    if started_by is not None:
        where += ' AND "ivr_ivrcall"."is_test" AND "ivr_ivrcall"."started_by_id" = %s'
        params.append(started_by.pk)
    else:
        where += ' AND NOT "ivr_ivrcall"."is_test"'
    account_join, account_columns = bank.account_of_call()
    found = rows.select_one(
        IvrCall,
        where,
        params,
        join=account_join,
        extra=account_columns,
        lock=lock,
    )
    if found is None:
        return None
    call, extra = found
    account, registration = bank.account_of_call_row(extra)
    if call.verified:
        return CallRows(call, account)
    return CallRows(call, None, (account, registration) if call.login_account_id is not None else None)
