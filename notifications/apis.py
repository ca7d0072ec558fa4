"""``/api/notifications/``: the outbox for the maintainer and the director (DESIGN.md §6), and the
HTTP gateway's delivery-report webhook (docs/notifications.md)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.serializers import QuerySerializer
from org.permissions import roles_allowed
from org.roles import Role

from . import delivery
from .errors import BadReceipt, BadSignature
from .gateways.base import Receipt
from .gateways.http import verify_signature
from .models import SmsOutbox


class SmsSerializer(serializers.ModelSerializer):
    class Meta:
        model = SmsOutbox
        fields = ["id", "phone", "kind", "text", "status", "created_at"]


class SmsQuerySerializer(QuerySerializer):
    phone = serializers.RegexField(r"^\+?[0-9]{3,20}$", required=False, allow_blank=True)


class SmsListApi(generics.ListAPIView):
    """``GET /api/notifications/sms/?phone=`` → the outbox, newest first (maintainer, director)."""

    permission_classes = [roles_allowed(Role.MAINTAINER, Role.DIRECTOR)]
    serializer_class = SmsSerializer

    @extend_schema(parameters=[OpenApiParameter("phone", str, description="the number as stored")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[SmsOutbox]:
        query = SmsQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        rows = SmsOutbox.objects.order_by("-created_at", "-id")
        phone = query.validated_data.get("phone")
        return rows.filter(phone=phone) if phone else rows


class ReceiptSerializer(serializers.Serializer):
    message_id = serializers.CharField(max_length=100)
    status = serializers.ChoiceField(choices=["delivered", "failed"])
    at = serializers.DateTimeField(required=False)
    detail = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SmsReceiptApi(APIView):
    """``POST /api/notifications/sms/receipts/``: the HTTP gateway's delivery report, signed with
    the shared secret (``X-Timestamp``, ``X-Signature``: the gateway's own scheme) — no token.
    → 200 ``{"matched"}`` (false for a report of no message waiting for one: a duplicate)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    error_statuses = (403,)  # bad_signature (core/api/schema.py)

    @extend_schema(request=ReceiptSerializer, responses={200: dict})
    def post(self, request: Request) -> Response:
        body = request.body
        secret = settings.SMS_HTTP_SECRET
        if not secret or not verify_signature(
            secret, body, request.headers.get("X-Timestamp", ""), request.headers.get("X-Signature", "")
        ):
            raise BadSignature()
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            raise BadReceipt() from None
        receipt = ReceiptSerializer(data=payload if isinstance(payload, dict) else {})
        if not receipt.is_valid():
            raise BadReceipt()
        data = receipt.validated_data
        at: datetime = data.get("at") or timezone.now()
        matched = delivery.receipt_record(
            Receipt(data["message_id"], data["status"], at, data.get("detail", "")), gateway_name="http"
        )
        return Response({"matched": matched})
