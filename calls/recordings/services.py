"""Writes of the recordings: ingest, legal hold, and the audited playback and download.

Ingest (``recording_ingest``): the file is hashed as it streams in (the API's upload handler) or
here in chunks, its format and duration are read from its headers (``audio.probe``), it is
stored through the storage API, and its row is appended to the hash chain under the chain's lock.
The same file for the same call again is the same recording: ``created`` is False and nothing
changes (the switch retries uploads).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable

from ..models import Call, Recording
from . import access, audio, integrity, storage

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, User
    from rest_framework.request import Request

logger = logging.getLogger(__name__)


class UnknownCall(NotFound):
    code = "unknown_call"
    default_message = "No call with this call id."


class TooLarge(DomainError):
    code = "too_large"
    status = 413
    default_message = "The file is larger than the recordings' size limit."


class Purged(DomainError):
    code = "purged"
    status = 410
    default_message = "The recording's file was purged at the end of its retention period."


class FileMissing(DomainError):
    code = "file_missing"
    status = 503
    default_message = "The recording's file is missing from the storage."


@dataclass(frozen=True)
class IngestResult:
    recording: Recording
    created: bool


# --- ingest -------------------------------------------------------------------------------------


def _sha256_of(content: File) -> str:
    digest = hashlib.sha256()
    content.seek(0)
    for chunk in content.chunks():
        digest.update(chunk)
    content.seek(0)
    return digest.hexdigest()


def _writable(content: File) -> File:
    """``content`` itself when its file can be written in place (an upload's temporary file),
    else a temporary copy (a file opened for reading)."""
    handle = getattr(content, "file", content)
    try:
        if handle.writable():
            return content
    except (AttributeError, ValueError):
        pass
    copy = tempfile.TemporaryFile()
    content.seek(0)
    for chunk in content.chunks():
        copy.write(chunk)
    copy.seek(0)
    return File(copy, name=content.name)


def _ivr_spans(call_id: str) -> list[tuple[datetime, datetime]]:
    """When the IVR gathered a password on this call (``ivr.selectors.secret_spans``), if the IVR
    provides it."""
    try:
        from ivr.selectors import secret_spans
    except ImportError:
        return []
    try:
        return list(secret_spans(call_id))
    except Exception:  # the IVR's read failing must not lose a recording; the switch masked anyway
        logger.exception("recordings: secret_spans failed for a call")
        return []


def masked_segments_for(
    *, call_id: str, started_at: datetime, duration_ms: int, declared: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """The parts of the recording not recorded: the switch's own list (``masked``), the IVR's
    password steps and the agent's pauses (``pause_spans``), as ``{"start_ms", "end_ms",
    "reason"}`` relative to ``started_at``, clipped to the recording, sorted, overlapping ones of
    one reason merged."""
    segments: list[tuple[int, int, str]] = []
    for item in declared or []:
        segments.append((int(item["start_ms"]), int(item["end_ms"]), str(item.get("reason") or "switch")))
    for span_start, span_end in [*_ivr_spans(call_id), *pause_spans(call_id)]:
        segments.append(
            # Outwards to whole milliseconds: a mask never covers less than the IVR's span.
            (
                math.floor((span_start - started_at).total_seconds() * 1000),
                math.ceil((span_end - started_at).total_seconds() * 1000),
                "password",
            )
        )
    clipped = sorted(
        (max(0, start), min(duration_ms, end), reason)
        for start, end, reason in segments
        if end > 0 and start < duration_ms
    )
    merged: list[list[Any]] = []
    for start, end, reason in clipped:
        if end <= start:
            continue
        if merged and merged[-1][2] == reason and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, reason])
    return [{"start_ms": start, "end_ms": end, "reason": reason} for start, end, reason in merged]


def _peaks(content: File, fmt: str) -> list[int]:
    try:
        from .waveform import peaks
    except ImportError:
        return []
    try:
        content.seek(0)
        values = peaks(content, fmt)
        return [int(value) for value in values]
    except Exception:  # a waveform is a convenience: a recording is kept without one
        logger.exception("recordings: waveform failed")
        return []
    finally:
        content.seek(0)


def recording_ingest(
    *,
    call_id: str,
    started_at: datetime,
    content: File,
    actor: AbstractBaseUser | None = None,
    masked: list[dict[str, Any]] | None = None,
    sha256: str | None = None,
) -> IngestResult:
    """Store an uploaded recording of the call ``call_id``. ``content`` is a Django ``File``
    (an upload, kept on disk by the API's handler); ``sha256`` its hash if computed as it
    streamed in. Refusals: ``unknown_call`` (404), ``too_large`` (413), ``not_audio`` (415),
    ``empty_file`` / ``length_mismatch`` (400)."""
    call = Call.objects.filter(call_id=call_id).only("pk", "call_id", "agent_id", "customer_id").first()
    if call is None:
        raise UnknownCall(_("No call with this call id."))
    size = content.size or 0
    if size > settings.RECORDINGS_MAX_BYTES:
        raise TooLarge(_("The file is larger than %(limit)s bytes.") % {"limit": settings.RECORDINGS_MAX_BYTES})
    content.seek(0)
    info = audio.probe(content, size)
    sha256 = sha256 or _sha256_of(content)
    existing = Recording.objects.filter(call=call, sha256=sha256).first()
    if existing is not None:
        return IngestResult(existing, False)
    masked_segments = masked_segments_for(
        call_id=call.call_id, started_at=started_at, duration_ms=info.duration_ms, declared=masked
    )
    if masked_segments and info.data_offset is not None:
        # A password the switch recorded anyway is silenced before the file is stored: what is
        # kept, and hashed, never holds it (docs/recordings.md "Never recording secrets").
        content = _writable(content)
        if audio.silence(content, info, masked_segments):
            sha256 = _sha256_of(content)
            existing = Recording.objects.filter(call=call, sha256=sha256).first()
            if existing is not None:
                return IngestResult(existing, False)
    elif masked_segments:
        # Compressed (Opus, MP3): decoded, silenced and encoded again; what is stored is the new
        # file, its facts and hash read from it.
        rewritten = audio.silenced_copy(content, info, masked_segments)
        if rewritten is not None:
            content = File(rewritten, name=content.name)
            size = content.size or 0
            info = audio.probe(content, size)
            sha256 = _sha256_of(content)
            existing = Recording.objects.filter(call=call, sha256=sha256).first()
            if existing is not None:
                return IngestResult(existing, False)
    peaks = _peaks(content, info.format)
    name = storage.save(
        storage.name_for(call_id=call.call_id, started_at=started_at, sha256=sha256, fmt=info.format), content
    )
    try:
        recording, created = _append_row(
            call=call,
            started_at=started_at,
            info=info,
            size=size,
            sha256=sha256,
            name=name,
            masked_segments=masked_segments,
            peaks=peaks,
            actor=actor,
        )
    except BaseException:
        storage.delete(name)
        raise
    if not created:
        storage.delete(name)
    return IngestResult(recording, created)


def _append_row(
    *,
    call: Call,
    started_at: datetime,
    info: audio.AudioInfo,
    size: int,
    sha256: str,
    name: str,
    masked_segments: list[dict[str, Any]],
    peaks: list[int],
    actor: AbstractBaseUser | None,
) -> tuple[Recording, bool]:
    try:
        with transaction.atomic():
            integrity.chain_lock()
            # Under the lock: a parallel upload of the same file may have just committed.
            existing = Recording.objects.filter(call=call, sha256=sha256).first()
            if existing is not None:
                return existing, False
            recording = integrity.chain_append(
                Recording(
                    call=call,
                    agent_id=call.agent_id,
                    customer_id=call.customer_id,
                    started_at=started_at,
                    duration_ms=info.duration_ms,
                    size=size,
                    format=info.format,
                    sample_rate=info.sample_rate,
                    channels=info.channels,
                    sha256=sha256,
                    storage_name=name,
                    masked_segments=masked_segments,
                    peaks=peaks,
                    uploaded_by=cast("User", actor) if actor is not None and actor.is_authenticated else None,
                )
            )
            audit_record(
                actor=actor,
                action="recording.ingested",
                object_type="recording",
                object_id=recording.pk,
                details={"call_id": call.call_id, "size": size, "sha256": sha256, "format": info.format},
            )
            return recording, True
    except IntegrityError:
        # The unique (call, sha256) caught a race the lock does not cover (another database
        # writer outside this code): the row that won is the recording.
        existing = Recording.objects.filter(call=call, sha256=sha256).first()
        if existing is None:
            raise
        return existing, False


# --- legal hold ---------------------------------------------------------------------------------


@transaction.atomic
def recording_legal_hold_set(
    *, recording: Recording, actor: AbstractBaseUser, hold: bool, reason: str, request: Any = None
) -> Recording:
    """Put a recording on legal hold (never purged while held) or release it; a reason always."""
    if not access.can_hold(actor, recording):
        raise Forbidden(_("Your role cannot set legal holds on recordings."))
    reason = reason.strip()
    if not reason:
        raise Unprocessable(_("Give a reason."), code="reason_required")
    recording = Recording.objects.select_for_update().get(pk=recording.pk)
    if hold and recording.purged_at is not None:
        raise Conflict(_("The recording's file was already purged."), code="purged")
    before = {"legal_hold": recording.legal_hold, "reason": recording.legal_hold_reason}
    recording.legal_hold = hold
    recording.legal_hold_reason = reason[:200] if hold else ""
    recording.save(update_fields=["legal_hold", "legal_hold_reason"])
    audit_record(
        actor=actor,
        action="recording.legal_hold_set" if hold else "recording.legal_hold_cleared",
        object_type="recording",
        object_id=recording.pk,
        details={"before": before, "reason": reason[:200]},
        request=request,
    )
    return recording


# --- playback and download ------------------------------------------------------------------------

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte (inclusive) of a ``Range`` header, ``None`` without one; a header
    that is malformed, has several ranges or lies outside the file raises ``RangeNotSatisfiable``."""
    header = header.strip()
    if not header:
        return None
    match = _RANGE.match(header.replace(" ", ""))
    if match is None:
        raise RangeNotSatisfiable(header)
    first, last = match.groups()
    if not first and not last:
        raise RangeNotSatisfiable(header)
    if not first:  # suffix: the last n bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return start, min(end, size - 1)


def _playback_starts(user: Any, recording: Recording) -> bool:
    """Whether this audio request starts a playback (the first request of this user for this
    recording after ``RECORDINGS_PLAYBACK_WINDOW_S`` without one). Each request extends the
    window, so the many Range requests of one listening, seeks included, are one playback."""
    window = settings.RECORDINGS_PLAYBACK_WINDOW_S
    key = f"recordings:playback:{user.pk}:{recording.pk}"
    try:
        if cache.add(key, 1, timeout=window):
            return True
        cache.touch(key, timeout=window)
        return False
    except Exception:  # a cache outage: count the request as a playback rather than lose one
        logger.warning("recordings: playback window unavailable; auditing the request")
        return True


def _audio_response(request: HttpRequest | Request, recording: Recording, *, attachment: bool) -> HttpResponseBase:
    size = recording.size
    content_type = audio.CONTENT_TYPES.get(recording.format, "application/octet-stream")
    etag = f'"{recording.sha256}"'
    base_headers = {"Accept-Ranges": "bytes", "ETag": etag, "X-Content-Type-Options": "nosniff"}
    header = request.META.get("HTTP_RANGE", "")
    if_range = request.META.get("HTTP_IF_RANGE", "")
    if if_range and if_range.strip() != etag:
        header = ""  # the file the client has is another one: send the whole file
    try:
        byte_range = None if attachment else parse_range(header, size)
    except RangeNotSatisfiable:
        return HttpResponse(status=416, headers={**base_headers, "Content-Range": f"bytes */{size}"})
    start, end = byte_range if byte_range is not None else (0, size - 1)
    try:
        chunks = storage.iter_bytes(recording.storage_name, start, end)
    except FileNotFoundError as exc:
        logger.error("recordings: the file of recording %s is missing", recording.pk)
        raise FileMissing(_("The recording's file is missing from the storage.")) from exc
    response = StreamingHttpResponse(
        chunks,
        status=206 if byte_range is not None else 200,
        content_type=content_type,
    )
    for name, value in base_headers.items():
        response[name] = value
    response["Content-Length"] = str(end - start + 1)
    response["Cache-Control"] = "private, no-store"
    if byte_range is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if attachment:
        response["Content-Disposition"] = (
            f'attachment; filename="recording-{recording.pk}.{storage.EXTENSIONS.get(recording.format, "bin")}"'
        )
    return response


def audio_response(request: HttpRequest | Request, recording: Recording) -> HttpResponseBase:
    """Stream a recording for playback (HTTP Range), auditing one ``recording.play`` per playback.
    The caller found ``recording`` through the selectors (the user may hear it)."""
    user = request.user
    if not access.can_play(user, recording):
        raise NotFound(_("No such recording."), code="recording_not_found")
    if recording.purged_at is not None:
        raise Purged(_("The recording's file was purged at the end of its retention period."))
    response = _audio_response(request, recording, attachment=False)
    if response.status_code in (200, 206) and _playback_starts(user, recording):
        audit_record(
            actor=user,
            action="recording.play",
            object_type="recording",
            object_id=recording.pk,
            details={"range": request.META.get("HTTP_RANGE", "")[:100]},
            request=request,
        )
    return response


def download_response(request: HttpRequest | Request, recording: Recording) -> HttpResponseBase:
    """The whole file as an attachment (roles of ``access.DOWNLOADERS``); every download audited."""
    user = request.user
    if not access.can_see(user, recording):
        raise NotFound(_("No such recording."), code="recording_not_found")
    if not access.can_download(user, recording):
        raise Forbidden(_("Your role cannot download recordings."))
    if recording.purged_at is not None:
        raise Purged(_("The recording's file was purged at the end of its retention period."))
    audit_record(
        actor=user,
        action="recording.download",
        object_type="recording",
        object_id=recording.pk,
        details={"size": recording.size, "sha256": recording.sha256},
        request=request,
    )
    return _audio_response(request, recording, attachment=True)


# --- the agent pauses the recording (a password said aloud) ------------------------------------


def recording_pause_set(*, call_id: str, actor: AbstractBaseUser, state: str, reason: str = "password") -> str:
    """The agent on ``call_id`` pauses (``pause``) or resumes (``resume``) its recording — the
    desktop does it around the password of a loss report said aloud. Recorded append-only (the
    span is masked and, where the format allows, silenced at ingest whatever the switch did) and
    told to the switch (``{"type": "recording", "call_id", "state"}`` on ``/ws/switch/``, after
    the commit). Asking for the state it is in changes nothing; → the state."""
    from ..models import CallState, RecordingPause

    with transaction.atomic():
        call = (
            Call.objects.select_for_update().filter(call_id=call_id).only("pk", "call_id", "agent_id", "state").first()
        )
        if call is None:
            raise NotFound(_("No call with this call id."), code="call_not_found")
        if call.agent_id != actor.pk or call.state != CallState.CONNECTED:
            raise Conflict(_("Only the call you are connected to."), code="not_your_call")
        last = RecordingPause.objects.filter(call=call).order_by("-at", "-pk").values_list("state", flat=True).first()
        if (last or "resume") == state:
            return state
        RecordingPause.objects.create(call=call, state=state, reason=reason, at=timezone.now(), by=cast("User", actor))
        transaction.on_commit(lambda: _tell_switch(call.call_id, state))
    return state


def _tell_switch(call_id: str, state: str) -> None:
    from .. import realtime
    from ..outbound.commands import SWITCH_GROUP

    realtime.push(SWITCH_GROUP, {"type": "recording", "call_id": call_id, "state": state})


def pause_spans(call_id: str) -> list[tuple[datetime, datetime]]:
    """The spans the agent's desktop paused the recording of ``call_id`` (an open one ends when
    the call ended, or now)."""
    from ..models import RecordingPause

    marks = list(RecordingPause.objects.filter(call__call_id=call_id).order_by("at", "pk").values_list("state", "at"))
    spans: list[tuple[datetime, datetime]] = []
    opened: datetime | None = None
    for state, at in marks:
        if state == "pause" and opened is None:
            opened = at
        elif state == "resume" and opened is not None:
            spans.append((opened, at))
            opened = None
    if opened is not None:
        ended = Call.objects.filter(call_id=call_id).values_list("ended_at", flat=True).first()
        spans.append((opened, ended or timezone.now()))
    return spans
