"""Running a transaction again when PostgreSQL aborted it as a deadlock victim or a serialization
failure, so neither reaches a caller. Each app's ``locks.py`` takes its rows in a fixed order and
wraps its transactional services in ``retry_on_conflict``. And ``single_statement``, for a write
that is one statement and needs no transaction of its own."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

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


def retry_on_conflict(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` (a transaction: put it outside ``@transaction.atomic``) again when the database
    aborted it as a deadlock victim or a serialization failure.

    Inside an enclosing transaction there is nothing to retry (the outer transaction is aborted
    too): the error propagates to whoever owns that transaction.
    """

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
                logger.warning(
                    "%s: retrying after %s (attempt %d)", func.__qualname__, type(exc.__cause__).__name__, attempt
                )
                # Jitter so that the two victims of one deadlock do not collide again in step.
                time.sleep(random.uniform(0, 0.005 * attempt))  # noqa: S311 - not for security
        raise AssertionError("unreachable")

    return wrapper


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
