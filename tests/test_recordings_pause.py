"""Never recording a password said aloud: the agent's desktop pauses the recording around a loss
report verified by password (``POST /api/recordings/pause/``); the switch is told, and the span is
masked — and silenced in the stored file (WAV in place, Opus and MP3 encoded again) — whatever the
switch did. The IVR's password steps are silenced the same way."""

from __future__ import annotations

import io
import struct
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from calls.models import CallState, Recording, RecordingPause
from calls.recordings import integrity, storage
from org.roles import Role
from tests.factories import make_staff
from tests.recordings_helpers import make_call, recordings_dir_fixture, upload, wav_g711, wav_pcm  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recordings_dir")]


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def on_call():
    agent = make_staff(Role.AGENT)
    call = make_call(
        "pause-call-1", agent=agent, state=CallState.CONNECTED, started_at=timezone.now() - timedelta(seconds=20)
    )
    return agent, call


def test_the_agent_pauses_and_resumes_and_the_switch_is_told(on_call, monkeypatch, django_capture_on_commit_callbacks):
    agent, call = on_call
    told = []
    monkeypatch.setattr("calls.recordings.services._tell_switch", lambda call_id, state: told.append((call_id, state)))
    with django_capture_on_commit_callbacks(execute=True):
        paused = _client(agent).post(
            "/api/recordings/pause/", {"call_id": call.call_id, "state": "pause"}, format="json"
        )
        again = _client(agent).post(
            "/api/recordings/pause/", {"call_id": call.call_id, "state": "pause"}, format="json"
        )
        resumed = _client(agent).post(
            "/api/recordings/pause/", {"call_id": call.call_id, "state": "resume"}, format="json"
        )
    assert paused.status_code == again.status_code == resumed.status_code == 200
    assert told == [(call.call_id, "pause"), (call.call_id, "resume")]  # asking twice changes nothing
    assert list(RecordingPause.objects.values_list("state", flat=True)) == ["pause", "resume"]


