"""Admin of the calls app: queues are edited here; calls and their events are read-only (they
are built from events, and the event log is append-only)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedAdminMixin
from core.admin import ReadOnlyAdmin

from .models import Call, CallEvent, Queue


@admin.register(Queue)
class QueueAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "name_en",
        "is_active",
        "min_skill_level",
        "overflow_queue",
        "overflow_after_s",
        "callback_offer_after_s",
        "alert_waiting",
        "alert_longest_wait_s",
        "position",
    ]
    list_editable = ["is_active", "position"]
    search_fields = ["code", "name", "name_en"]
    fieldsets = [
        (None, {"fields": ["code", "name", "name_en", "is_active", "position", "min_skill_level"]}),
        (_("Overflow and callback"), {"fields": ["overflow_queue", "overflow_after_s", "callback_offer_after_s"]}),
        (_("Wallboard alerts"), {"fields": ["alert_waiting", "alert_longest_wait_s"]}),
    ]


class CallEventInline(admin.TabularInline):
    model = CallEvent
    fields = ["ts", "type", "source", "queue", "agent", "event_id", "data"]
    readonly_fields = fields  # type: ignore[assignment]  # plain field names only
    ordering = ["ts", "pk"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = [
        "call_id",
        "started_at",
        "direction",
        "ani",
        "state",
        "entry_queue",
        "agent",
        "wait_ms",
        "talk_ms",
        "abandoned",
        "disposition",
    ]
    list_filter = ["state", "direction", "abandoned", "is_test", "entry_queue", "disposition"]
    search_fields = ["call_id", "ani"]
    date_hierarchy = "started_at"
    list_select_related = ["entry_queue", "agent"]
    inlines = [CallEventInline]


@admin.register(CallEvent)
class CallEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "call", "type", "ts", "source", "queue", "agent", "received_at"]
    list_filter = ["type", "source"]
    search_fields = ["event_id", "call__call_id"]
    list_select_related = ["call", "agent"]


# The outbound tables (campaigns, lists, do-not-call) register their own read-only pages.
from .outbound import admin as outbound_admin  # noqa: E402, F401
