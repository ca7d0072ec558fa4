"""Celery: eager in the embedded default; in full mode a real worker and beat consume from Redis."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from contactcenter.tasks import worker_probe

ROOT = Path(__file__).resolve().parent.parent


def test_tasks_run_in_process_in_the_embedded_default():
    if settings.REDIS_URL:
        pytest.skip("full mode: covered by the worker test")
    token = uuid.uuid4().hex
    assert worker_probe.delay(token).get() == token
    assert cache.get(f"worker-probe:{token}") == "consumed"


@pytest.mark.django_db
def test_beat_at_start_schedules_each_periodic_task_once_and_each_is_a_known_task():
    """``CELERY_BEAT_SCHEDULE`` is the one list: the rows the old data migrations created are gone,
    so nothing runs twice, and a misspelt task name would never run at all."""
    from contactcenter.celery import app
    from tests.beat import periodic_tasks_at_beat_start

    at_start = [task for task in periodic_tasks_at_beat_start() if not task.task.startswith("celery.")]
    scheduled = sorted(task.task for task in at_start)
    assert scheduled == [
        "agents.qa_sample_weekly",
        "banking.loss_report_reminders_send",
        "banking.loss_reports_expire",
        "banking.pos_prize_batch_from_drop",
        "calls.sweep",
        "notifications.sweep",
        "outbound.feed_revisits",
        "recordings.purge",
        "recordings.verify",
        "reports.refresh",
        "reports.sweep",
        "risk.evaluate",
        "tickets.escalate",
    ]
    app.loader.import_default_modules()
    assert set(scheduled) <= set(app.tasks)
    sweep = next(task for task in at_start if task.task == "calls.sweep")
    assert sweep.enabled and sweep.interval.schedule.run_every.total_seconds() == 1
    assert sweep.expire_seconds == 5  # a sweep beat could not hand over in time is dropped


def _database_url_of_test_db() -> str:
    params = connection.settings_dict
    user = params["USER"] or "postgres"
    return f"postgres://{user}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


def _start(*args, **extra_env: str) -> subprocess.Popen:
    # Tasks earlier tests queued with no worker running (rollup refreshes, SMS deliveries for rows
    # long gone) would come first: the queue starts empty.
    from contactcenter.celery import app

    app.control.purge()
    env = dict(os.environ, DATABASE_URL=_database_url_of_test_db(), REDIS_URL=settings.REDIS_URL, **extra_env)
    env["DJANGO_SETTINGS_MODULE"] = "contactcenter.settings.local"
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "contactcenter", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        _out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
    return err.decode(errors="replace")[-2000:]


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_consumes_a_task_from_redis():
    token = uuid.uuid4().hex
    worker = _start("worker", "--pool", "solo", "--concurrency", "1", "--loglevel", "WARNING")
    try:
        result = worker_probe.delay(token)
        assert result.get(timeout=60) == token
        assert cache.get(f"worker-probe:{token}") == "consumed"
    finally:
        _stop(worker)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_beat_schedules_a_periodic_task_that_the_worker_runs():
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    token = uuid.uuid4().hex
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name=f"probe-{token}", task="contactcenter.worker_probe", interval=every_second, args=f'["{token}"]'
    )
    worker = _start("worker", "--pool", "solo", "--concurrency", "1", "--loglevel", "WARNING")
    beat = _start("beat", "--loglevel", "WARNING", "--schedule", f"/tmp/beat-{token}")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and cache.get(f"worker-probe:{token}") is None:
            time.sleep(0.5)
        assert cache.get(f"worker-probe:{token}") == "consumed", _stop(beat)
    finally:
        _stop(beat)
        _stop(worker)


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_a_postings_notice(tmp_path):
    """End to end in full mode: a transfer on a card with 短信通 writes its notice in the posting's
    transaction (the database function), beat's sweep hands it to the delivery task, a worker on
    Redis sends it through the file gateway, once."""
    from banking.services.transfers import transfer_execute
    from notifications import delivery
    from notifications.models import SmsOutbox
    from tests.factories_banking import phone_banking

    pb = phone_banking(card_fen=5_000_000, sms_notice=True)
    transfer_execute(
        registration=pb.registration,
        from_account=pb.card,
        to_account=pb.linked[0],
        amount="100.00",
        idempotency_key="worker-notice",
        channel="ivr",
    )
    sms = SmsOutbox.objects.get()
    worker = _start(
        "worker", "--pool", "solo", "--concurrency", "1", "--loglevel", "WARNING", SMS_FILE_DIR=str(tmp_path)
    )
    try:
        assert delivery.sweep()["scheduled"] == 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and SmsOutbox.objects.get(pk=sms.pk).status != "sent":
            time.sleep(0.3)
        sms.refresh_from_db()
        assert sms.status == "sent", _stop(worker)
        assert [path.name for path in tmp_path.iterdir()] == [f"{sms.pk}.json"]
        assert "转出人民币100.00元" in (tmp_path / f"{sms.pk}.json").read_text(encoding="utf-8")
    finally:
        _stop(worker)
