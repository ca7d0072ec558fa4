"""What an uploaded file is, read from the file itself (never from what the client says).

``probe(handle, size)`` reads headers only (never the whole file) and returns the format, the
duration, the sample rate and the channels, or raises ``AudioRefused`` with a stable code:

* ``not_audio`` — not one of the accepted formats (WAV PCM, WAV G.711 A-law / μ-law, OGG Opus,
  MP3), or a header that cannot be read;
* ``empty_file`` — no bytes, or a container with no audio in it;
* ``length_mismatch`` — a length the file declares is not the length it has: a WAV whose RIFF
  size or ``data`` chunk size disagrees with the bytes received, an OGG stream whose last page is
  cut short or followed by garbage.

WAV is parsed here (RIFF chunks: a few bytes); OGG Opus and MP3 durations come from mutagen
(OGG: the last page's granule position minus the pre-skip; MP3: the Xing/VBRI header or the frame
size and the file size), which reads headers and seeks, never decodes.
"""

from __future__ import annotations

import logging
import struct
import tempfile
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

logger = logging.getLogger(__name__)

WAVE_PCM, WAVE_ALAW, WAVE_ULAW, WAVE_EXTENSIBLE = 0x0001, 0x0006, 0x0007, 0xFFFE
CONTENT_TYPES = {
    "wav_pcm": "audio/wav",
    "wav_alaw": "audio/wav",
    "wav_ulaw": "audio/wav",
    "ogg_opus": "audio/ogg",
    "mp3": "audio/mpeg",
}


class AudioRefused(DomainError):
    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = {"not_audio": 415, "empty_file": 400, "length_mismatch": 400}.get(code, 400)


@dataclass(frozen=True)
class AudioInfo:
    format: str
    duration_ms: int
    sample_rate: int | None
    channels: int | None
    # WAV only: where the samples start and how many bytes a frame (all channels) takes.
    data_offset: int | None = None
    data_size: int | None = None
    block_align: int | None = None
    bits: int | None = None


def probe(handle: IO[bytes], size: int) -> AudioInfo:
    """The audio facts of the file ``handle`` (seekable, ``size`` bytes long)."""
    if size <= 0:
        raise AudioRefused("empty_file", str(_("The file is empty.")))
    handle.seek(0)
    head = handle.read(12)
    handle.seek(0)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _probe_wav(handle, size)
    if head[:4] == b"OggS":
        return _probe_ogg(handle, size)
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return _probe_mp3(handle, size)
    raise AudioRefused("not_audio", str(_("This is not a WAV, OGG Opus or MP3 audio file.")))


def _not_audio(detail: str) -> AudioRefused:
    return AudioRefused("not_audio", str(_("Unreadable or unsupported audio: %(detail)s")) % {"detail": detail})


def _mismatch(detail: str) -> AudioRefused:
    return AudioRefused(
        "length_mismatch",
        str(_("The file's declared length does not match its bytes: %(detail)s")) % {"detail": detail},
    )


def _probe_wav(handle: IO[bytes], size: int) -> AudioInfo:
    handle.seek(4)
    (riff_size,) = struct.unpack("<I", handle.read(4))
    if riff_size + 8 != size:
        raise _mismatch(f"RIFF size {riff_size + 8} bytes, file {size} bytes")
    offset, fmt, data_size, data_at = 12, None, None, 0
    while offset + 8 <= size:
        handle.seek(offset)
        chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
        body_at = offset + 8
        if body_at + chunk_size > size:
            raise _mismatch(f"chunk {chunk_id!r} declares {chunk_size} bytes, {size - body_at} follow")
        if chunk_id == b"fmt ":
            if chunk_size < 16:
                raise _not_audio("short fmt chunk")
            raw = handle.read(min(chunk_size, 40))
            tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", raw[:16])
            if tag == WAVE_EXTENSIBLE and len(raw) >= 26:
                (tag,) = struct.unpack("<H", raw[24:26])  # the sub-format GUID starts with the tag
            fmt = (tag, channels, rate, block_align, bits)
        elif chunk_id == b"data":
            data_size, data_at = chunk_size, body_at
            if fmt is not None:
                break
        offset = body_at + chunk_size + (chunk_size & 1)
    if fmt is None or data_size is None:
        raise _not_audio("no fmt or data chunk")
    tag, channels, rate, block_align, bits = fmt
    if tag == WAVE_PCM and bits in (8, 16, 24, 32):
        name = "wav_pcm"
    elif tag == WAVE_ALAW and bits == 8:
        name = "wav_alaw"
    elif tag == WAVE_ULAW and bits == 8:
        name = "wav_ulaw"
    else:
        raise _not_audio(f"WAV encoding {tag:#06x} / {bits} bits")
    if not rate or not block_align or not channels:
        raise _not_audio("zero sample rate, channels or block size")
    if data_size == 0:
        raise AudioRefused("empty_file", str(_("The file holds no audio.")))
    frames = data_size // block_align
    return AudioInfo(name, round(frames * 1000 / rate), rate, channels, data_at, data_size, block_align, bits)


# The byte a sample of silence is, per WAV encoding: unsigned 8-bit PCM's midpoint, G.711's zero.
_SILENCE = {("wav_pcm", 8): b"\x80", "wav_alaw": b"\xd5", "wav_ulaw": b"\xff"}


