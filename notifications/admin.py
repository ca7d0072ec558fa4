"""The SMS outbox in the admin: read-only. Rows are written by ``services.sms_enqueue`` (or its
database function); their delivery state belongs to the sender, not to a hand in the admin."""

from django.contrib import admin

from .models import SmsOutbox


@admin.register(SmsOutbox)
class SmsOutboxAdmin(admin.ModelAdmin):
    list_display = ["created_at", "phone", "kind", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["phone"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