def test_only_the_agent_on_the_call_pauses_it(on_call):
    _agent, call = on_call
    other = make_staff(Role.AGENT)
    refused = _client(other).post("/api/recordings/pause/", {"call_id": call.call_id, "state": "pause"}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_your_call"
    missing = _client(other).post("/api/recordings/pause/", {"call_id": "nope", "state": "pause"}, format="json")
    assert missing.status_code == 404
    bad = _client(other).post("/api/recordings/pause/", {"call_id": call.call_id, "state": "stop"}, format="json")
    assert bad.status_code == 400 and "state" in bad.json()["error"]["fields"]
    switch = _client(make_staff(Role.SWITCH))
    assert (
        switch.post("/api/recordings/pause/", {"call_id": call.call_id, "state": "pause"}, format="json").status_code
        == 403
    )


def _samples(recording: Recording) -> list[int]:
    data = b"".join(storage.iter_bytes(recording.storage_name))
    body = data[44:]
    return list(struct.unpack(f"<{len(body) // 2}h", body))


def test_a_paused_span_is_silenced_in_the_stored_file_and_the_hash_is_the_stored_files(on_call):
    agent, call = on_call
    started = call.started_at
    RecordingPause.objects.create(call=call, state="pause", at=started + timedelta(seconds=2), by=agent)
    RecordingPause.objects.create(call=call, state="resume", at=started + timedelta(seconds=3), by=agent)
    response = upload(_client(make_staff(Role.SWITCH)), call.call_id, wav_pcm(5.0, rate=8000), started_at=started)
    assert response.status_code == 201, response.content
    assert response.json()["masked_segments"] == [{"start_ms": 2000, "end_ms": 3000, "reason": "password"}]
    recording = Recording.objects.get()
    samples = _samples(recording)
    assert all(value == 0 for value in samples[16000:24000])  # 2.000 s … 3.000 s at 8 kHz
    assert any(samples[15000:16000]) and any(samples[24000:25000])  # around it the tone is kept
    assert integrity.verify().ok  # the stored file is what the row's SHA-256 says


def test_g711_is_silenced_with_its_own_silence(on_call):
    agent, call = on_call
    started = call.started_at
    RecordingPause.objects.create(call=call, state="pause", at=started + timedelta(seconds=1), by=agent)
    # still paused when the call ended: the span runs to the end of the call
    call.ended_at = started + timedelta(seconds=2)
    call.save(update_fields=["ended_at"])
    response = upload(_client(make_staff(Role.SWITCH)), call.call_id, wav_g711(3.0, law="alaw"), started_at=started)
    assert response.status_code == 201, response.content
    data = b"".join(storage.iter_bytes(Recording.objects.get().storage_name))
    header = data.index(b"data") + 8
    assert set(data[header + 8000 : header + 16000]) == {0xD5}  # A-law's zero, 1 s … 2 s


def _tone(seconds: float, rate: int, fmt: str, subtype: str) -> bytes:
    import numpy
    import soundfile

    t = numpy.arange(int(seconds * rate)) / rate
    out = io.BytesIO()
    soundfile.write(out, 0.5 * numpy.sin(2 * numpy.pi * 440 * t), rate, format=fmt, subtype=subtype)
    return out.getvalue()


def _rms(samples, rate: int, start_s: float, end_s: float) -> float:
    part = samples[int(start_s * rate) : int(end_s * rate)]
    return float((part**2).mean() ** 0.5)


@pytest.mark.parametrize(
    ("fmt", "subtype", "name", "stored_format"),
    [("OGG", "OPUS", "rec.opus", "ogg_opus"), ("MP3", "MPEG_LAYER_III", "rec.mp3", "mp3")],
)
def test_a_paused_span_of_a_compressed_recording_is_silenced_by_encoding_it_again(
    on_call, fmt, subtype, name, stored_format
):
    import soundfile

    agent, call = on_call
    started = call.started_at
    RecordingPause.objects.create(call=call, state="pause", at=started + timedelta(seconds=2), by=agent)
    RecordingPause.objects.create(call=call, state="resume", at=started + timedelta(seconds=3), by=agent)
    original = _tone(5.0, 16000, fmt, subtype)
    response = upload(_client(make_staff(Role.SWITCH)), call.call_id, original, name=name, started_at=started)
    assert response.status_code == 201, response.content
    assert response.json()["masked_segments"] == [{"start_ms": 2000, "end_ms": 3000, "reason": "password"}]
    recording = Recording.objects.get()
    stored = b"".join(storage.iter_bytes(recording.storage_name))
    assert recording.format == stored_format and stored != original and recording.size == len(stored)
    samples, rate = soundfile.read(io.BytesIO(stored), dtype="float32")
    around = _rms(samples, rate, 1.0, 1.8)
    assert around > 0.2  # the tone is kept around the span (its RMS is 0.35)
    assert _rms(samples, rate, 2.0, 3.0) < 0.01 * around  # the span is silence
    assert abs(recording.duration_ms - 5000) < 200
    assert integrity.verify().ok  # the row's SHA-256 is the stored (re-encoded) file's


def test_a_compressed_recording_that_cannot_be_encoded_again_is_kept_with_its_spans_listed(
    on_call, caplog, monkeypatch
):
    import soundfile

    def broken(*_args, **_kwargs):
        raise soundfile.LibsndfileError(1, "no encoder")

    original = _tone(4.0, 16000, "OGG", "OPUS")
    monkeypatch.setattr(soundfile, "write", broken)
    agent, call = on_call
    started = call.started_at
    RecordingPause.objects.create(call=call, state="pause", at=started + timedelta(seconds=1), by=agent)
    RecordingPause.objects.create(call=call, state="resume", at=started + timedelta(seconds=2), by=agent)
    response = upload(_client(make_staff(Role.SWITCH)), call.call_id, original, name="rec.opus", started_at=started)
    assert response.status_code == 201, response.content
    assert response.json()["masked_segments"] == [{"start_ms": 1000, "end_ms": 2000, "reason": "password"}]
    assert b"".join(storage.iter_bytes(Recording.objects.get().storage_name)) == original
    assert "could not be encoded again" in caplog.text
    assert integrity.verify().ok
