"""Admin of the IVR: read-only views of calls and their events (menus are edited on the menu
editor pages, which validate and version them)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin

from . import banking_port as bank
from .models import Announcement, IvrCall, IvrEvent, MenuVersion


@admin.register(MenuVersion)
class MenuVersionAdmin(ReadOnlyAdmin):
    list_display = ["number", "status", "note", "created_at", "published_at"]
    list_filter = ["status"]


@admin.register(Announcement)
class AnnouncementAdmin(ReadOnlyAdmin):
    list_display = ["title", "position", "starts_at", "ends_at", "enabled"]
    list_filter = ["position", "enabled"]


EVENT_FIELDS = ("seq", "type", "keys", "node", "step", "created_at")


class IvrEventInline(admin.TabularInline):
    model = IvrEvent
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("digits"))
    def keys(self, event: IvrEvent) -> str:
        # Card and account numbers typed by the caller are shown masked (DESIGN.md §4).
        return bank.mask_digits(event.digits) if event.digits != IvrEvent.REDACTED else event.digits


@admin.register(IvrCall)
class IvrCallAdmin(ReadOnlyAdmin):
    list_display = ["call_id", "started_at", "version", "node", "verified", "outcome", "is_test"]
    list_filter = ["outcome", "verified", "is_test"]
    search_fields = ["call_id"]
    exclude = ["data"]  # working values of the flow; nothing an operator needs
    inlines = [IvrEventInline]
