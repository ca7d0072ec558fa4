"""Risk API (DESIGN.md §6): ``GET /api/risk/alerts/`` for the risk officer and the director,
``POST /api/risk/alerts/`` for an agent on their call, and the workflow actions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import NotFound
from org.permissions import roles_allowed

from . import policy, selectors, services
from .models import Alert
from .serializers import (
    AlertAssignSerializer,
    AlertCloseSerializer,
    AlertCommentSerializer,
    AlertDetailSerializer,
    AlertLogSerializer,
    AlertNoteSerializer,
    AlertQuerySerializer,
    AlertReportSerializer,
    AlertSerializer,
)

Readers = roles_allowed(*policy.READERS)


class _ReadOrReport(BasePermission):
    """GET for the readers, POST for the reporters (agents raise, never read)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method == "POST":
            return policy.can_raise(request.user)
        return policy.can_read(request.user)


def _alert(alert_id: int) -> Alert:
    alert = selectors.alert_get(alert_id)
    if alert is None:
        raise NotFound(code="alert_not_found")
    return alert


def _data(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AlertListApi(GenericAPIView):
    """``GET /api/risk/alerts/?status=&rule=`` → paginated ``{"count", "next", "previous",
    "results": [{"id", "rule", "customer", "created_at", "status", "details"}]}``, newest first
    (``status=active``: every alert not closed). ``POST`` ``{"call_id", "note", "customer"?}`` —
    an agent raises an alert from the call they hold (rule ``agent_report``) → 201 the alert."""

    permission_classes = [_ReadOrReport]
    serializer_class = AlertSerializer
    queryset = Alert.objects.none()  # for the schema: reads go through the selector

    @extend_schema(parameters=[AlertQuerySerializer], responses={200: AlertSerializer(many=True)})
    def get(self, request: Request) -> Response:
        query = AlertQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        alerts = selectors.alert_list(
            status=query.validated_data.get("status", ""), rule=query.validated_data.get("rule", "")
        )
        page = self.paginate_queryset(alerts)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=AlertReportSerializer, responses={201: AlertSerializer})
    def post(self, request: Request) -> Response:
        data = _data(AlertReportSerializer, request)
        alert = services.alert_report(
            actor=request.user, call_id=data["call_id"], note=data["note"], customer_id=data.get("customer")
        )
        return Response(AlertSerializer(alert).data, status=status.HTTP_201_CREATED)


class AlertDetailApi(GenericAPIView):
    """``GET /api/risk/alerts/{id}/`` → the alert with ``outcome``, ``account``, ``call_id``,
    ``assignee``, its ``evidence`` and its ``history``."""

    permission_classes = [Readers]
    serializer_class = AlertDetailSerializer

    def get(self, request: Request, alert_id: int) -> Response:
        return Response(self.get_serializer(_alert(alert_id)).data)


class _ActionApi(GenericAPIView):
    permission_classes = [Readers]
    serializer_class = AlertSerializer


class AlertAssignApi(_ActionApi):
    """``POST /api/risk/alerts/{id}/assign/`` ``{"assignee"}`` (a risk officer or the director)."""

    @extend_schema(request=AlertAssignSerializer, responses={200: AlertSerializer})
    def post(self, request: Request, alert_id: int) -> Response:
        data = _data(AlertAssignSerializer, request)
        assignee = get_user_model().objects.filter(pk=data["assignee"], is_active=True).first()
        if assignee is None:
            raise NotFound(code="user_not_found")
        alert = services.alert_assign(alert=_alert(alert_id), actor=request.user, assignee=assignee)
        return Response(self.get_serializer(alert).data)


class AlertCommentApi(_ActionApi):
    """``POST /api/risk/alerts/{id}/comment/`` ``{"note"}`` → 201 the history entry."""

    @extend_schema(request=AlertCommentSerializer, responses={201: AlertLogSerializer})
    def post(self, request: Request, alert_id: int) -> Response:
        data = _data(AlertCommentSerializer, request)
        entry = services.alert_comment(alert=_alert(alert_id), actor=request.user, note=data["note"])
        return Response(AlertLogSerializer(entry).data, status=status.HTTP_201_CREATED)


class AlertEscalateApi(_ActionApi):
    """``POST /api/risk/alerts/{id}/escalate/`` ``{"note"?}``."""

    @extend_schema(request=AlertNoteSerializer, responses={200: AlertSerializer})
    def post(self, request: Request, alert_id: int) -> Response:
        data = _data(AlertNoteSerializer, request)
        alert = services.alert_escalate(alert=_alert(alert_id), actor=request.user, note=data["note"])
        return Response(self.get_serializer(alert).data)


class AlertCloseApi(_ActionApi):
    """``POST /api/risk/alerts/{id}/close/`` ``{"outcome": "false_positive|reported_to_department", "note"?}``."""

    @extend_schema(request=AlertCloseSerializer, responses={200: AlertSerializer})
    def post(self, request: Request, alert_id: int) -> Response:
        data = _data(AlertCloseSerializer, request)
        alert = services.alert_close(
            alert=_alert(alert_id), actor=request.user, outcome=data["outcome"], note=data["note"]
        )
        return Response(self.get_serializer(alert).data)
