"""Single-row statements for the switch's hot path, without the ORM's query compiler.

Every step of a call is a handful of one-row reads and writes (lock the call, save its state,
append the event, a banking look-up or two). Building each of them with the ORM costs several
times the CPU the database spends running it (issue 4: a step cost three baseline requests).
These helpers write the SQL from the models' own metadata (column lists once per process) and
return ordinary model instances: the fields' converters and adapters apply exactly as in the ORM, on PostgreSQL
and SQLite alike. Only what the hot path needs; everything else keeps using the ORM.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

M = TypeVar("M", bound=models.Model)


@cache
def _server_binding_cursor_class(prepare: bool):
    """Server-side binding; every statement prepared on first use, or (``prepare=False``) never,
    not even one this connection has prepared already (the driver keeps no text of a prepared
    statement for ``connection.queries`` to show)."""
    from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]  # not in the stubs

    prepare_all = prepare

    class Cursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=prepare_all if prepare is None else prepare, binary=binary)

    return Cursor


# One prepared-statement cursor per driver connection, reused statement after statement.
_CURSORS: WeakKeyDictionary = WeakKeyDictionary()


def _db() -> BaseDatabaseWrapper:
    """The default connection itself, looked up once per call: ``django.db.connection`` is a proxy
    that finds it again (in a context-local) on every attribute, dozens of times per statement."""
    return connections[DEFAULT_DB_ALIAS]


@contextmanager
def _cursor(connection: BaseDatabaseWrapper) -> Iterator[Any]:
    """A cursor for these statements. On PostgreSQL (unless ``DB_PREPARED_STATEMENTS`` is off,
    e.g. behind a transaction-pooling PgBouncer) the values travel as parameters and each
    statement is prepared once per connection — pooled connections keep them — so the driver
    does not quote values into the text and the server does not parse and plan it again. Only
    these few fixed statements: the ORM's keep Django's client-side binding.

    Unless something watches the queries (a debug cursor, ``CaptureQueriesContext``, an
    ``execute_wrapper``: then bound on the server but not prepared), the driver's cursor is used
    directly, kept per connection, with Django's translation of driver errors
    (``IntegrityError``, ``OperationalError``). Preparing needs ``prepare_threshold`` in the
    connection's options (settings): Django sets it to None, and psycopg then prepares nothing."""
    if connection.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    if connection.queries_logged or connection.execute_wrappers:
        fresh = _server_binding_cursor_class(prepare=False)(raw)
        wrapped = connection.make_debug_cursor(fresh) if connection.queries_logged else connection.make_cursor(fresh)
        with wrapped as cursor:
            yield cursor
        return
    kept = _CURSORS.get(raw)
    if kept is None or kept.closed:
        kept = _CURSORS[raw] = _server_binding_cursor_class(prepare=True)(raw)
    with connection.wrap_database_errors:
        yield kept


def _column(field: Any) -> str:
    """The column of a concrete field (``get_field`` is typed to return relations too)."""
    return field.column


def _quote(name: str) -> str:
    return _db().ops.quote_name(name)


@cache
def _columns(model: type[models.Model], vendor: str) -> tuple[str, list[str]]:
    """The select list of ``model`` (columns qualified by its table) and the matching attnames."""
    table = model._meta.db_table
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{_quote(table)}.{_quote(field.column)}" for field in fields)
    return columns, [field.attname for field in fields]


# Converters are methods of a connection's ``ops``; kept per connection (threads have their own).
_CONVERTERS: WeakKeyDictionary = WeakKeyDictionary()


def _converters(connection: BaseDatabaseWrapper, model: type[models.Model]) -> list[tuple[int, Any, list]]:
    """Per column of ``model`` that needs it: (index, column expression, converters), as the ORM
    applies them to what the driver returns (``SQLCompiler.get_converters``)."""
    per_model = _CONVERTERS.setdefault(connection.ops, {})
    found = per_model.get(model)
    if found is None:
        found = []
        for index, field in enumerate(model._meta.concrete_fields):
            column = field.get_col(model._meta.db_table)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                found.append((index, column, functions))
        per_model[model] = found
    return found


