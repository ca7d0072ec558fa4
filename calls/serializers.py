"""Request and response shapes of the calls API; the websocket pushes use the same ones."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.serializers import FlatInputSerializer, InputSerializer
from core.api.telephony import AniField, CallIdField
from core.api.validation import MESSAGES, datetime_error

from .models import CTI_EVENT_TYPES, Call, Direction, Disposition

EVENT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,99}")


def _fail(message: str, code: str) -> serializers.ValidationError:
    return serializers.ValidationError(serializers.ErrorDetail(message, code=code))


class CtiEventSerializer(FlatInputSerializer):
    """One CTI event: ``{"event_id", "call_id", "type", "ts", "queue", "agent", "ani"}`` (+ optional
    ``dnis``, ``direction``). For ``transferred``, ``queue`` / ``agent`` name the target."""

    event_id = serializers.CharField(max_length=100)
    call_id = CallIdField()  # core.api.telephony: the same rule as the IVR's
    type = serializers.CharField(max_length=16)
    ts = serializers.CharField(max_length=40)
    queue = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True)
    agent = serializers.CharField(max_length=150, required=False, allow_blank=True, allow_null=True)
    ani = AniField(allow_null=True)
    dnis = AniField(allow_null=True, code="invalid_dnis")  # the called number: the same forms
    direction = serializers.CharField(max_length=8, required=False, allow_blank=True, allow_null=True)
    # An outbound dial's events (docs/cti.md "The switch contract"): the command they answer,
    # and for ``ended`` the cause (busy, no_answer, rejected, invalid_number).
    command_id = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    cause = serializers.ChoiceField(
        choices=("busy", "no_answer", "rejected", "invalid_number", "failed", "normal"),
        required=False,
        allow_blank=True,
    )

    def validate_event_id(self, value: str) -> str:
        if not EVENT_ID_PATTERN.fullmatch(value):
            raise _fail(_("1–100 letters, digits and . _ : @ / + = -"), "invalid_event_id")
        return value

    def validate_command_id(self, value: str | None) -> str:
        if value and not EVENT_ID_PATTERN.fullmatch(value):
            raise _fail(_("1–64 letters, digits and . _ : @ / + = -"), "invalid_command_id")
        return value or ""

    def validate_type(self, value: str) -> str:
        if value not in CTI_EVENT_TYPES and value != "dialing":
            raise _fail(_("Unknown event type."), "invalid_event_type")
        return value

    def validate_ts(self, value: str):
        try:
            ts = parse_datetime(value)
        except ValueError:
            ts = None
        if ts is None:
            raise _fail(_("Not an ISO 8601 time."), "invalid_ts")
        if timezone.is_naive(ts):
            raise _fail(_("Give the time with its UTC offset."), "naive_ts")
        edge = datetime_error(ts)  # an offset or a year PostgreSQL cannot store
        if edge:
            raise _fail(str(MESSAGES[edge]), "invalid_ts")
        if ts > timezone.now() + timedelta(seconds=settings.CALLS_TS_FUTURE_TOLERANCE_S):
            raise _fail(_("The time is in the future."), "ts_in_future")
        return ts

    def validate_direction(self, value: str | None) -> str:
        if value and value not in Direction.values:
            raise _fail(_("inbound or outbound."), "invalid_direction")
        return value or ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["type"]
        outbound = bool(attrs.get("command_id"))
        if kind == "dialing" and not outbound:
            raise _fail(_("A dialing event names its command."), "command_id_required")
        if kind == "queued" and not attrs.get("queue"):
            raise _fail(_("A queued event names its queue."), "queue_required")
        if kind == "ringing" and not attrs.get("agent") and not outbound:
            raise _fail(_("A ringing event names its agent."), "agent_required")
        if kind == "transferred" and not (attrs.get("queue") or attrs.get("agent")):
            raise _fail(_("A transfer names its target queue or agent."), "transfer_target_required")
        return attrs


class CallStatusSerializer(serializers.Serializer):
    """``GET /api/calls/{call_id}/`` — what the switch needs: where the call is, which extension."""

    state = serializers.CharField()
    queue = serializers.SerializerMethodField()
    agent = serializers.SerializerMethodField()
    extension = serializers.SerializerMethodField()
    callback_offer = serializers.SerializerMethodField()

    def get_queue(self, call: Call) -> str | None:
        return call.queue.code if call.queue_id else None  # type: ignore[union-attr]  # id checked

    def _live_agent(self, call: Call):
        return call.agent if call.agent_id and call.state in ("offered", "connected") else None

    def get_agent(self, call: Call) -> str | None:
        agent = self._live_agent(call)
        return agent.get_username() if agent else None

    def get_extension(self, call: Call) -> str | None:
        agent = self._live_agent(call)
        profile = getattr(agent, "profile", None) if agent else None
        return (profile.extension or None) if profile else None

    def get_callback_offer(self, call: Call) -> bool:
        return call.state == "queued" and call.callback_offered_at is not None


class CallDetailSerializer(serializers.ModelSerializer):
    """A call as the agent's desktop and the team lead see it."""

    queue = serializers.SerializerMethodField()
    queue_name = serializers.SerializerMethodField()
    agent = serializers.SerializerMethodField()
    recording_url = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "call_id",
            "state",
            "held",
            "direction",
            "ani",
            "dnis",
            "queue",
            "queue_name",
            "agent",
            "verified",
            "ivr_path",
            "customer_id",
            "is_test",
            "started_at",
            "queued_at",
            "offered_at",
            "answered_at",
            "ended_at",
            "wrapup_at",
            "offer_expires_at",
            "wait_ms",
            "talk_ms",
            "hold_ms",
            "acw_ms",
            "abandoned",
            "transfers",
            "disposition",
            "note",
            "end_reason",
            "recording_url",
        ]

    def get_queue(self, call: Call) -> str | None:
        return call.queue.code if call.queue_id else None  # type: ignore[union-attr]  # id checked

    def get_queue_name(self, call: Call) -> str:
        return call.queue.display_name if call.queue_id else ""  # type: ignore[union-attr]  # id checked

    def get_agent(self, call: Call) -> str | None:
        return call.agent.get_username() if call.agent_id else None  # type: ignore[union-attr]  # id checked

    def get_recording_url(self, call: Call) -> str | None:
        # Recordings are stored by call_id (DESIGN.md §6 Recordings); only answered calls have one.
        return f"/api/recordings/?call_id={call.call_id}" if call.answered_at else None


class WrapupSerializer(InputSerializer):
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    ticket = serializers.DictField(required=False, allow_null=True)

    def validate_ticket(self, value):
        if value is None:
            return None
        unknown = set(value) - {"kind", "category", "description"}
        if unknown:
            raise _fail(_("Unknown field."), "unknown_field")
        return {key: str(value.get(key) or "") for key in ("kind", "category", "description")}


class TransferSerializer(InputSerializer):
    queue = serializers.SlugField(max_length=40, required=False, allow_blank=True, default="")
    agent = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class CallbackAcceptSerializer(InputSerializer):
    phone = serializers.RegexField(r"^[0-9-]{3,32}$", required=False, allow_blank=True, default="")


class EmptySerializer(InputSerializer):
    pass
