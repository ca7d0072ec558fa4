"""What risk monitoring needs from the IVR, plugged in by the IVR (``ivr/apps.py``).

Two rules look at what callers did in the IVR (one phone trying many card numbers; one account's
balance asked from many phones), and the queried-account statistics count IVR balance queries.
The IVR sits above banking, so banking never reads its tables: the IVR hands over its
append-only event log, in id order, through this port, and the evaluator keeps its own
watermark over those ids. ``register`` is called once at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

NUMBER_ENTERED = "number_entered"
BALANCE_QUERY = "balance_query"


@dataclass(frozen=True)
class IvrActivity:
    """One IVR event, by its id. ``kind`` is ``NUMBER_ENTERED`` (a caller keyed a card or account
    number: ``digits``), ``BALANCE_QUERY`` (the caller heard the balance of ``account_id``) or
    ``""`` (nothing the rules read; still passed so the watermark can move over its id).
    ``digits`` never holds a password. Test calls from the simulator come as ``""``."""

    event_id: int
    at: datetime
    kind: str
    call_id: str = ""
    ani: str = ""
    digits: str = ""
    account_id: int | None = None


_feed: list[Callable[[int, int], list[IvrActivity]]] = []
_latest: list[Callable[[], int]] = []


def register(*, activity_after: Callable[[int, int], list[IvrActivity]], latest_id: Callable[[], int]) -> None:
    """``activity_after(last_id, limit)`` → up to ``limit`` events with an id above ``last_id``,
    ascending; ``latest_id()`` → the highest event id handed out so far (where monitoring starts
    on its first run: ``allocated_max_id``)."""
    _feed[:] = [activity_after]
    _latest[:] = [latest_id]


def registered() -> bool:
    return bool(_feed)


def activity_after(last_id: int, limit: int) -> list[IvrActivity]:
    """The IVR's events after ``last_id``; none when no IVR is plugged in."""
    if not _feed:
        return []
    return _feed[0](last_id, limit)


def latest_id() -> int:
    return _latest[0]() if _latest else 0


def allocated_max_id(model) -> int:
    """The highest id handed out for ``model``'s table: on PostgreSQL its sequence's last value
    (rolled-back inserts included, so a first scan does not wait on their holes), else the
    highest id present."""
    from django.db import connection
    from django.db.models import Max

    table = model._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, 'id'))", [table])
            row = cursor.fetchone()
        if row is not None and row[0] is not None:
            return int(row[0])
    return int(model.objects.aggregate(top=Max("id"))["top"] or 0)
