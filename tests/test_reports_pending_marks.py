"""Full mode collects the rollup marks of a process for ``REPORTS_MARK_FLUSH_S`` and writes them in
one statement (``reports.rollups.PendingMarks``): every interval a change touched is marked, once,
after the changes' commits, and a refresh then sees the changes."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from calls.models import Call
from calls.signals import calls_changed
from reports import rollups
from reports.models import DirtyInterval


def _local(hour: int, minute: int) -> datetime:
    day = timezone.localdate() - timedelta(days=3)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.get_current_timezone())


def _wait(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_changes_within_the_delay_are_marked_together_once(settings, monkeypatch):
    settings.REPORTS_MARK_FLUSH_S = 0.3
    written: list[set[datetime]] = []
    threads: list[str] = []

    def mark_dirty(starts):
        written.append(set(starts))
        threads.append(threading.current_thread().name)
        return []

    monkeypatch.setattr(rollups, "mark_dirty", mark_dirty)
    monkeypatch.setattr(rollups, "pending_marks", rollups.PendingMarks())
    for moment in (_local(9, 1), _local(9, 29), _local(10, 5)):
        rollups.on_calls_changed(queued=[moment])
    rollups.on_calls_changed(queued=[])  # a change that counts under no interval
    assert written == []  # not yet: collected
    assert _wait(lambda: written)
    time.sleep(0.4)
    assert written == [{_local(9, 0), _local(10, 0)}]  # one statement for both intervals
    assert threads != [threading.main_thread().name]
    rollups.on_calls_changed(queued=[_local(11, 40)])  # a later change starts a new collection
    assert _wait(lambda: len(written) == 2)
    assert written[1] == {_local(11, 30)}


def test_marks_pending_at_exit_are_written(settings, monkeypatch):
    settings.REPORTS_MARK_FLUSH_S = 60
    written: list[set[datetime]] = []
    monkeypatch.setattr(rollups, "mark_dirty", lambda starts: written.append(set(starts)) or [])
    pending = rollups.PendingMarks()
    monkeypatch.setattr(rollups, "pending_marks", pending)
    rollups.on_calls_changed(queued=[_local(14, 10)])
    pending.flush()  # what atexit does
    assert written == [{_local(14, 0)}]
    pending.flush()
    assert len(written) == 1  # nothing twice


def test_at_zero_each_change_is_marked_at_once(settings, monkeypatch):
    settings.REPORTS_MARK_FLUSH_S = 0
    written: list[list[datetime]] = []
    monkeypatch.setattr(rollups, "mark_dirty", lambda queued: written.append(list(queued)) or [])
    rollups.on_calls_changed(queued=[_local(9, 1)])
    assert written == [[_local(9, 1)]]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_calls_change_is_marked_by_the_timer_thread_on_postgresql(settings, monkeypatch):
    """The real path: the change's commit sends ``calls_changed``, the timer's thread marks the
    interval through its own connection, and the refresh it schedules sees the call."""
    settings.REPORTS_MARK_FLUSH_S = 0.2
    monkeypatch.setattr(rollups, "pending_marks", rollups.PendingMarks())
    queued = _local(9, 12)
    Call.objects.create(call_id="pm-1", started_at=queued, queued_at=queued)
    calls_changed.send(sender=Call, queued=[queued])
    calls_changed.send(sender=Call, queued=[queued + timedelta(minutes=3)])
    assert not DirtyInterval.objects.exists()
    assert _wait(lambda: DirtyInterval.objects.exists())
    assert list(DirtyInterval.objects.values_list("start", flat=True)) == [_local(9, 0)]
    assert rollups.refresh_dirty() == 1
    assert not DirtyInterval.objects.exists()
