"""Reads of the agents app: an agent's desk (state, current call, callbacks), lists for leads."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from org.roles import Role

from .models import AgentSkill, AgentState, AgentStatus, Callback, CallbackStatus
from .serializers import AgentStatusSerializer

User = get_user_model()


def _statuses() -> QuerySet[AgentStatus]:
    return AgentStatus.objects.select_related("user", "call", "acw_call").prefetch_related("user__skills__queue")


def agent_status_get(user) -> AgentStatus:
    status = _statuses().filter(user=user).first()
    if status is None:
        from .services import agent_status_for

        agent_status_for(user)
        status = _statuses().get(user=user)
    return status


def agent_state_payload(user_id: int) -> dict[str, Any]:
    status = _statuses().filter(user_id=user_id).first()
    if status is None:
        return {"type": "agent.state", "state": AgentState.OFFLINE}
    return {"type": "agent.state", **AgentStatusSerializer(status).data}


def agent_desk(user) -> dict[str, Any]:
    """Everything the desktop shows on (re)connect: the agent's state, the call ringing or
    connected (as a screen-pop), the call in after-call work."""
    from calls.selectors import call_get, screen_pop
    from calls.serializers import CallDetailSerializer

    status = agent_status_get(user)
    current = screen_pop(call_get(status.call.call_id), for_user=user) if status.call_id else None
    acw = CallDetailSerializer(call_get(status.acw_call.call_id)).data if status.acw_call_id else None
    return {"type": "desk", "status": AgentStatusSerializer(status).data, "current": current, "acw_call": acw}


def agent_list(*, role_in=(Role.AGENT, Role.TEAM_LEAD)) -> QuerySet[AgentStatus]:
    return _statuses().filter(user__is_active=True, user__profile__role__in=role_in).order_by("user__username")


def agent_user_get(username: str):
    return User.objects.select_related("profile").filter(username=username, is_active=True).first()


def callbacks_for(user, *, include_closed: bool = False) -> QuerySet[Callback]:
    """Open callbacks the agent can make: assigned to them, or unassigned in a queue they serve."""
    queues = AgentSkill.objects.filter(agent=user).values("queue_id")
    callbacks = Callback.objects.select_related("queue", "call", "assigned_to").filter(
        Q(assigned_to=user) | Q(assigned_to__isnull=True, queue_id__in=queues)
    )
    if not include_closed:
        callbacks = callbacks.filter(status=CallbackStatus.OPEN)
    return callbacks.order_by("due_at", "pk")


def callbacks_all(*, status: str | None = CallbackStatus.OPEN) -> QuerySet[Callback]:
    callbacks = Callback.objects.select_related("queue", "call", "assigned_to")
    if status:
        callbacks = callbacks.filter(status=status)
    return callbacks.order_by("due_at", "pk")


def callback_subscribers() -> list[int]:
    """Agents on shift (their desktops show the callbacks list)."""
    return list(AgentStatus.objects.exclude(state=AgentState.OFFLINE).values_list("user_id", flat=True))


def callbacks_due_count(user) -> int:
    return callbacks_for(user).filter(due_at__lte=timezone.now()).count()
