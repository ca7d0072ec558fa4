import django_filters
from django.db.models import QuerySet
from rest_framework import generics, serializers

from core.api.filters import BoundedIsoDateTimeFilter
from org.permissions import roles_allowed
from org.roles import Role

from .models import AuditEvent
from .selectors import audit_event_list


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_username")

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "actor_role", "action", "object_type", "object_id", "details"]


class AuditEventFilter(django_filters.FilterSet):
    created_from = BoundedIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = BoundedIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    actor = django_filters.CharFilter(field_name="actor_username")

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id", "action", "actor"]


class AuditEventListApi(generics.ListAPIView):
    """The audit log, newest first (director, maintainer, team leads, risk officer)."""

    permission_classes = [roles_allowed(Role.DIRECTOR, Role.MAINTAINER, Role.TEAM_LEAD, Role.RISK_OFFICER)]
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_event_list()
