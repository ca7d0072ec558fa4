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

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from django.db import OperationalError, connection

from .models import Call

if TYPE_CHECKING:
    from agents.models import AgentStatus

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
RETRY_ATTEMPTS = 8


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


def is_retryable(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        seen = seen.__cause__
    return False


def retry_on_conflict(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` (a whole transaction) again when PostgreSQL aborted it as a deadlock victim or
    serialization failure; inside an outer transaction the error goes to that transaction's owner."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.in_atomic_block:
            return func(*args, **kwargs)
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if attempt == RETRY_ATTEMPTS or not is_retryable(exc):
                    raise
                logger.warning("%s: retrying after a database conflict (attempt %d)", func.__name__, attempt)
                time.sleep(random.uniform(0, 0.005 * attempt))  # noqa: S311 - jitter, not security
        raise AssertionError("unreachable")

    return wrapper
