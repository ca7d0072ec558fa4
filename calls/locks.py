"""The row locks of calls, and the lock order of calls and agents (the retry of a transaction the database aborted
as a deadlock victim is ``core.db.retry_on_conflict``).

Global lock order (every service follows it, so lock waits can never form a cycle):

1. ``Call`` rows, ascending primary key (``lock_calls`` / ``lock_call``);
2. then ``AgentStatus`` rows, ascending primary key (``agents.locks.lock_agents``).

A service that starts from an agent (a state change that withdraws a ringing call) reads the
agent's call without a lock, locks that call, then the agent, and re-checks that the agent
still holds it. Calls are only ever locked here, agents in ``agents.locks``. On SQLite (embedded default) ``FOR
UPDATE`` is a no-op: a write transaction there locks the whole database.
"""

from __future__ import annotations

from .models import Call


def lock_calls(*pks: int) -> dict[int, Call]:
    """Lock the calls ``pks`` in primary-key order; fresh rows by pk (missing ones left out)."""
    wanted = sorted(set(pks))
    if not wanted:
        return {}
    rows = Call.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    return {row.pk: row for row in rows}


def lock_call(pk: int) -> Call | None:
    return lock_calls(pk).get(pk)
