"""Request and response shapes of ``/api/recordings/`` (DESIGN.md §6 "Recordings")."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.serializers import InputSerializer, QuerySerializer
from core.api.telephony import CallIdField

from ..models import Disposition, Recording

MAX_MASKED = 500


def _fail(message: str, code: str) -> serializers.ValidationError:
    return serializers.ValidationError(serializers.ErrorDetail(message, code=code))


class MaskedField(serializers.Field):
    """The switch's own list of paused parts: a JSON list of ``{"start_ms", "end_ms"}`` (plus an
    optional ``reason``), sent as a form field."""

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else []
            except ValueError as exc:
                raise _fail(_("masked: a JSON list of {start_ms, end_ms}."), "invalid_masked") from exc
        if not isinstance(data, list) or len(data) > MAX_MASKED:
            raise _fail(_("masked: a JSON list of {start_ms, end_ms}."), "invalid_masked")
        segments = []
        for item in data:
            if not isinstance(item, dict) or set(item) - {"start_ms", "end_ms", "reason"}:
                raise _fail(_("masked: a JSON list of {start_ms, end_ms}."), "invalid_masked")
            start, end = item.get("start_ms"), item.get("end_ms")
            if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31 for v in (start, end)):
                raise _fail(_("masked: start_ms and end_ms are whole milliseconds."), "invalid_masked")
            if end <= start:  # type: ignore[operator]  # both ints: checked above
                raise _fail(_("masked: end_ms must be after start_ms."), "invalid_masked")
            reason = item.get("reason", "switch")
            if not isinstance(reason, str) or not reason.isascii() or len(reason) > 20:
                raise _fail(_("masked: reason is a short code."), "invalid_masked")
            segments.append({"start_ms": start, "end_ms": end, "reason": reason or "switch"})
        return segments

    def to_representation(self, value: Any) -> Any:
        return value


class RecordingUploadInput(InputSerializer):
    """``POST /api/recordings/`` (multipart): ``call_id``, ``started_at``, ``file``, optional
    ``masked``."""

    call_id = CallIdField()
    started_at = serializers.DateTimeField()
    file = serializers.FileField(allow_empty_file=True)
    masked = MaskedField(required=False)


class RecordingListQuery(QuerySerializer):
    call_id = CallIdField(required=False)
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)
    agent = serializers.CharField(required=False, allow_blank=True, max_length=150)
    ani = serializers.CharField(required=False, allow_blank=True, max_length=255)
    customer = serializers.IntegerField(required=False, min_value=1)
    queue = serializers.CharField(required=False, allow_blank=True, max_length=40)
    disposition = serializers.ChoiceField(choices=Disposition.values, required=False, allow_blank=True)
    has_ticket = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_to"] < attrs["date_from"]:
            raise _fail(_("date_to is before date_from."), "invalid_date_range")
        return attrs


class LegalHoldInput(InputSerializer):
    hold = serializers.BooleanField()
    reason = serializers.CharField(max_length=200, allow_blank=True)


class RecordingSerializer(serializers.ModelSerializer):
    """A list row: exactly the contract's ``{"id", "call_id", "agent", "started_at",
    "duration_s", "size", "sha256"}``."""

    call_id = serializers.CharField(source="call.call_id")
    agent = serializers.CharField(source="agent.username", allow_null=True, default=None)
    duration_s = serializers.FloatField()

    class Meta:
        model = Recording
        fields = ["id", "call_id", "agent", "started_at", "duration_s", "size", "sha256"]


class RecordingDetailSerializer(RecordingSerializer):
    """One recording: the list row plus what the player and QA need."""

    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    audio_url = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = [
            *RecordingSerializer.Meta.fields,
            "format",
            "duration_ms",
            "sample_rate",
            "channels",
            "customer",
            "masked_segments",
            "peaks",
            "legal_hold",
            "legal_hold_reason",
            "purged_at",
            "seq",
            "row_hash",
            "audio_url",
        ]

    def get_audio_url(self, recording: Recording) -> str | None:
        if recording.purged_at is not None:
            return None
        return f"/api/recordings/{recording.pk}/audio/"


class PauseInput(InputSerializer):
    call_id = serializers.CharField(max_length=128)
    state = serializers.ChoiceField(choices=[("pause", "pause"), ("resume", "resume")])
