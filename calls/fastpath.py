"""One CTI event per request, as switches send them, in one statement on PostgreSQL.

The plain path (``services.events.record_many``) costs about ten statements per request whatever its
size: look the event up, find or create the call, lock it, check the event again under the
lock, insert it, read the call's events, read the agents, save the call. For a batch of 200
that is nothing; for the single event a switch posts per request (Asterisk ``CURL()``,
FreeSWITCH event hooks) it was the whole cost (issue 12: 137 events/s against 415 IVR steps/s).

Here one statement does the database's part (``_record_sql``):

* it locks the call row (``SELECT … FOR UPDATE``, the row lock ``lock_calls`` takes — the only
  lock before the agents', so the lock order of ``calls.locks`` holds); for a call's first
  event there is no row yet, and the call is created (``INSERT … ON CONFLICT DO NOTHING``, which
  locks the new row) before the statement runs again;
* it inserts the event unless its ``event_id`` is stored (``ON CONFLICT DO NOTHING``), its
  columns in one JSON document (``core.rows.json_document``: one parameter for the driver to
  adapt, not one per column);
* it returns the call's columns the rebuild reads before overwriting them (``_loaded_fields``:
  the others are folded again from the events, and loading them was a third of the statement's
  cost), the digest stored under that id (a resend, or the id reused with other content),
  whether an agent holds the call (else no holder is looked up: ``agent_sync.sync_agents``
  gets ``held``), whether one wraps it up (a late event that takes a call from an agent tells
  their desk only if a desk shows it) and all the call's events (those stored plus the new one).

The lock returns the row's latest version, but the statement's snapshot is older when it had
to wait for the lock: then the call's ``event_count`` (rebuilt with every event) does not match
the events read, and they are read again now that the lock is held.

Then the same Python as the plain path rebuilds the call (``services.events.rebuild_many``: the fold,
the agents when involved — one read of them, none when nobody holds the call and it neither
rings an agent nor ends an after-call work —, the one ``UPDATE``, the pushes after commit). An
event of a known call is five statements with the token look-up (token, ``BEGIN``, this one, the
call's ``UPDATE``, ``COMMIT``); a call's first event two more (the creation, this one again); a
``queued`` event one more (the IVR's hand-off context, ``cti._enrich_from_ivr``); a wrap-up one
more (the agents). A duplicate or a reused id rolls the transaction back (no call row is left
behind); a race the statement cannot judge (the id stored by a transaction that committed while
it ran) goes to the plain path.
``tests/test_calls_fastpath.py`` checks, on random event sequences, that both paths build the
same calls and agents, and that the rows the JSON documents store are those the ORM stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from django.db import connections, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from core import rows
from core.db import retry_on_conflict

from . import cdr
from .models import Call, CallEvent
from .services import events
from .services.fields import call_fields


class _Fallback(Exception):
    """The statement cannot judge the event: let the plain path record it."""


@dataclass
class _Event:
    """A stored event as the fold reads it (``cdr.EventLike``)."""

    event_id: str
    type: str
    ts: datetime
    queue: str
    agent_id: int | None
    data: dict[str, Any]


def _insert_parts(model: type[Model], connection) -> tuple[list, str, str]:
    return _insert_parts_of(model, connection.alias)


@cache
def _insert_parts_of(model: type[Model], alias: str) -> tuple[list, str, str]:
    """(fields, column list, cast placeholders) of an ``INSERT`` of every concrete field but the pk."""
    connection = connections[alias]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    casts = ", ".join(f"%s::{f.cast_db_type(connection)}" for f in fields)  # type: ignore[attr-defined]  # not in the stubs
    return fields, columns, casts


@cache
def _create_sql(alias: str) -> str:
    """Create the call unless it exists (its new row is locked by the insert); → its row."""
    connection = connections[alias]
    q = connection.ops.quote_name
    _fields, columns, casts = _insert_parts(Call, connection)
    returned = ", ".join(q(f.column) for f in Call._meta.concrete_fields)
    return (
        f"INSERT INTO {q(Call._meta.db_table)} ({columns}) VALUES ({casts}) "  # noqa: S608 - names from the model
        f"ON CONFLICT (call_id) DO NOTHING RETURNING {returned}"
    )


READ = "event_id, type, ts, queue, agent_id, data"

# The call's columns the rebuild reads before it overwrites them (``events.rebuild_many``
# compares the state, agent and queue, the wrap-up and queue times; the test flag and the event
# count are read here). The others it folds again from the events: they are not read (a third of
# the statement's cost was loading them) and stay deferred on the instance.
READ_BEFORE_REBUILD = ("state", "agent_id", "queue_id", "wrapup_at", "queued_at", "is_test", "event_count")


@cache
def _loaded_fields() -> tuple[Any, ...]:
    """The ``Call`` fields the statement reads: all but those every rebuild overwrites (the
    fold's, the offer's expiry, ``updated_at``), and ``READ_BEFORE_REBUILD``."""
    rebuilt = {*call_fields(cdr.Fold()), "offer_expires_at", "updated_at"} - set(READ_BEFORE_REBUILD)
    return tuple(f for f in Call._meta.concrete_fields if f.attname not in rebuilt)


@cache
def _loaded_names() -> list[str]:
    return [f.attname for f in _loaded_fields()]


_CONVERTERS: WeakKeyDictionary = WeakKeyDictionary()


def _loaded_converters(connection) -> list[tuple[int, Any, list]]:
    """``core.rows._converters`` of the loaded fields (per connection: converters are methods of
    its ``ops``), indexed by position among them."""
    found = _CONVERTERS.get(connection.ops)
    if found is None:
        position = {f.attname: index for index, f in enumerate(_loaded_fields())}
        every = Call._meta.concrete_fields
        found = [
            (position[every[index].attname], column, functions)
            for index, column, functions in rows._converters(connection, Call)
            if every[index].attname in position
        ]
        _CONVERTERS[connection.ops] = found
    return found


@cache
def _record_sql(alias: str) -> str:
    """Lock the call (``SELECT … FOR UPDATE``, the row lock ``lock_calls`` takes), insert the
    event unless its id is stored (or the call is a simulator test call, which no switch
    carries); → the call's row (its latest version: the lock re-reads it), the digest stored under
    the event id, whether it was inserted, whether an agent holds the call, whether one wraps it
    up and the call's events.
    No row: no such call yet."""
    from agents.models import AgentStatus

    connection = connections[alias]
    q = connection.ops.quote_name
    calls, events, holders = q(Call._meta.db_table), q(CallEvent._meta.db_table), q(AgentStatus._meta.db_table)
    columns = [q(field.column) for field in _event_fields()]
    loaded = ", ".join(f"{calls}.{q(f.column)}" for f in _loaded_fields())
    return f"""
