"""The risk API's shapes (DESIGN.md §6): an alert is ``{"id", "rule", "customer", "created_at",
"status", "details"}`` — exactly these keys."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Alert, AlertEvidence, AlertLog


class AlertSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", allow_null=True, read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "rule", "customer", "created_at", "status", "details"]
        read_only_fields = fields


class AlertEvidenceSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", allow_null=True, read_only=True)
    account = serializers.IntegerField(source="account_id", allow_null=True, read_only=True)

    class Meta:
        model = AlertEvidence
        fields = ["source", "source_id", "kind", "at", "call_id", "customer", "account", "summary"]
        read_only_fields = fields


class AlertLogSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default="", read_only=True)

    class Meta:
        model = AlertLog
        fields = ["action", "actor", "before", "after", "note", "created_at"]
        read_only_fields = fields


class AlertDetailSerializer(AlertSerializer):
    # Empty until the alert is closed (the schema lists "" with the outcomes).
    outcome = serializers.ChoiceField(choices=[("", ""), *Alert.Outcome.choices], read_only=True)
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True, read_only=True)
    account = serializers.IntegerField(source="account_id", allow_null=True, read_only=True)
    evidence = AlertEvidenceSerializer(many=True, read_only=True)
    history = AlertLogSerializer(source="log", many=True, read_only=True)

    class Meta(AlertSerializer.Meta):
        fields = [
            *AlertSerializer.Meta.fields,
            "outcome",
            "account",
            "call_id",
            "assignee",
            "hits",
            "last_seen_at",
            "evidence",
            "history",
        ]
        read_only_fields = fields


class AlertQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("active", _("Not closed")), *Alert.Status.choices], required=False)
    rule = serializers.ChoiceField(choices=Alert.Rule.choices, required=False)


class AlertReportSerializer(serializers.Serializer):
    """An agent's report from the call they hold."""

    call_id = serializers.CharField(max_length=128)
    note = serializers.CharField(max_length=2000)
    customer = serializers.IntegerField(required=False, min_value=1, max_value=2**62)


class AlertAssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(min_value=1, max_value=2**62)


class AlertNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AlertCommentSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class AlertCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Alert.Outcome.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
