"""Admin of workforce management: shift templates, agents' work rules, leave and preferences
are configured here (every change audited); rosters are computed on the rosters page and only read here."""

from django.contrib import admin

from audit.admin import AuditedAdminMixin
from core.admin import ReadOnlyAdmin

from .models import Leave, Roster, ShiftPreference, ShiftTemplate, WorkRule


@admin.register(ShiftTemplate)
class ShiftTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "start", "end", "paid_minutes", "night", "active"]
    list_filter = ["night", "active"]


@admin.register(WorkRule)
class WorkRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["agent", "no_nights", "no_nights_reason", "week_hours", "in_roster"]
    list_filter = ["no_nights", "in_roster"]
    search_fields = ["agent__username"]
    raw_id_fields = ["agent"]


@admin.register(Leave)
class LeaveAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["agent", "kind", "date_from", "date_to", "note"]
    list_filter = ["kind"]
    search_fields = ["agent__username"]
    date_hierarchy = "date_from"
    raw_id_fields = ["agent"]


@admin.register(ShiftPreference)
class ShiftPreferenceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["agent", "date", "shift", "weight"]
    search_fields = ["agent__username"]
    raw_id_fields = ["agent"]


@admin.register(Roster)
class RosterAdmin(ReadOnlyAdmin):
    list_display = ["start", "days", "status", "progress", "objective", "bound", "solve_seconds", "published_at"]
    list_filter = ["status"]