WITH c AS (
    SELECT {loaded} FROM {calls} WHERE {calls}.call_id = %s FOR UPDATE
), e AS (
    INSERT INTO {events} ({", ".join(columns)}, call_id)
    SELECT {", ".join(f"r.{column}" for column in columns)}, c.id
      FROM c, json_populate_record(NULL::{events}, %s::json) AS r WHERE NOT c.is_test
    ON CONFLICT (event_id) DO NOTHING
    RETURNING {READ}
)
SELECT c.*,
    (SELECT digest FROM {events} WHERE event_id = %s),
    (SELECT count(*) FROM e),
    EXISTS (SELECT 1 FROM {holders} WHERE call_id = c.id),
    EXISTS (SELECT 1 FROM {holders} WHERE acw_call_id = c.id),
    (SELECT json_agg(json_build_array({READ}))
       FROM (SELECT {READ} FROM {events} WHERE call_id = c.id UNION ALL SELECT {READ} FROM e) AS x)
FROM c"""  # noqa: S608 - names from the models, values bound


@cache
def _event_fields() -> list[Any]:
    """The event's columns the statement inserts from its JSON document (all but the id and the
    call, which it sets)."""
    return [f for f in CallEvent._meta.concrete_fields if not f.primary_key and f.attname != "call_id"]


@cache
def _reread_sql(alias: str) -> str:
    """Whether an agent holds the call, whether one wraps it up, and its events, in a snapshot
    taken after the lock."""
    from agents.models import AgentStatus

    connection = connections[alias]
    q = connection.ops.quote_name
    events, holders = q(CallEvent._meta.db_table), q(AgentStatus._meta.db_table)
    return f"""
