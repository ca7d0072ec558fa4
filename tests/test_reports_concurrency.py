"""The rollups' refresh under real concurrency on PostgreSQL (parallel connections from threads,
no mocks): CTI events recorded from several connections while several refreshes run end with
rollups equal to the raw figures, every dirty mark cleared, no refresh failing on another's
rows."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from calls.services.cti import cti_events_ingest
from org.roles import Role
from reports import rollups
from reports.models import CallInterval, DirtyInterval
from reports.selectors import call_figures, call_figures_raw
from tests.factories import make_staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TZ = timezone.get_default_timezone()
DAY = datetime(2026, 6, 1, 8, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def default_queues():
    from calls.demo import ensure_default_queues

    ensure_default_queues()


def _events(worker: int, n: int, agent_id: int) -> list[dict]:
    queued = DAY + timedelta(minutes=(n * 7 + worker * 3) % 240, seconds=worker)
    call_id = f"cc-{worker}-{n}"
    kinds = [("queued", queued, "general"), ("answered", queued + timedelta(seconds=5 + n % 30), "")]
    kinds.append(("ended", queued + timedelta(seconds=90 + n), ""))
    return [
        {
            "event_id": f"{call_id}-{k}",
            "call_id": call_id,
            "type": kind,
            "ts": ts,
            "queue": queue,
            "agent_id": agent_id if kind == "answered" else None,
            "data": {},
        }
        for k, (kind, ts, queue) in enumerate(kinds)
    ]


def test_parallel_recording_and_refreshes_end_equal_to_the_raw_figures(on_postgres):
    agent = make_staff(Role.AGENT, username="cc-agent")
    errors: list[BaseException] = []
    done = threading.Event()

    def record(worker: int):
        try:
            for n in range(25):
                # One event per request, as switches send them: each commit marks its interval.
                for item in _events(worker, n, agent.pk):
                    cti_events_ingest(events=[item])
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    def refresh():
        try:
            while not done.is_set():
                rollups.refresh_dirty(limit=3)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    writers = [threading.Thread(target=record, args=(w,)) for w in range(3)]
    refreshers = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in writers + refreshers:
        thread.start()
    for thread in writers:
        thread.join(timeout=300)
    done.set()
    for thread in refreshers:
        thread.join(timeout=60)
    assert not errors, errors
    rollups.refresh_dirty()
    assert not DirtyInterval.objects.exists()
    day = DAY.date()
    assert call_figures(day, day)["offered"] == 75
    assert call_figures(day, day) == call_figures_raw(day, day)
    assert call_figures(day, day, group_by="interval") == call_figures_raw(day, day, group_by="interval")
    # one row per interval, queue and agent: nobody's refresh left a duplicate behind
    assert CallInterval.objects.count() == len(call_figures(day, day, group_by="interval"))
