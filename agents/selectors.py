"""Reads of the agents app: an agent's desk (state, current call, callbacks), lists for leads.

Reads only: the agent's status row is created by ``services.agent_status_for`` (callers that may
see an agent for the first time call it first)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from core import rows
from org.roles import Role

from .call_port import call_side
from .models import AgentSkill, AgentState, AgentStatus, Callback, CallbackStatus
from .serializers import AgentStatusSerializer

if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()


def _statuses() -> QuerySet[AgentStatus]:
    return AgentStatus.objects.select_related("user", "call", "acw_call").prefetch_related("user__skills__queue")


def agent_status_get(user: User) -> AgentStatus:
    """The agent's status with what screens show (its row exists: ``services.agent_status_for``)."""
    return _statuses().get(user=user)


def agent_state_payload(user_id: int) -> dict[str, Any]:
    status = _statuses().filter(user_id=user_id).first()
    if status is None:
        return {"type": "agent.state", "state": AgentState.OFFLINE}
    return {"type": "agent.state", **AgentStatusSerializer(status).data}


def agent_desk(user: User) -> dict[str, Any]:
    """Everything the desktop shows on (re)connect: the agent's state, the call ringing or
    connected (as a screen-pop), the call in after-call work (built by the call side,
    ``agents.call_port``). The agent's status row exists (``services.agent_status_for``)."""
    status = agent_status_get(user)
    current, acw = call_side().desk_calls(status, user=user) if status.call_id or status.acw_call_id else (None, None)
    return {"type": "desk", "status": AgentStatusSerializer(status).data, "current": current, "acw_call": acw}


def agent_list(*, role_in: tuple[str, ...] = (Role.AGENT, Role.TEAM_LEAD)) -> QuerySet[AgentStatus]:
    return _statuses().filter(user__is_active=True, user__profile__role__in=role_in).order_by("user__username")


def agent_user_get(username: str) -> User | None:
    return User.objects.select_related("profile").filter(username=username, is_active=True).first()


def agent_user_by_id(user_id: int) -> User | None:
    return User.objects.select_related("profile").filter(pk=user_id, is_active=True).first()


def callbacks_for(user: User, *, include_closed: bool = False) -> QuerySet[Callback]:
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


def callback_open_for_call(call_pk: int) -> Callback | None:
    """The open callback a waiting caller already accepted on call ``call_pk``."""
    return Callback.objects.filter(call_id=call_pk, status=CallbackStatus.OPEN).first()


def callback_subscribers() -> list[int]:
    """Agents on shift (their desktops show the callbacks list)."""
    return list(AgentStatus.objects.exclude(state=AgentState.OFFLINE).values_list("user_id", flat=True))


def callbacks_due_count(user: User) -> int:
    return callbacks_for(user).filter(due_at__lte=timezone.now()).count()


# --- the state log, for the reports ---------------------------------------------------------------


def state_spans(start: datetime, end: datetime) -> dict[int, list[tuple[datetime, str, str]]]:
    """Per agent, the states in force during ``[start, end)`` from the append-only log: the
    state in force at ``start`` (when the agent had one; its span is clipped to ``start``)
    followed by every change inside, each as ``(from, state, reason)`` in order. Two queries."""
    from django.db.models import Max

    from .models import AgentStateLog

    last_before = (
        AgentStateLog.objects.filter(started_at__lt=start).values("agent_id").order_by().annotate(at=Max("started_at"))
    )
    spans: dict[int, list[tuple[datetime, str, str]]] = {}
    openers = {row["agent_id"]: row["at"] for row in last_before}
    if openers:
        rows = (
            AgentStateLog.objects.filter(started_at__in=set(openers.values()), agent_id__in=list(openers))
            .order_by("agent_id", "started_at", "pk")
            .values_list("agent_id", "started_at", "state", "reason")
        )
        for agent_id, at, state, reason in rows:
            if openers.get(agent_id) == at:  # the last of several rows at that instant wins
                spans[agent_id] = [(start, state, reason)]
    for agent_id, at, state, reason in (
        AgentStateLog.objects.filter(started_at__gte=start, started_at__lt=end)
        .order_by("agent_id", "started_at", "pk")
        .values_list("agent_id", "started_at", "state", "reason")
    ):
        spans.setdefault(agent_id, []).append((at, state, reason))
    return spans


# --- callbacks, for the reports -------------------------------------------------------------------


