"""``selectors.next_contact`` under real concurrency on PostgreSQL: dialers in parallel
connections never take the same contact (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, transaction

from calls.outbound import selectors
from calls.outbound.models import CampaignContact, ContactStatus
from tests.outbound_helpers import make_campaign, make_contact

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_connections_holding_their_lock_get_different_contacts():
    campaign = make_campaign()
    contacts = [make_contact(campaign, phone=f"1380000{n:04d}") for n in range(3)]
    first_taken = threading.Event()
    release = threading.Event()
    taken: dict[str, int | None] = {}

    def first():
        try:
            with transaction.atomic():
                contact = selectors.next_contact(campaign)
                taken["first"] = contact.pk if contact else None
                first_taken.set()
                release.wait(10)  # hold the row lock while the second dialer looks
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_taken.wait(10)
    try:
        with transaction.atomic():
            contact = selectors.next_contact(campaign)
            taken["second"] = contact.pk if contact else None
    finally:
        release.set()
        thread.join(10)
    assert taken["first"] == contacts[0].pk
    assert taken["second"] == contacts[1].pk


def test_parallel_dialers_never_take_one_contact_twice():
    campaign = make_campaign()
    for n in range(40):
        make_contact(campaign, phone=f"1390000{n:04d}")
    workers = 8
    barrier = threading.Barrier(workers)
    got: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def dialer():
        try:
            barrier.wait()
            while True:
                with transaction.atomic():
                    contact = selectors.next_contact(campaign)
                    if contact is None:
                        return
                    CampaignContact.objects.filter(pk=contact.pk).update(status=ContactStatus.DIALING)
                with lock:
                    got.append(contact.pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dialer) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    counts = Counter(got)
    assert [pk for pk, n in counts.items() if n > 1] == []
    assert len(got) == 40
