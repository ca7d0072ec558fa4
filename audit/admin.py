"""The audit log in the admin (read-only), and the mixin that audits the admin's own edits."""

import json
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from .models import AuditEvent
from .services import audit_record


class AuditedAdminMixin:
    """Every add, change and delete made through this ``ModelAdmin`` is also an audit event —
    who, which row, which fields (Django's own change message) — written in the admin's
    transaction. Django's ``LogEntry`` is kept as well; the audit log is the one auditors read
    (append-only, unit-scoped, ``GET /api/audit/``)."""

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        _admin_audit(request, "admin.add", obj, message)
        return super().log_addition(request, obj, message)  # type: ignore[misc]

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        _admin_audit(request, "admin.change", obj, message)
        return super().log_change(request, obj, message)  # type: ignore[misc]

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        for obj in queryset:
            _admin_audit(request, "admin.delete", obj, [])
        return super().log_deletions(request, queryset)  # type: ignore[misc]


def _admin_audit(request: HttpRequest, action: str, obj: Model, message: Any) -> None:
    changes = json.loads(json.dumps(message, default=str)) if message else []  # field labels may be lazy
    audit_record(
        actor=request.user,
        action=action,
        obj=obj,
        object_type=obj._meta.label_lower,
        details={"object": str(obj)[:200], "changes": changes},
        request=request,
    )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "actor_username",
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "ip_address",
    ]
    list_filter = ["action", "actor_role"]
    search_fields = ["actor_username", "object_id", "action"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
