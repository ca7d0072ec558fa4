"""Admin of the tickets app. Work orders are read-only here (every change goes through the
services, so it has its event); the maintainer edits the holiday calendar."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from org.admin import UnitScopedAdmin

from . import services
from .models import CalendarDay, CalendarYear, Ticket, TicketEvent


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TicketEventInline(ReadOnlyMixin, admin.TabularInline):
    model = TicketEvent
    fields = ["created_at", "action", "actor_username", "before", "after", "note"]
    readonly_fields = fields
    extra = 0


@admin.register(Ticket)
class TicketAdmin(ReadOnlyMixin, UnitScopedAdmin):
    list_display = ["id", "kind", "category", "state", "unit", "received_at", "due_at", "due_estimated", "closed_at"]
    list_filter = ["state", "category", "kind", "due_estimated", "unit"]
    list_select_related = ["unit"]
    search_fields = ["=id", "call_id", "description"]
    date_hierarchy = "received_at"
    inlines = [TicketEventInline]


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "complete", "source", "updated_at", "updated_by", "note"]
    list_filter = ["complete", "source"]
    fields = ["year", "complete", "note"]

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        obj.source = "maintainer"
        super().save_model(request, obj, form, change)
        moved = services.tickets_due_recompute(actor=request.user, year=obj.year)
        if moved:
            messages.info(request, _("%(count)s open work-order deadlines were recomputed.") % {"count": moved})


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_working_day", "name", "source"]
    list_filter = ["is_working_day", "source"]
    date_hierarchy = "date"
    search_fields = ["name"]
    fields = ["date", "is_working_day", "name"]

    def save_model(self, request, obj, form, change):
        obj.source = "maintainer"
        super().save_model(request, obj, form, change)
        self._after_change(request, obj)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._after_change(request, obj)

    def _after_change(self, request, obj):
        CalendarYear.objects.filter(year=obj.date.year).update(source="maintainer", updated_by=request.user)
        moved = services.tickets_due_recompute(actor=request.user, affected=obj.date)
        if moved:
            messages.info(request, _("%(count)s open work-order deadlines were recomputed.") % {"count": moved})
