"""The save of rebuilt calls: one parameterised UPDATE per call, its parameters prepared the fast
way (``tests/test_calls_fastpath.py`` checks them against Django's own preparation)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any

from django.db import connection, models

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


# Fields whose database value is the Python value itself on PostgreSQL (psycopg adapts str, bool
# and aware datetimes) or, for integers, the value in the integer type Django binds it as:
# ``get_db_prep_save`` only re-checks types the fold already gives.
_PLAIN_ON_POSTGRES = (models.CharField, models.TextField, models.BooleanField, models.DateTimeField)
_INTEGERS = (models.IntegerField, models.ForeignKey)


def _identity(value: Any) -> Any:
    return value


def _as(kind: type) -> Any:
    def convert(value: Any) -> Any:
        return None if value is None else kind(value)

    return convert


@cache
def _save_preps(vendor: str) -> list[tuple[str, Any]]:
    """(attname, value → database value) per saved field: the field's ``get_db_prep_save``, or
    the shortcut that gives what it gives (``tests/test_calls_fastpath.py`` checks that both
    make the same parameters of random calls)."""
    preps = []
    for field in _saved_fields():
        prep: Callable[[Any], Any] = partial(_db_prep_save, field)
        if vendor == "postgresql" and isinstance(field, _PLAIN_ON_POSTGRES):
            prep = _identity
        elif vendor == "postgresql" and isinstance(field, _INTEGERS):
            bound = type(field.get_db_prep_save(1, connection))  # int, or psycopg's Int2 / Int4 / Int8
            if issubclass(bound, int):
                prep = _identity if bound is int else _as(bound)
        preps.append((field.attname, prep))
    return preps


def _db_prep_save(field: models.Field[Any, Any], value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


@cache
def _update_sql(vendor: str) -> str:
    """The UPDATE of ``save_calls`` (built once per process: its column list is the model's)."""
    fields = _saved_fields()
    table = connection.ops.quote_name(Call._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in fields)
    return f"UPDATE {table} SET {assignments} WHERE id = %s"  # noqa: S608 - column names from the model


def save_calls(calls: list[Call]) -> None:
    """One parameterised UPDATE per call, sent as a batch. ``bulk_update`` would compile a CASE
    expression per call and column, which cost more CPU than the database's whole work here."""
    vendor = connection.vendor
    sql = _update_sql(vendor)
    preps = _save_preps(vendor)
    values = [[prep(getattr(call, name)) for name, prep in preps] + [call.pk] for call in calls]
    if len(values) == 1:
        # One call (an event, an agent's button): a prepared statement (``core.rows``).
        with rows._cursor(rows._db()) as cursor:
            cursor.execute(sql, values[0])
        return
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)