def select(
    model: type[M],
    where: str,
    params: list[Any],
    *,
    join: str = "",
    extra: str = "",
    order_by: str = "",
    limit: int | None = None,
    lock: bool = False,
) -> list[tuple[M, tuple]]:
    """``model`` rows matching ``where`` (SQL on quoted table names), each with the values of the
    ``extra`` columns appended to the select list. ``lock`` takes the row locks of ``model``'s
    table only (``SELECT ... FOR UPDATE OF``), inside a transaction."""
    connection = _db()
    columns, names = _columns(model, connection.vendor)
    converters = _converters(connection, model)
    table = _quote(model._meta.db_table)
    sql = f"SELECT {columns}{', ' + extra if extra else ''} FROM {table} {join} WHERE {where}"  # noqa: S608 - names from the models, values bound
    if order_by:
        sql += f" ORDER BY {order_by}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if lock and connection.features.has_select_for_update:
        sql += f" FOR UPDATE OF {table}" if connection.features.has_select_for_update_of else " FOR UPDATE"
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    return [
        (_instance(connection, model, names, converters, row[: len(names)]), tuple(row[len(names) :]))
        for row in fetched
    ]


def _instance(connection: BaseDatabaseWrapper, model: type[M], names: list[str], converters: list, row) -> M:
    values = list(row)
    for index, expression, functions in converters:
        for function in functions:
            values[index] = function(values[index], expression, connection)
    return model.from_db(connection.alias, names, values)


def columns(model: type[models.Model]) -> str:
    """All columns of ``model``, for ``extra``: a joined row read along (see ``joined``)."""
    return _columns(model, _db().vendor)[0]


def names(model: type[models.Model]) -> list[str]:
    """The attnames of ``columns(model)``, in order (to slice several joined rows apart)."""
    return _columns(model, _db().vendor)[1]


def joined(model: type[M], extra: tuple) -> M | None:
    """The ``model`` instance in ``extra`` values selected with ``columns(model)``; ``None`` when
    an outer join found no row (its primary key is null)."""
    connection = _db()
    names = _columns(model, connection.vendor)[1]
    if extra[names.index(model._meta.pk.attname)] is None:
        return None
    return _instance(connection, model, names, _converters(connection, model), extra[: len(names)])


def select_one(model: type[M], where: str, params: list[Any], **kwargs) -> tuple[M, tuple] | None:
    """The first row of ``select(...)`` (``LIMIT 1``), or ``None``."""
    found = select(model, where, params, limit=1, **kwargs)
    return found[0] if found else None


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def json_document(instance: models.Model, fields: Sequence[Any], *, add: bool | None = None) -> str:
    """The fields' values of ``instance`` as one JSON document (keys: the columns) that
    PostgreSQL unpacks into the table's row type (``json_populate_record(NULL::table, %s::json)``),
    for a hot statement whose driver would otherwise adapt a parameter per column: what each
    field's ``get_db_prep_save`` sends, in JSON (aware datetimes in ISO 8601 with their
    microseconds, JSON fields as the JSON they are, the others as they are). ``add``: the fields'
    ``pre_save`` first, as for an insert (True) or an update (False): ``auto_now`` and the like.
    Only for fields whose values JSON carries exactly (text, numbers, booleans, datetimes, JSON;
    not decimals or binary): each caller's test compares the row stored with the ORM's."""
    if add is None:
        values = {field.column: _json_value(getattr(instance, field.attname)) for field in fields}
    else:
        values = {field.column: _json_value(field.pre_save(instance, add)) for field in fields}
    return json.dumps(values)


@cache
def _update_sql(model: type[models.Model], field_names: tuple[str, ...], conditions: tuple[str, ...], vendor: str):
    meta = model._meta
    assignments = ", ".join(f"{_quote(_column(meta.get_field(name)))} = %s" for name in field_names)
    columns = [meta.pk.column, *(_column(meta.get_field(name)) for name in conditions)]
    where = " AND ".join(f"{_quote(column)} = %s" for column in columns)
    return f"UPDATE {_quote(meta.db_table)} SET {assignments} WHERE {where}"  # noqa: S608 - names from the model


def _update(
    connection: BaseDatabaseWrapper,
    instance: models.Model,
    field_names: list[str],
    expect: dict[str, Any] | None = None,
) -> tuple[str, list[Any]]:
    meta = instance._meta
    expect = expect or {}
    sql = _update_sql(type(instance), tuple(field_names), tuple(expect), connection.vendor)
    fields = cast("list[models.Field[Any, Any]]", [meta.get_field(name) for name in field_names])
    params = [field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields]
    params.append(instance.pk)
    params.extend(
        cast("models.Field[Any, Any]", meta.get_field(name)).get_db_prep_value(value, connection)
        for name, value in expect.items()
    )
    return sql, params


