"""The one place calls and agents take row locks, and the retry of a transaction the database
aborted as a deadlock victim or a serialization failure.

Global lock order (every service follows it, so lock waits can never form a cycle):

1. ``Call`` rows, ascending primary key (``lock_calls`` / ``lock_call``);
2. then ``AgentStatus`` rows, ascending primary key (``lock_agents``).

A service that starts from an agent (a state change that withdraws a ringing call) reads the
agent's call without a lock, locks that call, then the agent, and re-checks that the agent
still holds it. Both apps' rows are only ever locked here. On SQLite (embedded default) ``FOR
UPDATE`` is a no-op: a write transaction there locks the whole database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contactcenter.db import is_retryable, retry_on_conflict  # noqa: F401 - the app's services use them from here

from .models import Call

if TYPE_CHECKING:
    from agents.models import AgentStatus


def lock_calls(*pks: int) -> dict[int, Call]:
    """Lock the calls ``pks`` in primary-key order; fresh rows by pk (missing ones left out)."""
    wanted = sorted(set(pks))
    if not wanted:
        return {}
    rows = Call.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    return {row.pk: row for row in rows}


def lock_call(pk: int) -> Call | None:
    return lock_calls(pk).get(pk)


def lock_agents(*pks: int) -> dict[int, AgentStatus]:
    """Lock agent status rows (by ``AgentStatus`` pk) in primary-key order; take after calls."""
    from agents.models import AgentStatus

    wanted = sorted({pk for pk in pks if pk is not None})
    if not wanted:
        return {}
    rows = AgentStatus.objects.select_for_update(of=("self",)).select_related("user").filter(pk__in=wanted)
    return {row.pk: row for row in rows.order_by("pk")}
