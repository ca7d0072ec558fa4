"""The recordings' hash chain under parallel uploads on PostgreSQL: real connections from threads,
no mocks. Every row gets its own ``seq``, each links to the one before, the chain verifies; the
same file uploaded by many threads at once is stored once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from calls.recordings import integrity, storage
from calls.recordings.models import Recording
from org.roles import Role
from tests.factories import make_staff
from tests.recordings_helpers import make_call, recordings_dir_fixture, upload, wav_pcm  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recordings_dir")]

THREADS = 8


def run_threads(target, count: int = THREADS) -> tuple[list, list[BaseException]]:
    results: list = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def worker(index: int):
        try:
            barrier.wait()
            results.append(target(index))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_parallel_uploads_form_one_unbroken_chain():
    switch = make_staff(Role.SWITCH)
    for n in range(THREADS * 2):
        make_call(f"p-{n}")

    def post(index: int):
        client = APIClient()
        client.force_authenticate(switch)
        statuses = []
        for round_ in range(2):
            n = index * 2 + round_
            statuses.append(upload(client, f"p-{n}", wav_pcm(0.2 + n / 100)).status_code)
        return statuses

    results, errors = run_threads(post)
    assert not errors, errors
    assert sorted(s for statuses in results for s in statuses) == [201] * (THREADS * 2)
    rows = list(Recording.objects.order_by("seq").values_list("seq", "prev_hash", "row_hash"))
    assert [seq for seq, _prev, _hash in rows] == list(range(1, THREADS * 2 + 1))
    assert rows[0][1] == integrity.GENESIS
    assert all(rows[i][1] == rows[i - 1][2] for i in range(1, len(rows)))
    check = integrity.verify()
    assert check.ok, check.problems


def test_the_same_file_uploaded_at_once_is_one_recording():
    switch = make_staff(Role.SWITCH)
    make_call("same")
    data = wav_pcm(0.5)

    def post(_index: int):
        client = APIClient()
        client.force_authenticate(switch)
        response = upload(client, "same", data)
        return response.status_code, response.json()["id"]

    results, errors = run_threads(post)
    assert not errors, errors
    assert sorted(status for status, _id in results) == [200] * (THREADS - 1) + [201]
    assert len({rec_id for _status, rec_id in results}) == 1
    assert Recording.objects.count() == 1
    assert len(list(storage.all_names())) == 1  # the losers' copies were removed