@cache
def _insert_sql(model: type[models.Model], with_pk: bool, vendor: str, source: str) -> str:
    """``INSERT`` of every concrete field (the primary key too when ``with_pk``), values either
    ``VALUES (...)`` or, with ``source``, ``SELECT ... FROM source`` (a row only if it has one)."""
    connection = _db()
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key or with_pk]
    columns = ", ".join(_quote(field.column) for field in fields)
    if source:
        # Parameters in a SELECT list have no column to take their type from: cast them.
        casts = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields)  # type: ignore[attr-defined]  # not in the stubs
        values = f"SELECT {casts} FROM {source}"  # noqa: S608
    else:
        values = f"VALUES ({', '.join(['%s'] * len(fields))})"
    sql = f"INSERT INTO {_quote(meta.db_table)} ({columns}) {values}"  # noqa: S608 - names from the model
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {_quote(meta.pk.column)}"
    return sql


def _insert(connection: BaseDatabaseWrapper, instance: models.Model, source: str = "") -> tuple[str, list[Any]]:
    meta = instance._meta
    with_pk = instance.pk is not None
    sql = _insert_sql(type(instance), with_pk, connection.vendor, source)
    fields = [field for field in meta.concrete_fields if not field.primary_key or with_pk]
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    return sql, params


def _inserted(connection: BaseDatabaseWrapper, instance: models.Model, cursor) -> None:
    meta = instance._meta
    if instance.pk is None:
        if connection.features.can_return_columns_from_insert:
            instance.pk = cursor.fetchone()[0]
        else:
            instance.pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    instance._state.adding = False
    instance._state.db = connection.alias


def update(instance: models.Model, field_names: list[str], *, expect: dict[str, Any] | None = None) -> bool:
    """``UPDATE`` the named fields of ``instance`` by primary key (``save(update_fields=...)``);
    with ``expect`` (field → value) only if the row still holds those values. True if updated."""
    connection = _db()
    sql, params = _update(connection, instance, field_names, expect)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def insert(instance: models.Model) -> None:
    """``INSERT`` ``instance`` (``save(force_insert=True)``: ``auto_now_add`` fields filled) and
    set its primary key."""
    connection = _db()
    sql, params = _insert(connection, instance)
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        _inserted(connection, instance, cursor)


def update_and_insert(
    instance: models.Model, field_names: list[str], new: models.Model, *, expect: dict[str, Any] | None = None
) -> bool:
    """``update(instance, field_names, expect=expect)`` and, if a row was updated, ``insert(new)``:
    both or neither. One statement on PostgreSQL (the ``INSERT`` selects from the ``UPDATE``'s
    ``RETURNING`` inside ``WITH``), so atomic without a transaction of its own — a compare-and-set
    with ``expect``. Elsewhere the two run in one transaction. True if both were written."""
    connection = _db()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            if not update(instance, field_names, expect=expect):
                return False
            insert(new)
            return True
    update_sql, update_params = _update(connection, instance, field_names, expect)
    insert_sql, insert_params = _insert(connection, new, source="updated")
    pk = _quote(instance._meta.pk.column)
    with _cursor(connection) as cursor:
        cursor.execute(f"WITH updated AS ({update_sql} RETURNING {pk}) {insert_sql}", update_params + insert_params)
        if cursor.rowcount != 1:
            return False
        _inserted(connection, new, cursor)
    return True


def insert_with_child(parent: models.Model, child: models.Model, link: str) -> None:
    """``insert(parent)`` then ``insert(child)`` whose foreign key ``link`` points at the new parent:
    both or neither. One statement on PostgreSQL (the child's ``INSERT ... SELECT`` takes the
    parent's new key), so atomic without a transaction of its own; elsewhere one transaction."""
    connection = _db()
    if connection.vendor != "postgresql" or parent.pk is not None or child.pk is not None:
        with transaction.atomic():
            insert(parent)
            setattr(child, link, parent)
            insert(child)
        return
    parent_sql, parent_params = _insert(connection, parent)
    meta = child._meta
    link_field = cast("models.Field[Any, Any]", meta.get_field(link))  # a concrete foreign key
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    columns, values, params = [], [], []
    for field in fields:
        columns.append(_quote(field.column))
        if field is link_field:
            values.append(f"parent.{_quote(parent._meta.pk.column)}")
        else:
            values.append(f"%s::{field.cast_db_type(connection)}")  # type: ignore[attr-defined]  # no column to take a type from; not in the stubs
            params.append(field.get_db_prep_save(field.pre_save(child, True), connection))
    sql = (
        f"WITH parent AS ({parent_sql}) INSERT INTO {_quote(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM parent RETURNING {_quote(meta.pk.column)}, {_quote(link_field.column)}"
    )
    with _cursor(connection) as cursor:
        cursor.execute(sql, parent_params + params)
        child_pk, parent_pk = cursor.fetchone()
    for instance, pk in ((parent, parent_pk), (child, child_pk)):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias
    setattr(child, link, parent)
