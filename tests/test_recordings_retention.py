"""Retention (calls/recordings/retention.py): files past ``RECORDINGS_RETENTION_DAYS`` are purged,
except on legal hold, linked to an open work order or an open risk alert; the row stays, the
purge is audited, the integrity check stays green."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from banking.risk.models import Alert
from calls.recordings import integrity, retention, storage, tasks
from calls.recordings.models import Recording
from org.roles import Role
from tests.factories import UnitFactory, make_staff
from tests.recordings_helpers import make_call, recordings_dir_fixture, upload, wav_pcm  # noqa: F401
from tickets.models import State, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recordings_dir")]


@pytest.fixture
def old(db, settings):
    """Five recordings 400 days old (retention 365 days) and one from yesterday."""
    settings.RECORDINGS_RETENTION_DAYS = 365
    client = APIClient()
    client.force_authenticate(make_staff(Role.SWITCH))
    recs = {}
    for name, age in [("plain", 400), ("held", 400), ("open_wo", 400), ("closed_wo", 400), ("alert", 400), ("new", 1)]:
        started = timezone.now() - timedelta(days=age)
        make_call(name, started_at=started)
        response = upload(client, name, wav_pcm(0.3), started_at=started)
        assert response.status_code == 201
        recs[name] = Recording.objects.get(pk=response.json()["id"])
    Recording.objects.filter(pk=recs["held"].pk).update(legal_hold=True, legal_hold_reason="court")
    unit = UnitFactory(code="B01")
    Ticket.objects.create(
        kind="complaint",
        category="fees",
        description="open",
        call_id="open_wo",
        unit=unit,
        state=State.IN_PROGRESS,
        dispatched_at=timezone.now(),
        due_at=timezone.now() + timedelta(days=3),
    )
    Ticket.objects.create(
        kind="complaint", category="fees", description="done", call_id="closed_wo", unit=unit, state=State.CLOSED
    )
    Alert.objects.create(rule=Alert.Rule.AGENT_REPORT, dedupe_key="agent_report:alert", call_id="alert")
    return recs


def test_purge_skips_holds_open_work_orders_and_open_alerts(old, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = retention.purge_expired()
    assert result.purged == 2 and result.kept_open == 3 and result.failed == 0
    purged = set(Recording.objects.filter(purged_at__isnull=False).values_list("call__call_id", flat=True))
    assert purged == {"plain", "closed_wo"}
    for name, rec in old.items():
        assert storage.exists(rec.storage_name) is (name not in purged)
    assert Recording.objects.count() == 6  # rows stay
    events = AuditEvent.objects.filter(action="recording.purged")
    assert sorted(int(e.object_id) for e in events) == sorted([old["plain"].pk, old["closed_wo"].pk])
    assert integrity.verify().ok  # purges are outside the chain


def test_a_closed_alert_no_longer_keeps_a_recording(old, django_capture_on_commit_callbacks):
    Alert.objects.filter(call_id="alert").update(
        status=Alert.Status.CLOSED, outcome=Alert.Outcome.FALSE_POSITIVE, closed_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        retention.purge_expired()
    assert Recording.objects.get(pk=old["alert"].pk).purged_at is not None


def test_purge_is_idempotent_and_the_task_runs_it(old, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.purge()
    with django_capture_on_commit_callbacks(execute=True):
        second = retention.purge_expired()
    assert second.purged == 0
    assert AuditEvent.objects.filter(action="recording.purged").count() == 2


def test_a_purged_recording_cannot_be_put_on_hold(old, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        retention.purge_expired()
    director = APIClient()
    director.force_authenticate(make_staff(Role.DIRECTOR))
    response = director.post(
        f"/api/recordings/{old['plain'].pk}/legal-hold/", {"hold": True, "reason": "late"}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "purged"
