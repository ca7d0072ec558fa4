"""Admin of the agents app: skills are edited here (or on the wallboard), both through
``agent_skills_set`` (validated, audited, routing told); states change only through the API (so
they are logged); the state log and the callbacks (agents complete them on the desktop) are
read-only."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import AgentSkill, AgentStateLog, AgentStatus, Callback
from .services import CALL_TAKING_ROLES, agent_skills_set


def _skills_of(agent) -> dict[str, int]:
    return {skill.queue.code: skill.level for skill in AgentSkill.objects.filter(agent=agent).select_related("queue")}


def _skills_save(agent, skills: dict[str, int], actor) -> None:
    agent_skills_set(
        agent=agent, skills=[{"queue": code, "level": level} for code, level in skills.items()], actor=actor
    )


@admin.register(AgentSkill)
class AgentSkillAdmin(admin.ModelAdmin):
    """Every save and delete is the agent's whole skill list through ``agent_skills_set``; an
    existing skill changes its level only (another agent or queue is another skill)."""

    list_display = ["agent", "queue", "level"]
    list_filter = ["queue", "level"]
    list_editable = ["level"]
    search_fields = ["agent__username", "agent__first_name", "agent__last_name"]
    list_select_related = ["agent", "queue"]
    autocomplete_fields = ["agent"]

    def get_readonly_fields(self, request, obj=None):
        return ["agent", "queue"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "agent":
            field.queryset = field.queryset.filter(profile__role__in=CALL_TAKING_ROLES)
        return field

    def save_model(self, request, obj, form, change):
        skills = _skills_of(obj.agent)
        skills[obj.queue.code] = obj.level
        _skills_save(obj.agent, skills, request.user)
        obj.pk = AgentSkill.objects.get(agent=obj.agent, queue=obj.queue).pk

    def delete_model(self, request, obj):
        self.delete_queryset(request, AgentSkill.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        by_agent: dict = {}
        for skill in queryset.select_related("agent", "queue"):
            by_agent.setdefault(skill.agent, set()).add(skill.queue.code)
        for agent, codes in by_agent.items():
            remaining = {code: level for code, level in _skills_of(agent).items() if code not in codes}
            _skills_save(agent, remaining, request.user)


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
class CallbackAdmin(ReadOnlyAdmin):
    list_display = ["phone", "queue", "status", "due_at", "assigned_to", "attempts", "created_at"]
    list_filter = ["status", "queue"]
    search_fields = ["phone"]
    list_select_related = ["queue", "assigned_to"]
    raw_id_fields = ["call", "assigned_to", "created_by", "completed_by"]


from .quality import admin as _qa_admin  # noqa: E402, F401  (registers the quality-scoring models)
from .scheduling import admin as _wfm_admin  # noqa: E402, F401  (registers the workforce models)
