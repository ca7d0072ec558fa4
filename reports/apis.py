"""``/api/reports/``: the call KPIs and the work-order figures per unit (DESIGN.md §6)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import StandardPagination
from org.permissions import roles_allowed
from org.roles import Role

from . import selectors
from .kpi import CONTRACT_KEYS
from .serializers import (
    KpiQuerySerializer,
    KpiRowSerializer,
    KpiSerializer,
    KpiTableSerializer,
    TicketsQuerySerializer,
    UnitTicketsSerializer,
)

READERS = (Role.DIRECTOR, Role.ANALYST, Role.TEAM_LEAD)
PERIOD_PARAMETERS = [
    OpenApiParameter("date_from", str, required=True, description="local date (Asia/Shanghai), inclusive"),
    OpenApiParameter("date_to", str, required=True, description="local date (Asia/Shanghai), inclusive"),
]


class KpiApi(APIView):
    """``GET /api/reports/kpi/?date_from=&date_to=&queue=`` → the §6 figures of the calls
    first queued in the period (from the rollups); with ``group_by`` a table of rows."""

    permission_classes = [roles_allowed(*READERS)]

    @extend_schema(
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter("queue", str, description="queue code"),
            OpenApiParameter("agent", str, description="username"),
            OpenApiParameter("group_by", str, enum=list(selectors.GROUPS)),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="KpiResponse",
                serializers=[KpiSerializer, KpiTableSerializer],
                resource_type_field_name=None,
            )
        },
    )
    def get(self, request: Request) -> Response:
        query = KpiQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        group_by = params.get("group_by")
        figures = selectors.call_figures(
            params["date_from"],
            params["date_to"],
            queue=params.get("queue") or None,
            agent=params.get("agent") or None,
            group_by=group_by,
        )
        if group_by is None:
            return Response({key: figures[key] for key in CONTRACT_KEYS})
        fields = list(KpiRowSerializer().fields)
        return Response(
            {
                "group_by": group_by,
                "date_from": params["date_from"].isoformat(),
                "date_to": params["date_to"].isoformat(),
                "rows": [{key: row[key] for key in fields} for row in figures],
            }
        )


class TicketsApi(generics.ListAPIView):
    """``GET /api/reports/tickets/?date_from=&date_to=`` → per unit: work orders dispatched and
    closed in the period, on-time rate, satisfaction rate (and the median time to resolve, the
    number overdue now)."""

    permission_classes = [roles_allowed(Role.DIRECTOR, Role.ANALYST)]
    pagination_class = StandardPagination
    serializer_class = UnitTicketsSerializer

    @extend_schema(parameters=PERIOD_PARAMETERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = TicketsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        period = query.validated_data
        rows = selectors.ticket_figures(period["date_from"], period["date_to"])["by_unit"]
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
