"""Admin of the agents app: skills are edited here (or on the wallboard); states change only
through the API (so they are logged); the state log is read-only."""

from django.contrib import admin

from calls.admin import ReadOnlyAdmin

from .models import AgentSkill, AgentStateLog, AgentStatus, Callback


@admin.register(AgentSkill)
class AgentSkillAdmin(admin.ModelAdmin):
    list_display = ["agent", "queue", "level"]
    list_filter = ["queue", "level"]
    list_editable = ["level"]
    search_fields = ["agent__username", "agent__first_name", "agent__last_name"]
    list_select_related = ["agent", "queue"]
    autocomplete_fields = ["agent"]


@admin.register(AgentStatus)
class AgentStatusAdmin(ReadOnlyAdmin):
    list_display = ["user", "state", "reason", "since", "ready_since", "call", "shift_started_at"]
    list_filter = ["state", "reason"]
    search_fields = ["user__username"]
    list_select_related = ["user", "call"]


@admin.register(AgentStateLog)
class AgentStateLogAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "agent", "previous_state", "state", "reason", "call_id", "actor"]
    list_filter = ["state", "reason"]
    search_fields = ["agent__username", "call_id"]
    date_hierarchy = "started_at"
    list_select_related = ["agent", "actor"]


@admin.register(Callback)
class CallbackAdmin(admin.ModelAdmin):
    list_display = ["phone", "queue", "status", "due_at", "assigned_to", "attempts", "created_at"]
    list_filter = ["status", "queue"]
    search_fields = ["phone"]
    list_select_related = ["queue", "assigned_to"]
    raw_id_fields = ["call", "assigned_to", "created_by", "completed_by"]
