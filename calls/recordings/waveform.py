"""Waveform peaks for the recording player: a few hundred values 0–255, computed once at ingest.

WAV files (PCM 8/16/24/32-bit, G.711 A-law and μ-law) are decoded here with numpy and two
256-entry tables (``audioop`` is deprecated and gone in Python 3.13). OGG/Opus and MP3 are
decoded to a temporary WAV by ``sox`` when it is installed and can read them; otherwise the
player shows no waveform (``[]``), which is not an error.

The file is read in blocks, never whole: a one-hour 8 kHz recording is 57 MB of PCM.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np

POINTS = 400
BLOCK_FRAMES = 65_536

# WAVE format tags
_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE


def _alaw_table() -> np.ndarray:
    """G.711 A-law byte → linear 16-bit sample (ITU-T G.711, as ``audioop.alaw2lin``)."""
    out = np.empty(256, dtype=np.int32)
    for byte in range(256):
        value = byte ^ 0x55
        sign = value & 0x80
        exponent = (value >> 4) & 0x07
        mantissa = value & 0x0F
        if exponent == 0:
            sample = (mantissa << 4) + 8
        else:
            sample = ((mantissa << 4) + 0x108) << (exponent - 1)
        out[byte] = sample if sign else -sample
    return out


def _ulaw_table() -> np.ndarray:
    """G.711 μ-law byte → linear 16-bit sample (as ``audioop.ulaw2lin``)."""
    out = np.empty(256, dtype=np.int32)
    for byte in range(256):
        value = ~byte & 0xFF
        sign = value & 0x80
        exponent = (value >> 4) & 0x07
        mantissa = value & 0x0F
        sample = (((mantissa << 3) + 0x84) << exponent) - 0x84
        out[byte] = -sample if sign else sample
    return out


ALAW = _alaw_table()
ULAW = _ulaw_table()


class _Wav:
    __slots__ = ("bits", "block_align", "channels", "data_size", "tag")

    def __init__(self, tag: int, channels: int, bits: int, block_align: int, data_size: int) -> None:
        self.tag, self.channels, self.bits, self.block_align, self.data_size = (
            tag,
            channels,
            bits,
            block_align,
            data_size,
        )


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    return data if data is not None else b""


def _parse_header(stream: IO[bytes]) -> _Wav | None:
    """Read up to the first byte of the ``data`` chunk; ``None`` when this is no WAV we decode."""
    head = _read_exact(stream, 12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        return None
    fmt: tuple[int, int, int, int] | None = None
    while True:
        chunk = _read_exact(stream, 8)
        if len(chunk) < 8:
            return None
        chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if chunk_id == b"fmt ":
            body = _read_exact(stream, size + (size & 1))
            if len(body) < 16:
                return None
            tag, channels, _rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, bits, block_align)
        elif chunk_id == b"data":
            if fmt is None:
                return None
            tag, channels, bits, block_align = fmt
            if channels < 1 or block_align < 1:
                return None
            return _Wav(tag, channels, bits, block_align, size)
        else:
            skipped = stream.read(size + (size & 1))
            if skipped is None or len(skipped) < size:
                return None


def _decode(raw: bytes, wav: _Wav) -> np.ndarray | None:
    """Absolute sample values of one block, channels folded (max), on a 0–32768 scale."""
    usable = len(raw) - len(raw) % wav.block_align
    raw = raw[:usable]
    if not raw:
        return np.zeros(0, dtype=np.int32)
    if wav.tag == _ALAW and wav.bits == 8:
        samples = ALAW[np.frombuffer(raw, dtype=np.uint8)]
    elif wav.tag == _ULAW and wav.bits == 8:
        samples = ULAW[np.frombuffer(raw, dtype=np.uint8)]
    elif wav.tag == _PCM and wav.bits == 8:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif wav.tag == _PCM and wav.bits == 16:
        samples = np.frombuffer(raw, dtype="<i2").astype(np.int32)
    elif wav.tag == _PCM and wav.bits == 24:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        samples = np.where(value & 0x800000, value - (1 << 24), value) >> 8
    elif wav.tag == _PCM and wav.bits == 32:
        samples = (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int32)
    elif wav.tag == _FLOAT and wav.bits == 32:
        floats = np.nan_to_num(np.frombuffer(raw, dtype="<f4"))
        samples = (np.clip(floats, -1.0, 1.0) * 32767).astype(np.int32)
    else:
        return None
    absolute = np.abs(samples)
    if wav.channels > 1:
        absolute = absolute[: len(absolute) - len(absolute) % wav.channels].reshape(-1, wav.channels).max(axis=1)
    return absolute


def _blocks(stream: IO[bytes], wav: _Wav) -> Iterator[bytes]:
    # A streamed WAV may carry 0 or 0xFFFFFFFF as the data size: read to the end then.
    remaining = wav.data_size if 0 < wav.data_size < 0xFFFFFFFF else None
    step = BLOCK_FRAMES * wav.block_align
    while remaining is None or remaining > 0:
        raw = stream.read(step if remaining is None else min(step, remaining))
        if not raw:
            return
        if remaining is not None:
            remaining -= len(raw)
        yield raw


def wav_peaks(stream: IO[bytes], points: int = POINTS) -> list[int]:
    """Peaks of a WAV stream positioned at its start; ``[]`` when it is not a WAV we decode."""
    wav = _parse_header(stream)
    if wav is None:
        return []
    frames_total = None
    if 0 < wav.data_size < 0xFFFFFFFF:
        frames_total = wav.data_size // wav.block_align
    if frames_total is None:
        # Unknown length: decode everything at a fine resolution, then fold to ``points``.
        chunks = []
        for raw in _blocks(stream, wav):
            block = _decode(raw, wav)
            if block is None:
                return []
            chunks.append(_fold(block, max(1, len(block) // 64)))
        if not chunks:
            return []
        return _scale(_fold(np.concatenate(chunks), points))
    if frames_total == 0:
        return []
    buckets = min(points, frames_total)
    peak = np.zeros(buckets, dtype=np.int64)
    position = 0
    for raw in _blocks(stream, wav):
        block = _decode(raw, wav)
        if block is None:
            return []
        if not len(block):
            continue
        length = min(len(block), frames_total - position)
        if length <= 0:
            break
        block = block[:length]
        # The buckets this block touches and where each starts in it (bucket k's first frame is
        # ceil(k·total / buckets)): one reduceat per block instead of a per-frame scatter.
        first = position * buckets // frames_total
        last = (position + length - 1) * buckets // frames_total
        ks = np.arange(first, last + 1, dtype=np.int64)
        starts = np.maximum((ks * frames_total + buckets - 1) // buckets, position) - position
        peak[ks] = np.maximum(peak[ks], np.maximum.reduceat(block, starts))
        position += length
    return _scale(peak)


def _fold(values: np.ndarray, points: int) -> np.ndarray:
    """``values`` cut into ``points`` nearly equal slices, the max of each."""
    if len(values) == 0:
        return values
    points = max(1, min(points, len(values)))
    edges = (np.arange(points + 1) * len(values)) // points
    return np.maximum.reduceat(values, edges[:-1])


def _scale(peak: np.ndarray) -> list[int]:
    """0–32768 → 0–255 on a square-root curve, so quiet speech on a phone line still shows."""
    normalised = np.sqrt(np.clip(peak.astype(np.float64) / 32768.0, 0.0, 1.0))
    return [int(value) for value in np.rint(normalised * 255).astype(np.int64)]


def _sox_to_wav(path: str, timeout_s: float = 20.0) -> str | None:
    sox = shutil.which("sox")
    if sox is None:
        return None
    handle, target = tempfile.mkstemp(suffix=".wav", prefix="peaks-")
    os.close(handle)
    try:
        # 8 kHz mono 16-bit is all a 400-point waveform needs, and cheap to write.
        completed = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [sox, "-q", path, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", target],
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        os.unlink(target)
        return None
    if completed.returncode != 0:
        os.unlink(target)
        return None
    return target


def _compressed_peaks(source: str | os.PathLike[str] | BinaryIO, fmt: str, points: int) -> list[int]:
    suffix = ".mp3" if fmt == "mp3" else ".ogg"
    temp_in: str | None = None
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
    else:
        handle, temp_in = tempfile.mkstemp(suffix=suffix, prefix="peaks-in-")
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
        path = temp_in
    try:
        wav_path = _sox_to_wav(path)
        if wav_path is None:
            return []
        try:
            with open(wav_path, "rb") as stream:
                return wav_peaks(stream, points)
        finally:
            os.unlink(wav_path)
    finally:
        if temp_in is not None:
            os.unlink(temp_in)


def peaks(fileobj_or_path: str | os.PathLike[str] | IO[bytes], fmt: str, points: int = POINTS) -> list[int]:
    """About ``points`` peak values 0–255 for the player's waveform.

    ``fmt`` is a ``Recording.format`` value (``wav_pcm``, ``wav_alaw``, ``wav_ulaw``, ``ogg_opus``,
    ``mp3``). A file object is read from where it stands (rewind it first) and left at its end.
    Never raises on a file it cannot decode: the waveform is then ``[]``.
    """
    try:
        if fmt in ("ogg_opus", "mp3"):
            return _compressed_peaks(fileobj_or_path, fmt, points)  # type: ignore[arg-type]
        if isinstance(fileobj_or_path, str | os.PathLike):
            with Path(fileobj_or_path).open("rb") as stream:
                return wav_peaks(stream, points)
        return wav_peaks(fileobj_or_path, points)
    except (OSError, ValueError, struct.error):
        return []
