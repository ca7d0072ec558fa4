"""Request and response shapes of the agents API (and of the ``agent.state`` push)."""

from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import InputSerializer
from org.navigation import display_name

from .models import AgentState, AgentStatus, Callback, Reason


class AgentStatusSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    name = serializers.SerializerMethodField()
    state_label = serializers.CharField(source="get_state_display")
    reason_label = serializers.CharField(source="get_reason_display")
    call_id = serializers.SerializerMethodField()
    acw_call_id = serializers.SerializerMethodField()
    skills = serializers.SerializerMethodField()

    class Meta:
        model = AgentStatus
        fields = [
            "username",
            "name",
            "state",
            "state_label",
            "reason",
            "reason_label",
            "since",
            "ready_since",
            "shift_started_at",
            "call_id",
            "acw_call_id",
            "skills",
        ]

    def get_name(self, status: AgentStatus) -> str:
        return display_name(status.user)

    def get_call_id(self, status: AgentStatus) -> str | None:
        return status.call.call_id if status.call is not None else None

    def get_acw_call_id(self, status: AgentStatus) -> str | None:
        return status.acw_call.call_id if status.acw_call is not None else None

    def get_skills(self, status: AgentStatus) -> list[dict]:
        return [{"queue": skill.queue.code, "level": skill.level} for skill in status.user.skills.all()]


class StateRequestSerializer(InputSerializer):
    state = serializers.ChoiceField(choices=[AgentState.READY, AgentState.NOT_READY, AgentState.OFFLINE])
    reason = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")


class SkillItemSerializer(InputSerializer):
    queue = serializers.SlugField(max_length=40)
    level = serializers.IntegerField(min_value=1, max_value=5)


class SkillsRequestSerializer(InputSerializer):
    skills = SkillItemSerializer(many=True)


class CallbackSerializer(serializers.ModelSerializer):
    queue = serializers.CharField(source="queue.code")
    call_id = serializers.SerializerMethodField()
    assigned_to = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Callback
        fields = [
            "id",
            "call_id",
            "phone",
            "customer_id",
            "queue",
            "status",
            "status_label",
            "due_at",
            "note",
            "assigned_to",
            "attempts",
            "outcome_note",
            "created_at",
            "completed_at",
        ]

    def get_call_id(self, callback: Callback) -> str | None:
        return callback.call.call_id if callback.call is not None else None

    def get_assigned_to(self, callback: Callback) -> str | None:
        return callback.assigned_to.get_username() if callback.assigned_to is not None else None


class CallbackCreateSerializer(InputSerializer):
    phone = serializers.RegexField(r"^[0-9-]{3,32}$")
    queue = serializers.SlugField(max_length=40)
    due_at = serializers.DateTimeField()
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    call_id = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")


class CallbackCompleteSerializer(InputSerializer):
    outcome = serializers.ChoiceField(choices=["done", "failed", "cancelled"])
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


AGENT_REASONS = [
    (value, label) for value, label in Reason.choices if value not in ("missed_offer", "login", "supervisor")
]
