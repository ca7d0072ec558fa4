"""Every event is evaluated exactly once: run twice, a hole in the ids, two evaluators at once
on PostgreSQL (real connections, real commits)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from banking.models import AccountEvent, LedgerTransaction
from banking.risk import services
from banking.risk.models import Alert, AlertEvidence, Watermark
from banking.risk.services import _Row, settled_prefix
from tests.factories_banking import phone_banking

from .conftest import transfer


def rows(*ids, age_s=0):
    at = timezone.now() - timedelta(seconds=age_s)
    return [_Row(i, at, None) for i in ids]


def test_the_watermark_moves_over_consecutive_ids_only(settings):
    settings.RISK_GAP_SETTLE_SECONDS = 60
    now = timezone.now()
    assert settled_prefix(rows(11, 12, 13), 10, now) == 3
    assert settled_prefix(rows(11, 12, 14, 15), 10, now) == 2  # 13 may still be committing
    assert settled_prefix(rows(12, 13), 10, now) == 0
    # once the row after the hole is older than the settle time, the hole is a rollback: passed
    assert settled_prefix(rows(12, 13, age_s=61), 10, now) == 2
    assert settled_prefix(rows(11) + rows(13, age_s=61) + rows(15), 10, now) == 2


@pytest.mark.django_db
def test_a_first_run_starts_after_the_history_and_a_second_run_evaluates_nothing(pb):
    transfer(pb, "30000.00")  # before monitoring started: history, not evaluated
    assert services.risk_evaluate()[services.LEDGER] == 0
    assert Alert.objects.count() == 0
    txn = transfer(pb, "30000.00")
    done = services.risk_evaluate()
    assert done[services.LEDGER] == 1
    assert Watermark.objects.get(source=services.LEDGER).last_id == txn.pk
    assert services.risk_evaluate() == {services.ACCOUNT_EVENTS: 0, services.LEDGER: 0, services.IVR: 0}
    assert AlertEvidence.objects.filter(source_id=txn.pk).count() == 1
    assert Alert.objects.get().hits == 1


@pytest.mark.django_db
def test_small_batches_evaluate_everything_once(pb, settings):
    services.watermarks_ensure()  # after the fixture's opening deposits
    settings.RISK_SCAN_BATCH = 2
    for _n in range(5):
        transfer(pb, "20000.00")  # the fifth at the daily limit
    done = services.risk_evaluate()
    assert done[services.LEDGER] == 5
    alert = Alert.objects.get(rule=Alert.Rule.LARGE_TRANSFER)
    assert alert.hits == 5 and alert.evidence.count() == 5


@pytest.mark.django_db
def test_an_evaluation_that_fails_rolls_back_its_alerts_and_the_watermark(monitor, pb, monkeypatch):
    transfer(pb, "30000.00")
    start = Watermark.objects.get(source=services.LEDGER).last_id

    def broken(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "alert_record", broken)
    with pytest.raises(RuntimeError):
        monitor()
    assert Watermark.objects.get(source=services.LEDGER).last_id == start
    assert Alert.objects.count() == 0
    monkeypatch.undo()
    monitor()
    assert Alert.objects.get().hits == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hole_holds_the_watermark_until_the_transaction_behind_it_commits(settings):
    """A row with a lower id committing after a higher one is still evaluated."""
    settings.RISK_GAP_SETTLE_SECONDS = 60
    pb = phone_banking(card_fen=10_000_000)
    services.watermarks_ensure()
    started, release = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                AccountEvent.objects.create(account=pb.card, kind=AccountEvent.Kind.PASSWORD_FAILED)
                started.set()
                release.wait(10)
        finally:
            connections.close_all()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert started.wait(10)
    for _n in range(4):  # later ids, committed first
        AccountEvent.objects.create(account=pb.card, kind=AccountEvent.Kind.PASSWORD_FAILED)
    assert services.risk_evaluate()[services.ACCOUNT_EVENTS] == 0  # held at the hole
    release.set()
    writer.join(10)
    assert services.risk_evaluate()[services.ACCOUNT_EVENTS] == 5
    alert = Alert.objects.get(rule=Alert.Rule.PASSWORD_FAILURES)
    assert alert.evidence.count() == 5 and alert.details["count"] == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_evaluators_at_once_evaluate_every_row_exactly_once(settings):
    assert connection.vendor == "postgresql"
    settings.RISK_SCAN_BATCH = 1  # many short batches: the two really interleave
    customers = [phone_banking(card_fen=10_000_000) for _n in range(6)]
    services.watermarks_ensure()
    txns = [transfer(pb, "25000.00") for pb in customers for _n in range(3)]
    last = max(t.pk for t in txns)
    barrier = threading.Barrier(2)
    evaluated: list[int] = []
    errors: list[BaseException] = []

    def evaluator():
        try:
            barrier.wait(10)
            while Watermark.objects.get(source=services.LEDGER).last_id < last:
                evaluated.append(services.risk_evaluate(sources=[services.LEDGER])[services.LEDGER])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=evaluator) for _n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(evaluated) == LedgerTransaction.objects.filter(pk__gt=txns[0].pk - 1).count() == len(txns)
    assert Alert.objects.count() == len(customers)
    for alert in Alert.objects.all():
        assert alert.hits == 3 and alert.evidence.count() == 3
    assert AlertEvidence.objects.values("source_id").distinct().count() == len(txns)


@pytest.mark.django_db
def test_the_command_and_the_beat_task_evaluate_the_new_events(monitor, pb):
    import io
    import json

    from django.core.management import call_command

    from banking.risk.tasks import risk_evaluate

    transfer(pb, "30000.00")
    out = io.StringIO()
    call_command("risk_evaluate", stdout=out)
    assert json.loads(out.getvalue())[services.LEDGER] >= 1
    transfer(pb, "30000.00")
    assert risk_evaluate.apply().get()[services.LEDGER] == 1  # as a worker runs it
    assert Alert.objects.get().hits == 2
