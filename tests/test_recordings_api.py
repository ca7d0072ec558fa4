"""``/api/recordings/`` (DESIGN.md §6): the switch's upload and its refusals, the list and detail
per contract, audio with HTTP Range, download per role, legal hold, one audit row per playback."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.test.client import encode_multipart
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from calls.recordings import storage
from calls.recordings.apis import RecordingListApi
from calls.recordings.models import Recording
from org.roles import Role
from tests.factories import make_staff
from tests.recordings_helpers import make_call, mp3, ogg_opus, recordings_dir_fixture, upload, wav_g711, wav_pcm  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recordings_dir")]


def client_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def switch(db):
    return client_as(make_staff(Role.SWITCH, username="switch"))


@pytest.fixture
def agent(db):
    return make_staff(Role.AGENT, username="agent-a")


@pytest.fixture
def stored(switch, agent):
    """One 2-second WAV recording of agent-a's call ``c-1``."""
    make_call("c-1", agent=agent, customer_id=77)
    data = wav_pcm(2.0)
    response = upload(switch, "c-1", data)
    assert response.status_code == 201, response.content
    return Recording.objects.get(pk=response.json()["id"]), data


# --- ingest ---------------------------------------------------------------------------------------


def test_upload_stores_the_file_and_reads_facts_from_it(switch, agent):
    make_call("c-1", agent=agent, customer_id=77)
    data = wav_pcm(2.5)
    response = upload(switch, "c-1", data, name="lies.mp3")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["call_id"] == "c-1"
    assert body["agent"] == "agent-a"
    assert body["duration_s"] == 2.5
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["format"] == "wav_pcm"  # from the bytes, not the name
    rec = Recording.objects.get(pk=body["id"])
    assert rec.customer_id == 77 and rec.agent == agent and rec.seq == 1
    assert b"".join(storage.iter_bytes(rec.storage_name)) == data
    assert AuditEvent.objects.filter(action="recording.ingested", object_id=str(rec.pk)).count() == 1


@pytest.mark.parametrize(
    ("maker", "fmt", "ms"),
    [
        (lambda: wav_g711(3.0, law="alaw"), "wav_alaw", 3000),
        (lambda: wav_g711(1.5, law="ulaw"), "wav_ulaw", 1500),
        (lambda: ogg_opus(4.0), "ogg_opus", 4000),
    ],
)
def test_upload_of_each_format(switch, maker, fmt, ms):
    make_call("c-2")
    response = upload(switch, "c-2", maker())
    assert response.status_code == 201, response.content
    assert (response.json()["format"], response.json()["duration_ms"]) == (fmt, ms)


def test_same_file_again_is_the_same_recording(stored, switch):
    rec, data = stored
    again = upload(switch, "c-1", data)
    assert again.status_code == 200
    assert again.json()["id"] == rec.pk
    assert Recording.objects.count() == 1
    assert sorted(storage.all_names()) == [rec.storage_name]  # the second copy was not kept


def test_another_file_of_the_same_call_is_a_second_recording(stored, switch):
    response = upload(switch, "c-1", wav_pcm(1.0))
    assert response.status_code == 201
    assert Recording.objects.get(pk=response.json()["id"]).seq == 2


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        (b"", "empty_file", 400),
        (b"%PDF-1.4 not audio at all" * 10, "not_audio", 415),
        (wav_pcm(1.0)[:-100], "length_mismatch", 400),
    ],
)
def test_bad_files_are_refused_with_a_code(switch, data, code, status):
    make_call("c-3")
    response = upload(switch, "c-3", data)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert Recording.objects.count() == 0
    assert list(storage.all_names()) == []


def test_a_file_over_the_limit_is_too_large(switch, settings):
    settings.RECORDINGS_MAX_BYTES = 10_000
    make_call("c-4")
    response = upload(switch, "c-4", wav_pcm(2.0))  # 32 kB
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert Recording.objects.count() == 0


def test_unknown_call_is_refused(switch):
    response = upload(switch, "no-such-call", wav_pcm(1.0))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_call"


