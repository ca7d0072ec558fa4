"""The save of rebuilt calls: one UPDATE per call.

On PostgreSQL the call's 41 rebuilt columns travel as one JSON document the server unpacks into
the table's row type (``json_populate_record``): the driver adapts one text parameter instead of
41 (adapting them, four JSON documents among them, cost more CPU than the database's whole work
here; ``core.rows.json_document``). ``tests/test_calls_fastpath.py`` checks on random calls
that the row stored is the row the ORM's own save stores. Elsewhere (SQLite) the fields prepare
their values as usual.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection

from core import rows

from .. import cdr
from ..models import Call
from .fields import call_fields

_saved: list = []


def _saved_fields() -> list:
    """The fields ``events.rebuild_many`` writes: the fold's, the live offer and callback flags."""
    if not _saved:
        names = [*call_fields(cdr.Fold()).keys(), "offer_expires_at", "callback_offered_at", "updated_at"]
        _saved.extend(Call._meta.get_field(name) for name in names)
    return _saved


@cache
def _update_sql(vendor: str) -> str:
    """The UPDATE of ``save_calls`` (built once per process: its column list is the model's)."""
    q = connection.ops.quote_name
    fields = _saved_fields()
    table = q(Call._meta.db_table)
    if vendor == "postgresql":
        assignments = ", ".join(f"{q(field.column)} = r.{q(field.column)}" for field in fields)
        return (
            f"UPDATE {table} SET {assignments} "  # noqa: S608 - names from the model, values bound
            f"FROM json_populate_record(NULL::{table}, %s::json) AS r WHERE {table}.id = %s"
        )
    assignments = ", ".join(f"{q(field.column)} = %s" for field in fields)
    return f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608 - column names from the model


def _document(call: Call) -> str:
    """The call's saved columns as the JSON document ``_update_sql`` unpacks."""
    return rows.json_document(call, _saved_fields())


def _parameters(call: Call) -> list[Any]:
    return [field.get_db_prep_save(getattr(call, field.attname), connection) for field in _saved_fields()]


def save_calls(calls: list[Call]) -> None:
    """One UPDATE per call, sent as a batch (``bulk_update`` would compile a CASE expression per
    call and column, which cost more CPU than the database's whole work here)."""
    vendor = connection.vendor
    sql = _update_sql(vendor)
    values: list[list[Any]]
    if vendor == "postgresql":
        values = [[_document(call), call.pk] for call in calls]
    else:
        values = [[*_parameters(call), call.pk] for call in calls]
    if len(values) == 1:
        # One call (an event, an agent's button): a prepared statement (``core.rows``).
        with rows._cursor(rows._db()) as cursor:
            cursor.execute(sql, values[0])
        return
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)
