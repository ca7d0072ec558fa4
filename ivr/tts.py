"""Prompt audio: text → 8 kHz mono 16-bit WAV with espeak-ng (Mandarin) and sox.

Rendered lazily when a WAV is first asked for (never on the switch's event path), cached under
``MEDIA_ROOT/ivr-audio/<sha256 of voice and text>.wav``. Prompts that carry a caller's data
(balances, transactions, confirmations) are rendered to a temporary file, streamed and not kept.
A missing binary degrades to text only: actions carry no ``audio_url`` and a warning is logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

AUDIO_DIR = "ivr-audio"
SAMPLE_RATE = 8000


class TtsUnavailable(Exception):
    """The TTS or resampling binary is missing or failed; callers fall back to the text."""


@lru_cache(maxsize=8)
def _binaries(tts: str, sox: str) -> tuple[str, str] | None:
    tts_path, sox_path = shutil.which(tts), shutil.which(sox)
    if not tts_path or not sox_path:
        logger.warning(
            "IVR prompt audio disabled: %s not found; prompts are sent as text only",
            tts if not tts_path else sox,
        )
        return None
    return tts_path, sox_path


def binaries() -> tuple[str, str] | None:
    return _binaries(settings.IVR_TTS_BINARY, settings.IVR_SOX_BINARY)


def available() -> bool:
    return binaries() is not None


def text_hash(text: str, voice: str | None = None) -> str:
    voice = voice or settings.IVR_TTS_VOICE
    return hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()


def cache_path(text: str) -> Path:
    return Path(settings.MEDIA_ROOT) / AUDIO_DIR / f"{text_hash(text)}.wav"


def render(text: str, destination: Path) -> None:
    """Write the WAV of ``text`` to ``destination`` atomically; raises ``TtsUnavailable``."""
    found = binaries()
    if found is None:
        raise TtsUnavailable("text-to-speech binaries are not installed")
    tts, sox = found
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, raw = tempfile.mkstemp(suffix=".wav", dir=destination.parent)
    os.close(handle)
    handle, resampled = tempfile.mkstemp(suffix=".wav", dir=destination.parent)
    os.close(handle)
    timeout = settings.IVR_TTS_TIMEOUT_S
    try:
        # The text goes on stdin, not the command line: nothing of it shows in a process list.
        subprocess.run(  # noqa: S603 - fixed binaries, no shell
            [tts, "-v", settings.IVR_TTS_VOICE, "--stdin", "-w", raw],
            input=text.encode(),
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        subprocess.run(  # noqa: S603
            [sox, raw, "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", resampled],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        os.replace(resampled, destination)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("IVR prompt audio failed (%s); the prompt is sent as text only", exc.__class__.__name__)
        raise TtsUnavailable(str(exc.__class__.__name__)) from None
    finally:
        for leftover in (raw, resampled):
            if os.path.exists(leftover):
                os.unlink(leftover)


def cached_audio(text: str) -> Path:
    """The cached WAV of ``text``, rendered now if missing."""
    path = cache_path(text)
    if not path.exists():
        render(text, path)
    return path


def transient_audio(text: str) -> Path:
    """A WAV of ``text`` in a temporary file the caller deletes (for prompts with caller data)."""
    directory = Path(tempfile.mkdtemp(prefix="ivr-tts-"))
    path = directory / "prompt.wav"
    try:
        render(text, path)
    except TtsUnavailable:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return path