def test_a_body_shorter_than_its_content_length_is_a_length_mismatch(db):
    """The switch's connection dropped: the body ends before its declared Content-Length."""
    user = make_staff(Role.SWITCH, username="switch2")
    make_call("c-5")
    boundary = "BoUnDaRy"
    body = encode_multipart(
        boundary,
        {
            "call_id": "c-5",
            "started_at": timezone.now().isoformat(),
            # MP3 declares no length of its own: only the HTTP body's length can tell.
            "file": SimpleUploadedFile("a.mp3", mp3(3.0)),
        },
    )
    request = RequestFactory().generic(
        "POST", "/api/recordings/", data=b"", content_type=f"multipart/form-data; boundary={boundary}"
    )
    request.environ["wsgi.input"] = io.BytesIO(body[: len(body) // 2])
    request.META["CONTENT_LENGTH"] = str(len(body))
    request.META["CONTENT_TYPE"] = f"multipart/form-data; boundary={boundary}"
    from django.core.handlers.wsgi import LimitedStream

    request._stream = LimitedStream(request.environ["wsgi.input"], len(body))
    from rest_framework.test import force_authenticate

    force_authenticate(request, user=user)
    response = RecordingListApi.as_view()(request)
    assert response.status_code == 400, response.data
    assert response.data["error"]["code"] in {"length_mismatch"}
    assert Recording.objects.count() == 0


def test_only_the_switch_uploads(agent):
    make_call("c-6", agent=agent)
    response = upload(client_as(agent), "c-6", wav_pcm(1.0))
    assert response.status_code == 403


def test_masked_segments_from_the_switch_and_the_ivr(switch, monkeypatch):
    started = timezone.now().replace(microsecond=0)
    make_call("c-7")

    def secret_spans(call_id):
        assert call_id == "c-7"
        return [(started + timedelta(seconds=1), started + timedelta(seconds=2, milliseconds=500))]

    import ivr.selectors

    monkeypatch.setattr(ivr.selectors, "secret_spans", secret_spans, raising=False)
    masked = json.dumps([{"start_ms": 3500, "end_ms": 9000}])
    response = upload(switch, "c-7", wav_pcm(4.0), started_at=started, masked=masked)
    assert response.status_code == 201, response.content
    assert response.json()["masked_segments"] == [
        {"start_ms": 1000, "end_ms": 2500, "reason": "password"},
        {"start_ms": 3500, "end_ms": 4000, "reason": "switch"},  # clipped to the recording
    ]


def test_malformed_masked_field_is_refused(switch):
    make_call("c-8")
    response = upload(switch, "c-8", wav_pcm(1.0), masked='[{"start_ms": 5}]')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_masked"


# --- list and detail --------------------------------------------------------------------------------


def test_list_by_call_id_is_the_contract(stored, db):
    rec, data = stored
    lead = make_staff(Role.TEAM_LEAD)
    response = client_as(lead).get("/api/recordings/", {"call_id": "c-1"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["results"] == [
        {
            "id": rec.pk,
            "call_id": "c-1",
            "agent": "agent-a",
            "started_at": body["results"][0]["started_at"],
            "duration_s": 2.0,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    ]
    assert client_as(lead).get("/api/recordings/", {"call_id": "other"}).json()["count"] == 0


def test_list_filters(stored, db, switch):
    make_call("c-9", ani="tel:+86-139-1111-2222", disposition="resolved")
    upload(switch, "c-9", wav_pcm(1.0))
    lead = client_as(make_staff(Role.TEAM_LEAD))
    assert [r["call_id"] for r in lead.get("/api/recordings/", {"ani": "13911112222"}).json()["results"]] == ["c-9"]
    assert [r["call_id"] for r in lead.get("/api/recordings/", {"agent": "agent-a"}).json()["results"]] == ["c-1"]
    assert [r["call_id"] for r in lead.get("/api/recordings/", {"customer": 77}).json()["results"]] == ["c-1"]
    assert lead.get("/api/recordings/", {"disposition": "resolved"}).json()["count"] == 1
    today = timezone.localdate().isoformat()
    assert lead.get("/api/recordings/", {"date_from": today, "date_to": today}).json()["count"] == 2
    assert lead.get("/api/recordings/", {"date_to": "2020-01-01"}).json()["count"] == 0
    bad = lead.get("/api/recordings/", {"date_from": "yesterday"})
    assert bad.status_code == 400 and "error" in bad.json()


def test_detail(stored, agent):
    rec, _data = stored
    body = client_as(agent).get(f"/api/recordings/{rec.pk}/").json()
    assert body["id"] == rec.pk and body["format"] == "wav_pcm" and body["row_hash"] == rec.row_hash
    assert body["audio_url"] == f"/api/recordings/{rec.pk}/audio/"


# --- audio with Range -------------------------------------------------------------------------------


def _get(client, rec, range_header=None, path="audio"):
    extra = {"HTTP_RANGE": range_header} if range_header else {}
    response = client.get(f"/api/recordings/{rec.pk}/{path}/", **extra)
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return response, content


def test_whole_file_without_range(stored, agent):
    rec, data = stored
    response, content = _get(client_as(agent), rec)
    assert response.status_code == 200
    assert content == data
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(data))


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),  # the first bytes
        ("bytes=1000-1999", 1000, 1999),  # the middle
        ("bytes=-500", None, None),  # suffix: the last 500
        ("bytes=30000-", 30000, None),  # open: to the end
        ("bytes=0-99999999", 0, None),  # past the end: clipped
    ],
)
def test_ranges(stored, agent, header, start, end):
    rec, data = stored
    size = len(data)
    if start is None:
        start, end = size - 500, size - 1
    end = size - 1 if end is None else end
    response, content = _get(client_as(agent), rec, header)
    assert response.status_code == 206
    assert content == data[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert response["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize(
    "header", ["bytes=999999-", "bytes=50-10", "bytes=abc", "items=0-5", "bytes=-0", "bytes=0-1,5-6"]
)
def test_bad_or_unsatisfiable_range_is_416(stored, agent, header):
    rec, data = stored
    response, _content = _get(client_as(agent), rec, header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


def test_if_range_with_another_etag_sends_the_whole_file(stored, agent):
    rec, data = stored
    response = client_as(agent).get(f"/api/recordings/{rec.pk}/audio/", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"other"')
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data


def test_content_type_per_format(switch, agent):
    make_call("c-10", agent=agent)
    rec_id = upload(switch, "c-10", ogg_opus(1.0)).json()["id"]
    response = client_as(agent).get(f"/api/recordings/{rec_id}/audio/")
    assert response["Content-Type"] == "audio/ogg"


# --- playback audit ---------------------------------------------------------------------------------


def test_one_audit_row_per_playback(stored, agent, settings):
    """A browser's listening: a first request, then many ranges and a seek — one playback row."""
    rec, data = stored
    client = client_as(agent)
    for header in [None, "bytes=0-", "bytes=4096-", "bytes=20000-", "bytes=-500", "bytes=0-1"]:
        assert _get(client, rec, header)[0].status_code in (200, 206)
    plays = AuditEvent.objects.filter(object_type="recording", object_id=str(rec.pk), action="recording.play")
    assert plays.count() == 1
    assert plays.get().actor == agent
    # Another user listening is another playback.
    lead = make_staff(Role.TEAM_LEAD)
    _get(client_as(lead), rec, "bytes=0-")
    assert plays.count() == 2
    # And the listed API finds them.
    audit = client_as(lead).get("/api/audit/", {"object_type": "recording", "object_id": rec.pk}).json()
    assert sorted(row["action"] for row in audit["results"]) == [
        "recording.ingested",
        "recording.play",
        "recording.play",
    ]


def test_a_new_playback_after_the_window(stored, agent, settings):
    from django.core.cache import cache

    rec, _data = stored
    client = client_as(agent)
    _get(client, rec)
    cache.delete(f"recordings:playback:{agent.pk}:{rec.pk}")  # the window passed
    _get(client, rec, "bytes=0-")
    assert AuditEvent.objects.filter(object_id=str(rec.pk), action="recording.play").count() == 2


def test_a_refused_range_is_no_playback(stored, agent):
    rec, _data = stored
    _get(client_as(agent), rec, "bytes=999999-")
    assert not AuditEvent.objects.filter(object_id=str(rec.pk), action="recording.play").exists()


# --- download and legal hold ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.MAINTAINER, Role.TEAM_LEAD])
def test_download_for_allowed_roles_is_audited_every_time(stored, role):
    rec, data = stored
    client = client_as(make_staff(role))
    for _ in range(2):
        response, content = _get(client, rec, path="download")
        assert response.status_code == 200
        assert content == data
        assert response["Content-Disposition"].startswith("attachment;")
    assert AuditEvent.objects.filter(object_id=str(rec.pk), action="recording.download").count() == 2


def test_agent_may_play_but_not_download_their_own(stored, agent):
    rec, _data = stored
    response, _content = _get(client_as(agent), rec, path="download")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="recording.download").exists()


def test_legal_hold_needs_a_reason_and_is_audited(stored):
    rec, _data = stored
    director = client_as(make_staff(Role.DIRECTOR))
    no_reason = director.post(f"/api/recordings/{rec.pk}/legal-hold/", {"hold": True, "reason": " "}, format="json")
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "reason_required"
    held = director.post(
        f"/api/recordings/{rec.pk}/legal-hold/", {"hold": True, "reason": "诉讼 2026-17"}, format="json"
    )
    assert held.status_code == 200 and held.json()["legal_hold"] is True
    cleared = director.post(f"/api/recordings/{rec.pk}/legal-hold/", {"hold": False, "reason": "结案"}, format="json")
    assert cleared.json()["legal_hold"] is False
    actions = list(
        AuditEvent.objects.filter(object_id=str(rec.pk), action__startswith="recording.legal").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["recording.legal_hold_cleared", "recording.legal_hold_set"]


def test_team_lead_cannot_set_a_legal_hold(stored):
    rec, _data = stored
    lead = client_as(make_staff(Role.TEAM_LEAD))
    response = lead.post(f"/api/recordings/{rec.pk}/legal-hold/", {"hold": True, "reason": "x"}, format="json")
    assert response.status_code == 403
    rec.refresh_from_db()
    assert rec.legal_hold is False


def test_purged_recording_answers_410(stored, agent):
    rec, _data = stored
    Recording.objects.filter(pk=rec.pk).update(purged_at=timezone.now())
    response, _content = _get(client_as(agent), rec)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "purged"
    detail = client_as(agent).get(f"/api/recordings/{rec.pk}/").json()
    assert detail["audio_url"] is None


def test_a_missing_file_is_a_clear_error_not_a_broken_stream(stored, agent, recordings_dir):
    rec, _data = stored
    (recordings_dir / rec.storage_name).unlink()
    response, _content = _get(client_as(agent), rec, "bytes=0-9")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "file_missing"


def test_a_media_element_accept_header_still_gets_the_error_envelope(stored, agent):
    rec, _data = stored
    Recording.objects.filter(pk=rec.pk).update(purged_at=timezone.now())
    response = client_as(agent).get(f"/api/recordings/{rec.pk}/audio/", HTTP_ACCEPT="audio/webm,audio/ogg")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "purged"
    ok = client_as(agent).get(f"/api/recordings/{rec.pk + 999}/audio/", HTTP_ACCEPT="audio/wav")
    assert ok.status_code == 404


@pytest.mark.parametrize("started_at", ["0500-06-24T00:45:12Z", "2026-12-01T08:00:00+22:09"])
def test_a_time_postgresql_cannot_store_next_to_a_file_is_a_400(switch, started_at):
    """The edge rules refuse the field and still check the others: the uploaded file in the same
    body must not be deep-copied on the way (schemathesis found a 500)."""
    make_call("c-edge")
    body = {
        "call_id": "c-edge",
        "started_at": started_at,
        "file": SimpleUploadedFile("rec.wav", wav_pcm(0.5), content_type="application/octet-stream"),
        "masked": "¦ñ0w´",
    }
    response = switch.post("/api/recordings/", body, format="multipart")
    assert response.status_code == 400, response.content
    assert "started_at" in response.json()["error"]["fields"]
    assert Recording.objects.count() == 0
