from typing import TYPE_CHECKING, cast

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .auth import token_obtain
from .models import Outlet, Unit
from .navigation import home_url_for
from .permissions import roles_allowed
from .roles import CENTER_ROLES, Role
from .scoping import user_role
from .selectors import outlet_list, unit_list
from .serializers import (
    MeSerializer,
    OutletSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
    UnitSerializer,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

STAFF_ROLES = (*CENTER_ROLES, Role.UNIT_STAFF)


class TokenObtainApi(APIView):
    """``POST /api/auth/token/`` ``{"username", "password"}`` → ``{"token"}``; failures count toward lockout."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    error_statuses = (429,)  # account_locked (core/api/schema.py)

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer})
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = token_obtain(request=request._request, **serializer.validated_data)
        return Response({"token": token.key}, status=status.HTTP_200_OK)


class MeApi(APIView):
    @extend_schema(responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        user = cast("User", request.user)  # authenticated: the default permission class
        profile = getattr(user, "profile", None)
        data = {
            "username": user.get_username(),
            "name": user.get_full_name(),
            "role": user_role(user),
            "unit": profile.unit.code if profile and profile.unit_id else None,
            "home": home_url_for(user),
        }
        return Response(MeSerializer(data).data)


class UnitListApi(generics.ListAPIView):
    """``GET /api/org/units/``: branches B01…B10 and head-office departments."""

    permission_classes = [roles_allowed(*STAFF_ROLES)]
    serializer_class = UnitSerializer

    def get_queryset(self) -> QuerySet[Unit]:
        return unit_list(user=self.request.user)


class OutletListApi(generics.ListAPIView):
    """Outlets, scoped: unit staff see their own unit's outlets only."""

    permission_classes = [roles_allowed(*STAFF_ROLES)]
    serializer_class = OutletSerializer

    def get_queryset(self) -> QuerySet[Outlet]:
        return outlet_list(user=self.request.user, unit_code=self.request.query_params.get("unit"))


class OutletDetailApi(generics.RetrieveAPIView):
    permission_classes = [roles_allowed(*STAFF_ROLES)]
    serializer_class = OutletSerializer

    def get_object(self) -> Outlet:
        return get_object_or_404(outlet_list(user=self.request.user), code=self.kwargs["code"])
