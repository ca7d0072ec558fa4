"""``/api/wfm/``: Erlang staffing and rosters (DESIGN.md §6 "Reports and staffing")."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from org.permissions import roles_allowed, staff_user
from org.roles import Role
from org.scoping import user_role

from . import erlang, jobs, selectors, services
from .models import RequestStatus
from .serializers import (
    DecisionSerializer,
    ErlangARequestSerializer,
    ErlangRequestSerializer,
    ErlangResponseSerializer,
    RosterRequestSerializer,
    ShiftRequestInputSerializer,
    ShiftRequestSerializer,
    SwapRequestSerializer,
)

READERS = (Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST, Role.MAINTAINER)


def _staffing(serializer_class: type[drf_serializers.Serializer], params: Any) -> tuple[dict, erlang.Staffing]:
    serializer = serializer_class(data=params)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    try:
        if data.get("patience_s"):
            result = erlang.erlang_a_staffing(**data)
        else:
            data.pop("patience_s", None)
            result = erlang.erlang_c_staffing(**data)
    except erlang.ErlangInputError as exc:
        raise drf_serializers.ValidationError({exc.field: [str(exc)]}) from exc
    return data, result


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class ErlangCApi(APIView):
    """``GET /api/wfm/erlang-c/?calls=&interval_s=&aht_s=&target_sl=&target_t=&shrinkage=&max_occupancy=``."""

    permission_classes = [roles_allowed(*READERS)]

    @extend_schema(parameters=[ErlangRequestSerializer], responses={200: ErlangResponseSerializer})
    def get(self, request: Request) -> Response:
        _data, result = _staffing(ErlangRequestSerializer, request.query_params)
        return Response(result.as_dict())


class ErlangAApi(APIView):
    """``GET /api/wfm/erlang-a/?…&patience_s=``: Erlang C's parameters and the callers' mean
    patience (default: estimated from the abandoned calls of the last 28 days); adds
    ``abandon_probability`` and ``patience_s``."""

    permission_classes = [roles_allowed(*READERS)]

    @extend_schema(parameters=[ErlangARequestSerializer], responses={200: dict})
    def get(self, request: Request) -> Response:
        params = request.query_params.dict()
        if not params.get("patience_s"):
            estimate = selectors.patience_s()
            if estimate is None:
                raise drf_serializers.ValidationError({"patience_s": ["no abandoned calls to estimate it from"]})
            params["patience_s"] = str(estimate)
        data, result = _staffing(ErlangARequestSerializer, params)
        body: dict[str, Any] = dict(result.as_dict())
        body["asa_s"] = _finite(body["asa_s"])
        body["abandon_probability"] = round(result.abandon_probability, 6)
        body["patience_s"] = round(data["patience_s"], 1)
        return Response(body)


class RosterListApi(APIView):
    """``POST /api/wfm/rosters/`` ``{"start", "days"}`` → 202 ``{"id"}`` (team lead)."""

    def get_permissions(self) -> list[BasePermission]:
        roles = (Role.TEAM_LEAD,) if self.request.method == "POST" else READERS
        return [roles_allowed(*roles)()]

    @extend_schema(operation_id="wfm_rosters_list", responses={200: dict})
    def get(self, request: Request) -> Response:
        rows = selectors.roster_list()[:50]
        return Response(
            {
                "results": [
                    {
                        "id": r.pk,
                        "start": r.start.isoformat(),
                        "days": r.days,
                        "status": r.status,
                        "progress": r.progress,
                    }
                    for r in rows
                ]
            }
        )

    @extend_schema(request=RosterRequestSerializer, responses={202: dict})
    def post(self, request: Request) -> Response:
        serializer = RosterRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        roster = jobs.roster_request(actor=staff_user(request), **serializer.validated_data)
        return Response({"id": roster.pk}, status=status.HTTP_202_ACCEPTED)


class RosterDetailApi(APIView):
    """``GET /api/wfm/rosters/{id}/``."""

    permission_classes = [roles_allowed(*READERS)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        roster = selectors.roster_get(pk)
        if roster is None:
            raise NotFound(code="roster_not_found")
        return Response(selectors.roster_payload(roster))


class RosterPublishApi(APIView):
    """``POST /api/wfm/rosters/{id}/publish/`` (team lead; audited)."""

    permission_classes = [roles_allowed(Role.TEAM_LEAD)]

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        if selectors.roster_get(pk) is None:
            raise NotFound(code="roster_not_found")
        roster = services.roster_publish(roster_id=pk, actor=staff_user(request))
        return Response(selectors.roster_payload(roster))


class MyShiftsApi(APIView):
    """``GET /api/wfm/me/shifts/``: the agent's published shifts this week and next week."""

    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        today = timezone.localdate()
        monday = today - timedelta(days=today.weekday())
        last = monday + timedelta(days=13)
        return Response(
            {
                "from": monday.isoformat(),
                "to": last.isoformat(),
                "shifts": selectors.published_shifts_for(staff_user(request), monday, last),
            }
        )


