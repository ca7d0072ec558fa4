"""Tamper detection (calls/recordings/integrity.py, ``manage.py verify_recordings``, the nightly
task): a flipped byte, a deleted file, a stray file, altered / reordered / deleted rows."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.test import APIClient

from calls.recordings import integrity, tasks
from calls.recordings.models import IntegrityCheck, Recording
from org.roles import Role
from tests.factories import make_staff
from tests.recordings_helpers import make_call, recordings_dir_fixture, upload, wav_pcm  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recordings_dir")]


@pytest.fixture
def three(db):
    client = APIClient()
    client.force_authenticate(make_staff(Role.SWITCH))
    recs = []
    for n in range(3):
        make_call(f"i-{n}")
        response = upload(client, f"i-{n}", wav_pcm(0.5 + n / 10))
        assert response.status_code == 201
        recs.append(Recording.objects.get(pk=response.json()["id"]))
    return recs


def kinds(check: IntegrityCheck) -> list[str]:
    return sorted(problem["kind"] for problem in check.problems)


def test_untouched_recordings_pass(three):
    check = integrity.verify()
    assert check.ok, check.problems
    assert (check.rows, check.files) == (3, 3)
    assert check.bytes == sum(rec.size for rec in three)
    assert check.last_seq == 3 and check.last_hash == three[-1].row_hash
    assert [rec.prev_hash for rec in three] == [integrity.GENESIS, three[0].row_hash, three[1].row_hash]


def test_a_flipped_byte_is_an_altered_file(three, recordings_dir):
    path = recordings_dir / three[1].storage_name
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    check = integrity.verify()
    assert not check.ok
    assert kinds(check) == ["altered"]
    assert check.problems[0]["recording"] == three[1].pk


def test_a_deleted_file_is_missing(three, recordings_dir):
    (recordings_dir / three[0].storage_name).unlink()
    check = integrity.verify()
    assert kinds(check) == ["missing"]
    assert check.problems[0]["recording"] == three[0].pk


def test_a_stray_file_is_extra(three, recordings_dir):
    stray = recordings_dir / "2026" / "stray.wav"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"RIFF....")
    check = integrity.verify()
    assert kinds(check) == ["extra"]
    assert check.problems[0]["name"] == "2026/stray.wav"


def test_reordered_rows_break_the_chain(three):
    first, second = three[0], three[1]
    Recording.objects.filter(pk=first.pk).update(seq=1000)
    Recording.objects.filter(pk=second.pk).update(seq=1)
    Recording.objects.filter(pk=first.pk).update(seq=2)
    check = integrity.verify()
    assert not check.ok
    assert set(kinds(check)) == {"chain"}


def test_an_altered_row_breaks_the_chain(three):
    Recording.objects.filter(pk=three[1].pk).update(duration_ms=three[1].duration_ms + 1)
    check = integrity.verify()
    assert [p["detail"] for p in check.problems] == ["row altered"]


def test_a_deleted_row_leaves_a_gap(three, recordings_dir):
    Recording.objects.filter(pk=three[1].pk).delete()
    check = integrity.verify()
    assert {p["kind"] for p in check.problems} == {"chain", "extra"}  # the gap, and its file has no row
    assert any(p.get("seq") == 3 for p in check.problems if p["kind"] == "chain")


def test_rows_removed_from_the_end_are_found_by_the_previous_check(three):
    assert integrity.verify().ok
    Recording.objects.filter(pk=three[2].pk).delete()
    check = integrity.verify(check_files=False)
    assert [p["kind"] for p in check.problems] == ["chain"]


def test_purged_rows_are_not_hashed_but_a_left_over_file_is_listed(three):
    Recording.objects.filter(pk=three[0].pk).update(purged_at=three[0].started_at)
    check = integrity.verify()
    assert check.files == 2
    assert [p["detail"] for p in check.problems] == ["purged file still present"]


def test_command_exits_non_zero_on_a_mismatch_and_prints_a_summary(three, recordings_dir):
    out = io.StringIO()
    call_command("verify_recordings", stdout=out)
    assert "3 rows, 3 files" in out.getvalue() and "MB/s" in out.getvalue() and "OK" in out.getvalue()
    (recordings_dir / three[2].storage_name).unlink()
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("verify_recordings", stdout=out)
    assert "1 problem" in str(raised.value)
    assert "MISSING" in out.getvalue()


def test_nightly_task_stores_a_check_and_the_health_page_shows_it(three, client):
    tasks.verify()  # the task body, in-process (full mode would queue .delay() to Redis)
    check = IntegrityCheck.objects.get()
    assert check.trigger == "nightly" and check.ok
    maintainer = make_staff(Role.MAINTAINER)
    client.force_login(maintainer)
    page = client.get(reverse("org:config"))
    assert page.status_code == 200
    assert 'id="health-recordings"' in page.content.decode()
    panel = integrity.health_panel()
    assert panel["status"] == "ok" and "3" in panel["text"]
