from django.db.models import QuerySet

from .models import AuditEvent


def audit_event_list(*, filters: dict | None = None) -> QuerySet[AuditEvent]:
    queryset = AuditEvent.objects.select_related("actor")
    return queryset.filter(**(filters or {}))
