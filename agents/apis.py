"""Agents APIs: an agent's own state and desk, team leads' changes of agents, callbacks."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import Forbidden
from org.permissions import roles_allowed
from org.roles import Role
from org.scoping import user_role

from . import errors, selectors, services
from .call_port import call_side
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


class MeApi(APIView):
    """``GET /api/agents/me/``: the agent's state, the call ringing or connected (its screen-pop)
    and the call in after-call work — what the desktop resyncs from."""

    permission_classes = [roles_allowed(*CALL_TAKERS)]

    @extend_schema(responses={200: dict})
    def get(self, request):
        call_side().sweep_if_due()
        services.agent_status_for(request.user)
        return Response(selectors.agent_desk(request.user))


class MyStateApi(APIView):
    """``POST /api/agents/me/state/`` ``{"state": "ready|not_ready|offline", "reason"}``."""

    permission_classes = [roles_allowed(*CALL_TAKERS)]

    @extend_schema(request=StateRequestSerializer, responses={200: AgentStatusSerializer})
    def post(self, request):
        serializer = StateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.agent_state_set(agent=request.user, actor=request.user, **serializer.validated_data)
        return Response(AgentStatusSerializer(selectors.agent_status_get(request.user)).data)


class AgentListApi(generics.ListAPIView):
    """``GET /api/agents/``: every agent's state (agents see it too: transfer targets)."""

    permission_classes = [roles_allowed(Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR)]
    serializer_class = AgentStatusSerializer

    def get_queryset(self):
        agents = selectors.agent_list()
        state = self.request.query_params.get("state")
        return agents.filter(state=state) if state else agents


def _agent(username: str):
    user = selectors.agent_user_get(username)
    if user is None or user_role(user) not in CALL_TAKERS:
        raise errors.UnknownAgent()
    return user


class AgentStateApi(APIView):
    """``POST /api/agents/{username}/state/`` (team lead) — audited."""

    permission_classes = [roles_allowed(Role.TEAM_LEAD)]

    @extend_schema(request=StateRequestSerializer, responses={200: AgentStatusSerializer})
    def post(self, request, username: str):
        serializer = StateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agent = _agent(username)
        services.agent_state_set(agent=agent, actor=request.user, **serializer.validated_data)
        return Response(AgentStatusSerializer(selectors.agent_status_get(agent)).data)


class AgentSkillsApi(APIView):
    """``GET`` / ``PUT /api/agents/{username}/skills/`` ``{"skills": [{"queue", "level"}]}``
    (team lead; audited)."""

    def get_permissions(self):
        roles = SUPERVISORS if self.request.method == "GET" else (Role.TEAM_LEAD,)
        return [roles_allowed(*roles)()]

    @extend_schema(responses={200: dict})
    def get(self, request, username: str):
        agent = _agent(username)
        services.agent_status_for(agent)
        return Response({"skills": AgentStatusSerializer(selectors.agent_status_get(agent)).data["skills"]})

    @extend_schema(request=SkillsRequestSerializer, responses={200: dict})
    def put(self, request, username: str):
        serializer = SkillsRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agent = _agent(username)
        services.agent_skills_set(agent=agent, skills=serializer.validated_data["skills"], actor=request.user)
        services.agent_status_for(agent)
        return Response({"skills": AgentStatusSerializer(selectors.agent_status_get(agent)).data["skills"]})


class CallbackListApi(generics.ListCreateAPIView):
    """``GET /api/agents/callbacks/`` (open callbacks the agent can make; all for leads) and
    ``POST`` ``{"phone", "queue", "due_at", "note", "call_id"}`` to schedule one."""

    permission_classes = [roles_allowed(*CALL_TAKERS, Role.DIRECTOR)]
    serializer_class = CallbackSerializer

    def get_queryset(self):
        if user_role(self.request.user) == Role.AGENT:
            return selectors.callbacks_for(self.request.user)
        return selectors.callbacks_all()

    @extend_schema(request=CallbackCreateSerializer, responses={201: CallbackSerializer})
    def post(self, request):
        if user_role(request.user) not in CALL_TAKERS:
            raise Forbidden()
        serializer = CallbackCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        callback = services.callback_schedule(actor=request.user, **serializer.validated_data)
        return Response(CallbackSerializer(callback).data, status=status.HTTP_201_CREATED)


class CallbackCompleteApi(APIView):
    """``POST /api/agents/callbacks/{id}/complete/`` ``{"outcome": "done|failed|cancelled", "note"}``."""

    permission_classes = [roles_allowed(*CALL_TAKERS)]

    @extend_schema(request=CallbackCompleteSerializer, responses={200: CallbackSerializer})
    def post(self, request, pk: int):
        serializer = CallbackCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visible = (
            selectors.callbacks_for(request.user, include_closed=True)
            if user_role(request.user) == Role.AGENT
            else selectors.callbacks_all(status=None)
        )
        if not visible.filter(pk=pk).exists():
            raise errors.CallbackNotFound()
        callback = services.callback_complete(callback_id=pk, actor=request.user, **serializer.validated_data)
        return Response(CallbackSerializer(callback).data)
