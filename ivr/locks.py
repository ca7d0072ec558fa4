"""Row locks of the IVR."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from contactcenter import rows

from . import banking_port as bank
from .models import IvrCall, MenuVersion


class LockedCall(NamedTuple):
    call: IvrCall
    edit_token: uuid.UUID  # of the call's menu version: keys the compiled menu
    account: Any  # a verified call's account, read in the same statement; else None


def lock_call(call_id: str, *, started_by=None, lock: bool = True) -> LockedCall | None:
    """The call ``call_id`` locked for the rest of the transaction (its row only, not its menu
    version or account), with the edit token of its version and, once the caller is verified,
    the account row (the steps that need it then read it with the call: one statement fewer);
    ``None`` when there is no such call (or, with ``started_by``, no such test call of that
    user). With ``lock=False`` the same read without the lock (a compare-and-set follows).

    One statement on every step of every call, so it is written out (``contactcenter.rows``)."""
    where, params = '"ivr_ivrcall"."call_id" = %s', [call_id]
    if started_by is not None:
        where += ' AND "ivr_ivrcall"."is_test" AND "ivr_ivrcall"."started_by_id" = %s'
        params.append(started_by.pk)
    account_join, account_columns = bank.account_of_call()
    found = rows.select_one(
        IvrCall,
        where,
        params,
        join='INNER JOIN "ivr_menuversion" ON "ivr_menuversion"."id" = "ivr_ivrcall"."version_id" ' + account_join,
        extra=f'"ivr_menuversion"."edit_token", {account_columns}',
        lock=lock,
    )
    if found is None:
        return None
    call, extra = found
    edit_token = MenuVersion._meta.get_field("edit_token").to_python(extra[0])
    return LockedCall(call, edit_token, bank.account_of_call_row(extra[1:]))
