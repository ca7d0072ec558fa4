from django.contrib import admin

from .models import SmsOutbox


@admin.register(SmsOutbox)
class SmsOutboxAdmin(admin.ModelAdmin):
    list_display = ["created_at", "phone", "kind", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["phone"]
    date_hierarchy = "created_at"
    readonly_fields = ["phone", "kind", "text", "related_posting_id", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
