"""``core.db.retry_on_conflict``, the one retry loop: a deadlock victim or serialization
failure runs again (not inside an enclosing transaction, whose owner retries); ``RowsMoved`` runs
again everywhere; at most ``attempts`` runs, then the last error reaches the caller. (Outside
``django_db`` no transaction is open: the loop's own behaviour, without a database.)"""

import pytest
from django.db import OperationalError, transaction

from core.db import RETRY_ATTEMPTS, RowsMoved, retry_on_conflict


class FakeDeadlock(Exception):
    sqlstate = "40P01"


def deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = FakeDeadlock()
    return error


def failing(times: int, error, *, decorate=retry_on_conflict):
    runs = []

    @decorate
    def transaction_body():
        runs.append(1)
        if len(runs) <= times:
            raise error()
        return "done"

    return transaction_body, runs


def test_a_deadlock_victim_runs_again_up_to_the_default_attempts():
    body, runs = failing(RETRY_ATTEMPTS - 1, deadlock)
    assert body() == "done" and len(runs) == RETRY_ATTEMPTS
    body, runs = failing(RETRY_ATTEMPTS, deadlock)
    with pytest.raises(OperationalError):
        body()
    assert len(runs) == RETRY_ATTEMPTS


def test_attempts_are_configurable():
    body, runs = failing(10, deadlock, decorate=retry_on_conflict(attempts=3))
    with pytest.raises(OperationalError):
        body()
    assert len(runs) == 3


def test_other_database_errors_are_not_retried():
    body, runs = failing(1, lambda: OperationalError("connection refused"))
    with pytest.raises(OperationalError):
        body()
    assert len(runs) == 1


@pytest.mark.django_db
def test_inside_a_transaction_a_deadlock_goes_to_its_owner_but_moved_rows_run_again():
    body, runs = failing(1, deadlock)
    with pytest.raises(OperationalError), transaction.atomic():
        body()
    assert len(runs) == 1
    body, runs = failing(2, RowsMoved)
    with transaction.atomic():
        assert body() == "done"
    assert len(runs) == 3


def test_rows_that_keep_moving_reach_the_caller_after_the_last_attempt():
    body, runs = failing(10, RowsMoved, decorate=retry_on_conflict(attempts=4))
    with pytest.raises(RowsMoved):
        body()
    assert len(runs) == 4