def silence(handle: IO[bytes], info: AudioInfo, segments: list[dict[str, Any]]) -> bool:
    """Overwrite the samples of ``segments`` (``start_ms`` … ``end_ms``) with silence, in place —
    what the platform can do itself for a password a switch recorded anyway. WAV only (the
    compressed formats are encoded again: ``silenced_copy``); → whether anything was written."""
    if info.data_offset is None or not info.block_align or not info.sample_rate or not segments:
        return False
    fill = _SILENCE.get(info.format) or _SILENCE.get((info.format, info.bits or 0)) or b"\x00"
    frames = (info.data_size or 0) // info.block_align
    written = False
    for segment in segments:
        first = max(0, int(segment["start_ms"]) * info.sample_rate // 1000)
        last = min(frames, -(-int(segment["end_ms"]) * info.sample_rate // 1000))  # rounded up
        if last <= first:
            continue
        handle.seek(info.data_offset + first * info.block_align)
        remaining = (last - first) * info.block_align
        block = fill * min(remaining, 64 * 1024)
        while remaining > 0:
            handle.write(block[:remaining])
            remaining -= min(remaining, len(block))
        written = True
    handle.flush()
    handle.seek(0)
    return written


# The compressed formats ``silenced_copy`` encodes again (libsndfile's container and codec).
_REENCODED = {"ogg_opus": ("OGG", "OPUS"), "mp3": ("MP3", "MPEG_LAYER_III")}
# Silenced around each span of a compressed file: the codecs' frames (20 ms Opus, 26 ms MP3) and
# their delays smear a sample's energy over its neighbours.
COMPRESSED_GUARD_MS = 60


def silenced_copy(handle: IO[bytes], info: AudioInfo, segments: list[dict[str, Any]]) -> IO[bytes] | None:
    """OGG Opus or MP3 with ``segments`` to silence: the file decoded, the samples of each segment
    (and ``COMPRESSED_GUARD_MS`` around it) set to zero, and encoded again in its own format, in a
    new temporary file — the only way to take a password out of a compressed recording (the rest
    goes through the codec a second time). ``None`` when there is nothing to silence, the format
    is not one of these, or the file cannot be decoded or encoded again (libsndfile, through
    soundfile): the spans then stay listed only, and the failure is logged."""
    target = _REENCODED.get(info.format)
    if target is None or not segments:
        return None
    import soundfile

    try:
        handle.seek(0)
        samples, rate = soundfile.read(handle, dtype="float32", always_2d=True)
        silenced = False
        for segment in segments:
            first = max(0, (int(segment["start_ms"]) - COMPRESSED_GUARD_MS) * rate // 1000)
            last = min(len(samples), -(-(int(segment["end_ms"]) + COMPRESSED_GUARD_MS) * rate // 1000))
            if last > first:
                samples[first:last] = 0.0
                silenced = True
        if not silenced:
            return None
        copy = tempfile.TemporaryFile()
        soundfile.write(copy, samples, rate, format=target[0], subtype=target[1])
        copy.seek(0)
        return copy
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        logger.warning(
            "recordings: a %s file could not be encoded again; its masked spans stay listed only", info.format
        )
        return None
    finally:
        handle.seek(0)


def _ogg_pages_end(handle: IO[bytes], size: int) -> None:
    """Walk the OGG page headers (seeking over the bodies): the last page must end exactly at the
    end of the file."""
    offset = 0
    while offset < size:
        handle.seek(offset)
        header = handle.read(27)
        if len(header) < 27 or header[:4] != b"OggS":
            raise _mismatch(f"no OGG page at byte {offset}")
        segments = header[26]
        lacing = handle.read(segments)
        if len(lacing) < segments:
            raise _mismatch(f"page at byte {offset} cut short")
        offset += 27 + segments + sum(lacing)
    if offset != size:
        raise _mismatch(f"last OGG page ends at byte {offset}, file {size} bytes")


def _probe_ogg(handle: IO[bytes], size: int) -> AudioInfo:
    from mutagen import MutagenError
    from mutagen.oggopus import OggOpus

    handle.seek(26)
    segments = handle.read(1)
    handle.seek(27 + (segments[0] if segments else 0))
    if handle.read(8) != b"OpusHead":
        raise _not_audio("OGG stream that is not Opus")
    _ogg_pages_end(handle, size)
    handle.seek(0)
    try:
        info = OggOpus(handle).info
    except (MutagenError, struct.error, ValueError) as exc:
        raise _not_audio(exc.__class__.__name__) from exc
    if info is None:
        raise _not_audio("no Opus stream information")
    duration_ms = round(info.length * 1000)
    if duration_ms <= 0:
        raise AudioRefused("empty_file", str(_("The file holds no audio.")))
    return AudioInfo("ogg_opus", duration_ms, 48000, info.channels)


def _probe_mp3(handle: IO[bytes], size: int) -> AudioInfo:
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    handle.seek(0)
    try:
        info = MP3(handle).info
    except (MutagenError, struct.error, ValueError) as exc:
        raise _not_audio(exc.__class__.__name__) from exc
    if info is None:
        raise _not_audio("no MPEG frames")
    duration_ms = round(info.length * 1000)
    if duration_ms <= 0:
        raise AudioRefused("empty_file", str(_("The file holds no audio.")))
    return AudioInfo("mp3", duration_ms, info.sample_rate or None, info.channels or None)