def callback_statistics(date_from: Any, date_to: Any) -> dict[str, Any]:
    """Callbacks created in ``[date_from, date_to]`` (Asia/Shanghai local dates, inclusive), those
    of the simulator's test calls excluded, by where they stand now: ``open`` (still to make),
    ``reached`` (done), ``not_reached`` (failed after the last try), ``cancelled``; ``attempts``:
    the calls made on them (every try counts); ``reach_rate`` = reached ÷ (reached + not reached),
    ``None`` when no callback got a final answer. ``by_agent``: per agent, the callbacks they
    closed (``completed_by``) and the open ones assigned to them, ``{"agent", "name", "reached",
    "not_reached", "cancelled", "open", "attempts", "reach_rate"}``; open callbacks assigned to no
    one (a queue's) have ``agent`` ``""``. One query."""
    from django.db.models import Count, Sum

    from core.dates import local_day_bounds
    from org.navigation import display_name

    start, end = local_day_bounds(date_from, date_to)
    keys = {
        CallbackStatus.OPEN: "open",
        CallbackStatus.DONE: "reached",
        CallbackStatus.FAILED: "not_reached",
        CallbackStatus.CANCELLED: "cancelled",
    }
    rows = (
        Callback.objects.filter(created_at__gte=start, created_at__lt=end)
        .filter(Q(call__isnull=True) | Q(call__is_test=False))
        .values("status", "completed_by_id", "assigned_to_id")
        .order_by()
        .annotate(n=Count("pk"), attempts=Sum("attempts"))
    )

    def empty() -> dict[str, Any]:
        return {"open": 0, "reached": 0, "not_reached": 0, "cancelled": 0, "attempts": 0}

    total = empty()
    per: dict[int | None, dict[str, Any]] = {}
    for row in rows:
        key = keys.get(row["status"])
        if key is None:
            continue
        agent_id = row["assigned_to_id"] if row["status"] == CallbackStatus.OPEN else row["completed_by_id"]
        entry = per.setdefault(agent_id, empty())
        for target in (total, entry):
            target[key] += row["n"]
            target["attempts"] += row["attempts"] or 0

    def with_rate(figures: dict[str, Any]) -> dict[str, Any]:
        answered = figures["reached"] + figures["not_reached"]
        figures["reach_rate"] = round(figures["reached"] / answered, 4) if answered else None
        return figures

    users = {user.pk: user for user in User.objects.filter(pk__in=[pk for pk in per if pk is not None])}
    by_agent = []
    for agent_id, figures in per.items():
        user = users.get(agent_id) if agent_id is not None else None
        by_agent.append(
            {
                "agent": user.get_username() if user else "",
                "name": display_name(user) if user else "",
                **with_rate(figures),
            }
        )
    by_agent.sort(key=lambda row: (row["agent"] == "", row["agent"]))
    created = total["open"] + total["reached"] + total["not_reached"] + total["cancelled"]
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "created": created,
        **with_rate(total),
        "by_agent": by_agent,
    }


# --- the CTI hot path ------------------------------------------------------------------------------


def involved_statuses(holder_calls: list[int], target_users: list[int], wrapped: list[int]) -> list[AgentStatus]:
    """In one statement (prepared: ``core.rows``), without locks: the agents holding one of the
    calls ``holder_calls``, those of ``target_users`` and those in the after-call work of one of
    the calls ``wrapped`` — the candidates calls' ``sync_agents`` then locks and checks again
    (the CTI hot path: issue 12 point 8)."""
    table = rows._quote(AgentStatus._meta.db_table)
    array = rows._db().vendor == "postgresql"  # one statement text whatever the number of ids
    clauses: list[str] = []
    params: list[Any] = []
    for column, values, acw in (
        ("call_id", holder_calls, False),
        ("user_id", target_users, False),
        ("acw_call_id", wrapped, True),
    ):
        if not values:
            continue
        if array:
            clause, params = f"{table}.{rows._quote(column)} = ANY(%s::bigint[])", [*params, values]
        else:
            clause, params = f"{table}.{rows._quote(column)} IN ({', '.join(['%s'] * len(values))})", [*params, *values]
        if acw:
            clause, params = f"({clause} AND {table}.{rows._quote('state')} = %s)", [*params, AgentState.ACW]
        clauses.append(clause)
    if not clauses:
        return []
    return [status for status, _extra in rows.select(AgentStatus, " OR ".join(clauses), params)]
