"""Agents APIs: an agent's own state and desk, team leads' changes of agents, callbacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import Forbidden
from org.permissions import roles_allowed, staff_user
from org.roles import Role
from org.scoping import user_role

from . import errors, selectors, services
from .call_port import call_side
from .models import AgentStatus, Callback
from .serializers import (
    AgentStatusSerializer,
    CallbackCompleteSerializer,
    CallbackCreateSerializer,
    CallbackSerializer,
    SkillsRequestSerializer,
    StateRequestSerializer,
)

CALL_TAKERS = (Role.AGENT, Role.TEAM_LEAD)
SUPERVISORS = (Role.TEAM_LEAD, Role.DIRECTOR)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class MeApi(APIView):
    """``GET /api/agents/me/``: the agent's state, the call ringing or connected (its screen-pop)
    and the call in after-call work — what the desktop resyncs from."""

    permission_classes = [roles_allowed(*CALL_TAKERS)]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        call_side().sweep_if_due()
        services.agent_status_for(staff_user(request))
        return Response(selectors.agent_desk(staff_user(request)))


class MyStateApi(APIView):
    """``POST /api/agents/me/state/`` ``{"state": "ready|not_ready|offline", "reason"}``."""

    permission_classes = [roles_allowed(*CALL_TAKERS)]

    @extend_schema(request=StateRequestSerializer, responses={200: AgentStatusSerializer})
    def post(self, request: Request) -> Response:
        serializer = StateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.agent_state_set(agent=staff_user(request), actor=staff_user(request), **serializer.validated_data)
        return Response(AgentStatusSerializer(selectors.agent_status_get(staff_user(request))).data)


class AgentListApi(generics.ListAPIView):
    """``GET /api/agents/``: every agent's state (agents see it too: transfer targets)."""

    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR)]
    serializer_class = AgentStatusSerializer

    def get_queryset(self) -> QuerySet[AgentStatus]:
        agents = selectors.agent_list()
        state = self.request.query_params.get("state")
        return agents.filter(state=state) if state else agents


def _agent(username: str) -> User:
    user = selectors.agent_user_get(username)
    if user is None or user_role(user) not in CALL_TAKERS:
        raise errors.UnknownAgent()
    return user


class AgentStateApi(APIView):
    """``POST /api/agents/{username}/state/`` (team lead) — audited."""

    permission_classes = [roles_allowed(Role.TEAM_LEAD)]

    @extend_schema(request=StateRequestSerializer, responses={200: AgentStatusSerializer})
    def post(self, request: Request, username: str) -> Response:
        serializer = StateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agent = _agent(username)
        services.agent_state_set(agent=agent, actor=staff_user(request), **serializer.validated_data)
        return Response(AgentStatusSerializer(selectors.agent_status_get(agent)).data)


class AgentSkillsApi(APIView):
    """``GET`` / ``PUT /api/agents/{username}/skills/`` ``{"skills": [{"queue", "level"}]}``
    (team lead; audited)."""

    def get_permissions(self) -> list[BasePermission]:
        roles = SUPERVISORS if self.request.method == "GET" else (Role.TEAM_LEAD,)
        return [roles_allowed(*roles)()]

    @extend_schema(responses={200: dict})
    def get(self, request: Request, username: str) -> Response:
        agent = _agent(username)
        services.agent_status_for(agent)
        return Response({"skills": AgentStatusSerializer(selectors.agent_status_get(agent)).data["skills"]})

    @extend_schema(request=SkillsRequestSerializer, responses={200: dict})
    def put(self, request: Request, username: str) -> Response:
        serializer = SkillsRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agent = _agent(username)
        services.agent_skills_set(agent=agent, skills=serializer.validated_data["skills"], actor=staff_user(request))
        services.agent_status_for(agent)
        return Response({"skills": AgentStatusSerializer(selectors.agent_status_get(agent)).data["skills"]})


class CallbackListApi(generics.ListCreateAPIView):
    """``GET /api/agents/callbacks/`` (open callbacks the agent can make; all for leads) and
    ``POST`` ``{"phone", "queue", "due_at", "note", "call_id"}`` to schedule one."""

    permission_classes = [roles_allowed(*CALL_TAKERS, Role.DIRECTOR)]
    serializer_class = CallbackSerializer

    def get_queryset(self) -> QuerySet[Callback]:
        if user_role(self.request.user) == Role.AGENT:
            return selectors.callbacks_for(staff_user(self.request))
        return selectors.callbacks_all()

    @extend_schema(request=CallbackCreateSerializer, responses={201: CallbackSerializer})
    def post(self, request: Request) -> Response:
        if user_role(request.user) not in CALL_TAKERS:
            raise Forbidden()
        serializer = CallbackCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        callback = services.callback_schedule(actor=staff_user(request), **serializer.validated_data)
        return Response(CallbackSerializer(callback).data, status=status.HTTP_201_CREATED)


class CallbackCompleteApi(APIView):
    """``POST /api/agents/callbacks/{id}/complete/`` ``{"outcome": "done|failed|cancelled", "note"}``."""

    permission_classes = [roles_allowed(*CALL_TAKERS)]

    @extend_schema(request=CallbackCompleteSerializer, responses={200: CallbackSerializer})
    def post(self, request: Request, pk: int) -> Response:
        serializer = CallbackCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visible = (
            selectors.callbacks_for(staff_user(request), include_closed=True)
            if user_role(request.user) == Role.AGENT
            else selectors.callbacks_all(status=None)
        )
        if not visible.filter(pk=pk).exists():
            raise errors.CallbackNotFound()
        callback = services.callback_complete(callback_id=pk, actor=staff_user(request), **serializer.validated_data)
        return Response(CallbackSerializer(callback).data)