SELECT EXISTS (SELECT 1 FROM {holders} WHERE call_id = %s),
    EXISTS (SELECT 1 FROM {holders} WHERE acw_call_id = %s),
    (SELECT json_agg(json_build_array({READ})) FROM {events} WHERE call_id = %s)"""  # noqa: S608


def _prep(connection, model: type[Model], instance: Model) -> list[Any]:
    fields, _columns, _casts = _insert_parts(model, connection)
    return [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]


def record_one(new, *, now: datetime):
    """Record one CTI event (``events.NewEvent``) → ``events.EventResult``. PostgreSQL only."""
    try:
        return _record(new, now=now)
    except _Fallback:
        pks = events.ensure_calls({new.call_id})
        return events.record_tolerant({pks[new.call_id]: [new]})[new.event_id]


@retry_on_conflict
def _record(new, *, now: datetime):
    connection = connections["default"]
    event = events.event_row(new)
    names = _loaded_names()
    converters = _loaded_converters(connection)
    record = [new.call_id, rows.json_document(event, _event_fields(), add=True), new.event_id]
    with transaction.atomic(), rows._cursor(connection) as cursor:
        cursor.execute(_record_sql(connection.alias), record)
        row = cursor.fetchone()
        if row is None:
            # The call's first event: create it (the insert locks the new row; a creator racing
            # us makes it return nothing, and the lock then waits for theirs), then record.
            cursor.execute(_create_sql(connection.alias), _prep(connection, Call, Call(call_id=new.call_id)))
            cursor.execute(_record_sql(connection.alias), record)
            row = cursor.fetchone()
        call = rows._instance(connection, Call, names, converters, row[: len(names)])  # the rest deferred
        stored, inserted, held, wrapped_up, stored_events = row[len(names) :]
        if call.is_test:  # the IVR simulator's test call: no switch carries it (read with the lock)
            transaction.set_rollback(True)
            return events.EventResult(new.event_id, "rejected", "call_not_found", _("No such call."))
        if inserted and len(stored_events) - 1 != call.event_count:
            # The statement's snapshot predates the lock (someone recorded an event of this call
            # while we waited): read the events again, now that we hold it.
            cursor.execute(_reread_sql(connection.alias), [call.pk, call.pk, call.pk])
            held, wrapped_up, stored_events = cursor.fetchone()
            stored_events = stored_events or []
        if not inserted:
            transaction.set_rollback(True)  # nothing new: leave no call row behind
            if stored == new.digest:
                return events.EventResult(new.event_id, "duplicate")
            if stored is not None:
                message = _("Event id reused with other content.")
                return events.EventResult(new.event_id, "rejected", "event_id_conflict", message)
            raise _Fallback()
        call_events: list[cdr.EventLike] = [
            _Event(event_id, type_, datetime.fromisoformat(ts), queue, agent_id, data or {})
            for event_id, type_, ts, queue, agent_id, data in stored_events
        ]
        events.rebuild_many(
            {call.pk: call},
            {call.pk: [new]},
            now=now,
            events_by_call={call.pk: call_events},
            held={call.pk} if held else set(),
            shown={call.pk} if held or wrapped_up else set(),
        )
    return events.EventResult(new.event_id, "accepted")
