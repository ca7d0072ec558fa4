"""Audio files for the recordings tests, made here byte by byte (no encoder needed): WAV PCM with
the ``wave`` module, WAV G.711 A-law / μ-law with its RIFF header written out, OGG Opus as real
OGG pages (OpusHead, OpusTags, audio packets with granule positions, CRCs), MP3 as a run of
valid MPEG-1 Layer III frame headers. Durations are exact by construction."""

from __future__ import annotations

import io
import math
import struct
import wave
from datetime import datetime

import pytest
from django.utils import timezone

from calls.models import Call


def wav_pcm(seconds: float, *, rate: int = 8000, channels: int = 1, tone: float = 440.0) -> bytes:
    frames = int(seconds * rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = bytearray()
        for n in range(frames):
            value = int(8000 * math.sin(2 * math.pi * tone * n / rate))
            samples += struct.pack("<h", value) * channels
        out.writeframes(bytes(samples))
    return buffer.getvalue()


def wav_g711(seconds: float, *, law: str = "alaw", rate: int = 8000) -> bytes:
    """A WAVE_FORMAT_ALAW (6) / MULAW (7) file with a ``fact`` chunk, as switches write them."""
    tag = 6 if law == "alaw" else 7
    frames = int(seconds * rate)
    data = bytes((0xD5 if law == "alaw" else 0xFF) ^ (n % 16) for n in range(frames))
    fmt = struct.pack("<HHIIHHH", tag, 1, rate, rate, 1, 8, 0)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"fact" + struct.pack("<II", 4, frames)
    chunks += b"data" + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], *, granule: int, serial: int, sequence: int, flags: int) -> bytes:
    lacing = bytearray()
    for packet in packets:
        size = len(packet)
        while size >= 255:
            lacing.append(255)
            size -= 255
        lacing.append(size)
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = header + bytes(lacing) + b"".join(packets)
    crc = _ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def ogg_opus(seconds: float, *, pre_skip: int = 312, channels: int = 1) -> bytes:
    """An OGG Opus stream of 20 ms packets; the last page's granule gives the duration."""
    serial = 0x5EC0
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, 8000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    pages = [
        _ogg_page([head], granule=0, serial=serial, sequence=0, flags=0x02),
        _ogg_page([tags], granule=0, serial=serial, sequence=1, flags=0),
    ]
    packets = int(seconds * 50)
    per_page = 50
    sequence, done = 2, 0
    while done < packets:
        batch = min(per_page, packets - done)
        done += batch
        last = done == packets
        pages.append(
            _ogg_page(
                [bytes([0xF8, 0xFF, 0xFE])] * batch,  # TOC: CELT 20 ms mono, then filler
                granule=pre_skip + done * 960,
                serial=serial,
                sequence=sequence,
                flags=0x04 if last else 0,
            )
        )
        sequence += 1
    return b"".join(pages)


def mp3(seconds: float) -> bytes:
    """MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono: 417-byte frames of 1152 samples."""
    header = bytes([0xFF, 0xFB, 0x90, 0xC0])
    frame = header + bytes(417 - 4)
    frames = round(seconds * 44100 / 1152)
    return frame * frames


def make_call(call_id: str, *, agent=None, customer_id: int | None = None, ani: str = "13800000001", **extra) -> Call:
    at: datetime = extra.pop("started_at", None) or timezone.now()
    return Call.objects.create(
        call_id=call_id, agent=agent, customer_id=customer_id, ani=ani, started_at=at, answered_at=at, **extra
    )


@pytest.fixture(name="recordings_dir")
def recordings_dir_fixture(tmp_path, settings):
    """Each test stores recordings in a directory of its own (and forgets playback windows)."""
    from django.core.cache import cache

    root = tmp_path / "recordings"
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    cache.clear()
    yield root
    cache.clear()


def upload(api, call_id: str, data: bytes, *, name: str = "rec.wav", started_at: datetime | None = None, **fields):
    """POST a file to /api/recordings/ as the switch does (multipart)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {
        "call_id": call_id,
        "started_at": (started_at or timezone.now()).isoformat(),
        "file": SimpleUploadedFile(name, data, content_type="application/octet-stream"),
        **fields,
    }
    return api.post("/api/recordings/", body, format="multipart")
