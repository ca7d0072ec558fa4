"""What calls plugs into quality scoring (``agents.quality.recording_port``), registered in
``calls/apps.py``: a recording's summary, an agent's recordings of a period (for the weekly
sample) and whether a user may play one (``access.can_play``, the one rule)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.urls import NoReverseMatch, reverse

from agents.quality.recording_port import RecordingSide

from ..models import Recording
from . import access


def _url(name: str, pk: int, fallback: str) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return fallback


def _summary(recording: Recording) -> dict[str, Any]:
    return {
        "id": recording.pk,
        "call_id": recording.call.call_id,
        "agent_id": recording.agent_id,
        "started_at": recording.started_at,
        "duration_s": recording.duration_s,
        "audio_url": _url("recordings-api:audio", recording.pk, f"/api/recordings/{recording.pk}/audio/"),
        "page_url": _url("recordings:detail", recording.pk, f"/recordings/{recording.pk}/"),
        "peaks": list(recording.peaks or []),
        "masked": list(recording.masked_segments or []),
        "purged": recording.purged_at is not None,
    }


def summary(recording_id: int) -> dict[str, Any] | None:
    recording = Recording.objects.select_related("call").filter(pk=recording_id).first()
    return _summary(recording) if recording else None


def summaries(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = sorted({int(pk) for pk in ids})
    if not wanted:
        return {}
    return {r.pk: _summary(r) for r in Recording.objects.select_related("call").filter(pk__in=wanted)}


def agent_recordings(agent_id: int, start: datetime, end: datetime) -> list[int]:
    return list(
        Recording.objects.filter(agent_id=agent_id, started_at__gte=start, started_at__lt=end, purged_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def may_play(user: Any, recording_id: int) -> bool:
    recording = Recording.objects.filter(pk=recording_id).first()
    return recording is not None and access.can_play(user, recording)


RECORDING_SIDE = RecordingSide(
    summary=summary, summaries=summaries, agent_recordings=agent_recordings, may_play=may_play
)