class RosterSwapApi(APIView):
    """``POST /api/wfm/rosters/{id}/swaps/`` ``{"agent_a", "agent_b", "date"}`` (team lead): swap
    the two agents' shifts that day after re-checking every rule; 409 ``swap_breaks_rule``."""

    permission_classes = [roles_allowed(Role.TEAM_LEAD)]

    @extend_schema(request=SwapRequestSerializer, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        serializer = SwapRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if selectors.roster_get(pk) is None:
            raise NotFound(code="roster_not_found")
        users = {}
        for field in ("agent_a", "agent_b"):
            user = selectors.user_by_username(serializer.validated_data[field])
            if user is None:
                raise drf_serializers.ValidationError({field: ["no such agent"]})
            users[field] = user
        roster = services.roster_swap(
            roster_id=pk, day=serializer.validated_data["date"], actor=staff_user(request), **users
        )
        return Response(selectors.roster_payload(roster))


class AdherenceApi(APIView):
    """``GET /api/wfm/adherence/?date=``: adherence and conformance per agent scheduled that day."""

    permission_classes = [roles_allowed(*READERS)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        field = drf_serializers.DateField()
        try:
            day = field.to_internal_value(request.query_params.get("date") or timezone.localdate().isoformat())
        except drf_serializers.ValidationError as exc:
            raise drf_serializers.ValidationError({"date": exc.detail}) from exc
        return Response({"date": day.isoformat(), "results": selectors.adherence(day)})


class ShiftRequestListApi(APIView):
    """``GET /api/wfm/requests/`` (an agent: theirs and those asking them; a team lead: all,
    ``?status=``) and ``POST`` (an agent: a swap or leave request)."""

    def get_permissions(self) -> list[BasePermission]:
        roles = (Role.AGENT,) if self.request.method == "POST" else (Role.AGENT, Role.TEAM_LEAD)
        return [roles_allowed(*roles)()]

    @extend_schema(
        operation_id="wfm_requests_list",
        responses={200: inline_serializer("ShiftRequestList", {"results": ShiftRequestSerializer(many=True)})},
    )
    def get(self, request: Request) -> Response:
        user = staff_user(request)
        rows = selectors.requests_recent() if user_role(user) == Role.TEAM_LEAD else selectors.requests_for(user)
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in RequestStatus.values:
                raise drf_serializers.ValidationError({"status": ["unknown status"]})
            rows = rows.filter(status=wanted)
        return Response({"results": ShiftRequestSerializer(rows[:200], many=True).data})

    @extend_schema(request=ShiftRequestInputSerializer, responses={201: ShiftRequestSerializer})
    def post(self, request: Request) -> Response:
        serializer = ShiftRequestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = staff_user(request)
        if data["kind"] == "swap":
            colleague = selectors.user_by_username(data["colleague"])
            if colleague is None or user_role(colleague) != Role.AGENT:
                raise drf_serializers.ValidationError({"colleague": ["no such agent"]})
            item = services.swap_request(requester=user, colleague=colleague, day=data["date"], note=data["note"])
        else:
            item = services.leave_request(
                requester=user,
                kind=data["leave_kind"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                note=data["note"],
            )
        return Response(ShiftRequestSerializer(item).data, status=status.HTTP_201_CREATED)


class ShiftRequestActionApi(APIView):
    """``POST /api/wfm/requests/{id}/{accept|decline|cancel|approve|reject}/``: the colleague
    answers, the requester withdraws, a team lead decides (``{"note", "force"}``; a rejection
    needs the note, ``force`` approves leave that breaks a rule, audited)."""

    action: str = ""
    ROLES = {
        "accept": (Role.AGENT,),
        "decline": (Role.AGENT,),
        "cancel": (Role.AGENT,),
        "approve": (Role.TEAM_LEAD,),
        "reject": (Role.TEAM_LEAD,),
    }

    def get_permissions(self) -> list[BasePermission]:
        return [roles_allowed(*self.ROLES[self.action])()]

    @extend_schema(request=DecisionSerializer, responses={200: ShiftRequestSerializer})
    def post(self, request: Request, pk: int) -> Response:
        user = staff_user(request)
        if self.action in ("accept", "decline"):
            item = services.swap_answer(request_id=pk, actor=user, accept=self.action == "accept")
        elif self.action == "cancel":
            item = services.request_cancel(request_id=pk, actor=user)
        else:
            serializer = DecisionSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            item = services.request_decide(
                request_id=pk, actor=user, approve=self.action == "approve", **serializer.validated_data
            )
        return Response(ShiftRequestSerializer(item).data)
