"""Running a transaction again when PostgreSQL aborted it as a deadlock victim or a serialization
failure, so neither reaches a caller, or when it found its rows moved on under its locks
(``RowsMoved``): ``retry_on_conflict``, the one retry loop of the project. Each app's ``locks.py``
takes its rows in a fixed order; the services wrap their transactions in ``retry_on_conflict``.
And ``single_statement``, for a write that is one statement and needs no transaction of its own."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar, overload

from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# PostgreSQL SQLSTATEs after which the whole transaction may simply be run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
RETRY_ATTEMPTS = 8


def is_retryable(exc: BaseException) -> bool:
    """A deadlock victim or serialization failure, seen through Django's error wrapper."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
        seen = seen.__cause__
    return False


class RowsMoved(Exception):  # noqa: N818 - a signal to run again, not an error a caller sees
    """Raised by a transaction that found, under its locks, that the rows it read without a lock
    have moved on (an agent's call changed between the read and the locks): nothing was written,
    and ``retry_on_conflict`` runs it again, inside an enclosing transaction too. Raised from the
    last attempt, it reaches the caller, who turns it into a domain error."""


@overload
def retry_on_conflict(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def retry_on_conflict(*, attempts: int = RETRY_ATTEMPTS) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def retry_on_conflict(func=None, /, *, attempts=RETRY_ATTEMPTS):
    """Run ``func`` (a transaction: put it outside ``@transaction.atomic``) again when the database
    aborted it as a deadlock victim or a serialization failure, or when it raised ``RowsMoved``;
    at most ``attempts`` runs in all. ``@retry_on_conflict`` or ``@retry_on_conflict(attempts=5)``.

    Inside an enclosing transaction a database conflict is not retried (the outer transaction is
    aborted too): the error propagates to whoever owns that transaction. ``RowsMoved`` is, since
    nothing is aborted.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            nested = connection.in_atomic_block
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except RowsMoved:
                    if attempt == attempts:
                        raise
                except OperationalError as exc:
                    if nested or attempt == attempts or not is_retryable(exc):
                        raise
                    logger.warning(
                        "%s: retrying after %s (attempt %d)", func.__qualname__, type(exc.__cause__).__name__, attempt
                    )
                    # Jitter so that the two victims of one deadlock do not collide again in step.
                    time.sleep(random.uniform(0, 0.005 * attempt))  # noqa: S311 - not for security
            raise AssertionError("unreachable")

        return wrapper

    return decorate if func is None else decorate(func)


@contextmanager
def single_statement() -> Iterator[None]:
    """Around a write that is one statement — atomic by itself — which may fail on a constraint
    (a unique key the caller relies on). Outside any transaction nothing is added: no BEGIN and
    COMMIT round trips. Inside one, a savepoint, so that the failure leaves the enclosing
    transaction usable, as ``transaction.atomic()`` would."""
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
    else:
        yield
