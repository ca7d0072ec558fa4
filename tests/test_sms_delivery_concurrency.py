"""Two workers racing for the same SMS rows on PostgreSQL (real parallel connections, no mocks of
the database): each row is claimed once and reaches the gateway once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from notifications import delivery
from notifications.models import SmsOutbox
from notifications.services import sms_enqueue
from tests.test_sms_delivery import FakeGateway

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_workers_racing_for_the_same_rows_send_each_once(on_postgres, monkeypatch):
    monkeypatch.setattr(delivery, "schedule", lambda ids: None)
    ids = [sms_enqueue(phone=f"1390000{n:04d}", kind="service", text=f"【农合银行】{n}").pk for n in range(60)]
    gateway = FakeGateway()
    lock = threading.Lock()
    sent: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker():
        try:
            barrier.wait()
            for _round in range(10):
                for row in delivery.claim(ids=ids, limit=7):
                    with lock:
                        sent.append(row.pk)
                    delivery.send_claimed(row, via=gateway)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(sent) == sorted(ids)  # every row claimed exactly once
    assert sorted(gateway.calls) == sorted(ids)  # and sent exactly once
    assert set(SmsOutbox.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"sent"}
