"""Row locks of the IVR."""

from __future__ import annotations

import uuid

from contactcenter import rows

from .models import IvrCall, MenuVersion


def lock_call(call_id: str, *, started_by=None, lock: bool = True) -> tuple[IvrCall, uuid.UUID] | None:
    """The call ``call_id`` locked for the rest of the transaction (its row only, not its menu
    version), with the edit token of its version, which keys the compiled menu; ``None`` when
    there is no such call (or, with ``started_by``, no such test call of that user). With
    ``lock=False`` the same read without the lock (a compare-and-set follows).

    One statement on every step of every call, so it is written out (``contactcenter.rows``)."""
    where, params = '"ivr_ivrcall"."call_id" = %s', [call_id]
    if started_by is not None:
        where += ' AND "ivr_ivrcall"."is_test" AND "ivr_ivrcall"."started_by_id" = %s'
        params.append(started_by.pk)
    found = rows.select_one(
        IvrCall,
        where,
        params,
        join='INNER JOIN "ivr_menuversion" ON "ivr_menuversion"."id" = "ivr_ivrcall"."version_id"',
        extra='"ivr_menuversion"."edit_token"',
        lock=lock,
    )
    if found is None:
        return None
    call, (edit_token,) = found
    return call, MenuVersion._meta.get_field("edit_token").to_python(edit_token)
