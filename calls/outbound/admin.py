"""Admin pages of campaigns, lists and the do-not-call list: read-only (every write goes
through the services, which audit it; the pages are ``/outbound/``)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Campaign, CampaignContact, DialAttempt, DoNotCall, ImportJob


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "mode", "status", "date_from", "date_to")
    list_filter = ("kind", "mode", "status")
    search_fields = ("code", "name")


@admin.register(CampaignContact)
class CampaignContactAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "phone", "name", "status", "attempts", "next_attempt_at", "last_outcome")
    list_filter = ("status", "source")
    search_fields = ("phone", "name", "source_ref")
    list_select_related = ("campaign",)


@admin.register(DoNotCall)
class DoNotCallAdmin(ReadOnlyAdmin):
    list_display = ("phone", "reason", "all_campaigns", "created_at", "removed_at")
    list_filter = ("reason", "all_campaigns")
    search_fields = ("phone",)


@admin.register(DialAttempt)
class DialAttemptAdmin(ReadOnlyAdmin):
    list_display = ("command_id", "campaign", "phone", "agent", "status", "cause", "outcome", "decided_at")
    list_filter = ("status", "outcome")
    search_fields = ("phone", "command_id", "call_id")
    list_select_related = ("campaign", "agent")


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "source", "file_name", "status", "rows_read", "rows_added", "started_at")
    list_filter = ("status", "source")
