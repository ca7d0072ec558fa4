from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api.serializers import InputSerializer

from .models import LeaveKind, RequestKind, RequestStatus
from .services import MAX_DAYS


class ErlangRequestSerializer(serializers.Serializer):
    calls = serializers.FloatField(min_value=0, max_value=100_000)
    interval_s = serializers.FloatField(min_value=1, max_value=86_400, default=1800)
    aht_s = serializers.FloatField(min_value=1, max_value=86_400)
    target_sl = serializers.FloatField(min_value=0.01, max_value=0.9999, default=0.8)
    target_t = serializers.FloatField(min_value=0, max_value=86_400, default=20)
    shrinkage = serializers.DecimalField(
        max_digits=6, decimal_places=4, min_value=0, max_value=Decimal("0.99"), default=Decimal("0")
    )
    max_occupancy = serializers.FloatField(min_value=0.01, max_value=1, default=1)


class ErlangARequestSerializer(ErlangRequestSerializer):
    patience_s = serializers.FloatField(min_value=1, max_value=3600, required=False)


class ErlangResponseSerializer(serializers.Serializer):
    raw_agents = serializers.IntegerField()
    agents = serializers.IntegerField()
    service_level = serializers.FloatField()
    asa_s = serializers.FloatField()
    occupancy = serializers.FloatField()
    waiting_probability = serializers.FloatField()


class RosterRequestSerializer(serializers.Serializer):
    start = serializers.DateField()
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS)


class SwapRequestSerializer(serializers.Serializer):
    agent_a = serializers.CharField(max_length=150)
    agent_b = serializers.CharField(max_length=150)
    date = serializers.DateField()


class ShiftRequestInputSerializer(InputSerializer):
    """``POST /api/wfm/requests/``: a swap ``{"kind": "swap", "colleague", "date"}`` or leave
    ``{"kind": "leave", "leave_kind", "date_from", "date_to"}``, each with an optional note."""

    kind = serializers.ChoiceField(choices=RequestKind.choices)
    colleague = serializers.CharField(max_length=150, required=False)
    date = serializers.DateField(required=False)
    leave_kind = serializers.ChoiceField(choices=LeaveKind.choices, required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        needed = ("colleague", "date") if attrs["kind"] == RequestKind.SWAP else ("leave_kind", "date_from", "date_to")
        missing = {name: [_("This field is required.")] for name in needed if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class DecisionSerializer(InputSerializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    force = serializers.BooleanField(required=False, default=False)


class ShiftRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    requester = serializers.CharField(source="requester.username")
    colleague = serializers.CharField(source="colleague.username", allow_null=True, default=None)
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    leave_kind = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
