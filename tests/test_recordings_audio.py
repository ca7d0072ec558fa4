"""Format and duration read from the file (calls/recordings/audio.py) for every accepted format,
and the refusals; files made here byte by byte, and by sox / espeak-ng when installed."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from calls.recordings.audio import AudioRefused, probe
from calls.recordings.services import RangeNotSatisfiable, masked_segments_for, parse_range
from tests.recordings_helpers import mp3, ogg_opus, wav_g711, wav_pcm


def _probe(data: bytes):
    return probe(io.BytesIO(data), len(data))


@pytest.mark.parametrize(
    ("data", "fmt", "ms", "rate"),
    [
        (wav_pcm(2.5), "wav_pcm", 2500, 8000),
        (wav_pcm(1.0, rate=16000, channels=2), "wav_pcm", 1000, 16000),
        (wav_g711(3.0, law="alaw"), "wav_alaw", 3000, 8000),
        (wav_g711(1.25, law="ulaw"), "wav_ulaw", 1250, 8000),
        (ogg_opus(4.0), "ogg_opus", 4000, 48000),
        (ogg_opus(7.5, pre_skip=0), "ogg_opus", 7500, 48000),
    ],
)
def test_duration_is_read_from_the_file(data, fmt, ms, rate):
    info = _probe(data)
    assert (info.format, info.duration_ms, info.sample_rate) == (fmt, ms, rate)


def test_mp3_duration_from_its_frames():
    info = _probe(mp3(5.0))
    assert info.format == "mp3" and info.sample_rate == 44100
    assert abs(info.duration_ms - 5000) < 50  # CBR estimate from the frame size


def _sox(*args: str) -> bytes:
    return subprocess.run(["sox", *args], check=True, capture_output=True, timeout=30).stdout


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
@pytest.mark.parametrize(
    ("encoding", "fmt"), [("signed-integer", "wav_pcm"), ("a-law", "wav_alaw"), ("u-law", "wav_ulaw")]
)
def test_sox_made_wav(encoding, fmt, tmp_path):
    out = tmp_path / "tone.wav"
    bits = "16" if encoding == "signed-integer" else "8"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-e", encoding, "-b", bits, str(out), "synth", "3.2", "sine", "440"],
        check=True,
        timeout=30,
    )
    info = _probe(out.read_bytes())
    assert (info.format, info.duration_ms) == (fmt, 3200)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_espeak_voice_wav(tmp_path):
    out = tmp_path / "voice.wav"
    subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(out), "您好，请问有什么可以帮您"], check=True, timeout=30)
    data = out.read_bytes()
    info = _probe(data)
    # espeak-ng writes a streaming header (sizes 0x7ffff…) on some versions: either it is read
    # exactly, or refused as a length that lies — never a made-up duration.
    with open(out, "rb") as handle:
        handle.seek(40)
        (declared,) = struct.unpack("<I", handle.read(4))
    if declared + 44 == len(data):
        assert info.format == "wav_pcm" and info.duration_ms > 500


def test_opus_and_mp3_through_sox_if_it_can():
    formats = subprocess.run(["sox", "--help"], capture_output=True, text=True).stdout if shutil.which("sox") else ""
    if "opus" not in formats.split() or "mp3" not in formats.split():
        pytest.skip("sox cannot write Opus or MP3 here; the hand-made files above cover both formats")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"just some text, not audio" * 4, "not_audio"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not_audio"),
        (wav_pcm(1.0)[:-1], "length_mismatch"),  # RIFF size lies
        (wav_pcm(1.0) + b"xx", "length_mismatch"),  # bytes after the declared end
        (ogg_opus(2.0)[:-3], "length_mismatch"),  # last page cut short
        (ogg_opus(2.0) + b"garbage!", "length_mismatch"),
        (wav_pcm(0.0), "empty_file"),  # a header and no samples
    ],
)
def test_refusals(data, code):
    with pytest.raises(AudioRefused) as refused:
        _probe(data)
    assert refused.value.code == code


def test_data_chunk_longer_than_the_file_is_a_length_mismatch():
    data = bytearray(wav_pcm(1.0))
    data[40:44] = struct.pack("<I", 999_999)  # the data chunk's size
    with pytest.raises(AudioRefused) as refused:
        _probe(bytes(data))
    assert refused.value.code == "length_mismatch"


def test_vorbis_is_not_accepted():
    data = bytearray(ogg_opus(1.0))
    data[28:36] = b"\x01vorbis\x00"
    with pytest.raises(AudioRefused) as refused:
        _probe(bytes(data))
    assert refused.value.code == "not_audio"


def test_masked_segments_are_relative_clipped_and_merged(monkeypatch):
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    import ivr.selectors

    spans = [
        (start + timedelta(seconds=5), start + timedelta(seconds=9)),
        (start - timedelta(seconds=3), start + timedelta(seconds=1)),
    ]
    monkeypatch.setattr(ivr.selectors, "secret_spans", lambda call_id: spans, raising=False)
    monkeypatch.setattr("calls.recordings.services.pause_spans", lambda call_id: [])  # no desktop pause
    result = masked_segments_for(
        call_id="x",
        started_at=start,
        duration_ms=20_000,
        declared=[{"start_ms": 8000, "end_ms": 12_000, "reason": "password"}],
    )
    assert result == [
        {"start_ms": 0, "end_ms": 1000, "reason": "password"},
        {"start_ms": 5000, "end_ms": 12_000, "reason": "password"},
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("", None), ("bytes=0-0", (0, 0)), ("bytes=-1", (99, 99)), ("bytes=-1000", (0, 99)), ("bytes=10-", (10, 99))],
)
def test_parse_range(header, expected):
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=5-4", "bytes=-", "bytes=1-2,4-5", "bytes=x-1", "chars=1-2"])
def test_parse_range_refuses(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)
