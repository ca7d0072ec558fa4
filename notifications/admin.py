"""The SMS outbox in the admin: read-only, with each message's history. Rows are written by
``services.sms_enqueue`` (or its database function) and moved by ``delivery``; the one thing a
maintainer does here is decide a dead letter (a ``failed`` message): requeue or cancel it, both
audited (``delivery.requeue`` / ``delivery.cancel``)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyMixin

from . import delivery
from .errors import NotDeadLetter
from .models import SmsEvent, SmsOutbox


class SmsEventInline(ReadOnlyMixin, admin.TabularInline):
    model = SmsEvent
    fields = ("at", "status", "attempt", "detail", "actor")
    readonly_fields = ("at", "status", "attempt", "detail", "actor")
    extra = 0


def _decide(modeladmin, request, queryset, action, done_message):
    done = 0
    for message in queryset.filter(status=SmsOutbox.Status.FAILED):
        try:
            action(message=message, actor=request.user, request=request)
        except NotDeadLetter:
            continue
        done += 1
    modeladmin.message_user(request, done_message(done), messages.SUCCESS if done else messages.WARNING)


@admin.action(description=_("Requeue the failed messages"))
def requeue(modeladmin, request, queryset):
    _decide(
        modeladmin,
        request,
        queryset,
        delivery.requeue,
        lambda n: ngettext("%(n)d message requeued.", "%(n)d messages requeued.", n) % {"n": n},
    )


@admin.action(description=_("Cancel the failed messages"))
def cancel(modeladmin, request, queryset):
    _decide(
        modeladmin,
        request,
        queryset,
        delivery.cancel,
        lambda n: ngettext("%(n)d message cancelled.", "%(n)d messages cancelled.", n) % {"n": n},
    )


@admin.register(SmsOutbox)
class SmsOutboxAdmin(admin.ModelAdmin):
    list_display = ["created_at", "phone", "kind", "status", "attempts", "sent_at", "gateway", "last_error"]
    list_filter = ["status", "kind", "gateway"]
    search_fields = ["phone", "gateway_id"]
    date_hierarchy = "created_at"
    inlines = [SmsEventInline]
    actions = [requeue, cancel]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
