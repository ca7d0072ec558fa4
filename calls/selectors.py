"""Reads of the calls app: a call for the switch and the desktop, the screen-pop, the wallboard."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Min, QuerySet
from django.urls import reverse
from django.utils import timezone

from core.api.telephony import ani_digits
from org.navigation import display_name
from org.roles import Role

from . import errors, kpi_port
from .models import Call, CallState, Queue
from .serializers import CallDetailSerializer

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser

    from banking.call_port import CallFacts
    from banking.models import Customer

logger = logging.getLogger(__name__)
User = get_user_model()

SCREEN_POP_SMS = 5  # the latest SMS to the caller shown in the screen-pop


def counted_calls() -> QuerySet[Call]:
    """The calls every KPI counts: all but the IVR simulator's test calls (DESIGN.md §5)."""
    return Call.objects.filter(is_test=False)


def call_get(call_id: str) -> Call:
    call = Call.objects.select_related("queue", "agent", "agent__profile").filter(call_id=call_id).first()
    if call is None:
        raise errors.CallNotFound()
    return call


def caller_number_of(call_id: str) -> str:
    """The caller's number (ANI) of call ``call_id`` as the switch gave it; "" for an unknown call
    (``tickets.call_port``: a contact keeps it)."""
    return Call.objects.filter(call_id=call_id).values_list("ani", flat=True).first() or ""


def call_facts_for_banking(call_id: str) -> CallFacts | None:
    """``banking.call_port``: who holds call ``call_id``, whether it is in hand, who the caller is
    (the customer the IVR verified or the agent linked), in one query; ``None`` for an unknown call."""
    from banking.call_port import CallFacts

    row = (
        Call.objects.filter(call_id=call_id)
        .values("call_id", "agent_id", "state", "wrapup_at", "customer_id", "customer_source", "verified", "is_test")
        .first()
    )
    if row is None:
        return None
    in_hand = row["state"] == CallState.CONNECTED or (row["state"] == CallState.ENDED and row["wrapup_at"] is None)
    identified_by = ""
    if row["customer_id"]:
        if row["customer_source"] == "agent":
            identified_by = "agent"
        elif row["verified"]:
            identified_by = "ivr"
    return CallFacts(
        call_id=row["call_id"],
        agent_id=row["agent_id"],
        in_hand=in_hand,
        customer_id=row["customer_id"] if identified_by else None,
        identified_by=identified_by,
        is_test=row["is_test"],
    )


def queue_list(*, active_only: bool = True) -> QuerySet[Queue]:
    queues = Queue.objects.all()
    return queues.filter(is_active=True) if active_only else queues


def queue_names() -> dict[str, str]:
    """``{code: name}`` of every queue in the active language (the IVR's pages name queues with it)."""
    return {queue.code: queue.display_name for queue in Queue.objects.only("code", "name", "name_en")}


def call_history(
    *, customer_id: int | None, ani: str = "", exclude_pk: int | None = None, limit: int = 5
) -> list[Call]:
    """The caller's previous contacts with the center (newest first)."""
    if customer_id:
        calls = Call.objects.filter(customer_id=customer_id)
    elif ani:
        calls = Call.objects.filter(ani=ani)
    else:
        return []
    if exclude_pk is not None:
        calls = calls.exclude(pk=exclude_pk)
    return list(calls.select_related("queue", "agent").order_by("-started_at", "-pk")[:limit])


# --- payloads shared by the REST API and the websocket pushes -----------------------------------


def call_updated_payload(call: Call) -> dict[str, Any]:
    return {"type": "call.updated", "call": CallDetailSerializer(call).data}


_titles_cache: dict[str, Any] = {"at": 0.0, "titles": {}}


def ivr_titles(path: list[str] | None) -> list[str]:
    """Readable names of the IVR path's nodes (the published menu's titles; cached a minute)."""
    if not path:
        return []
    if time.monotonic() - _titles_cache["at"] > 60:
        from ivr.selectors import menu_tree_of, published_version

        version = published_version()
        tree = menu_tree_of(version) if version is not None else {"nodes": []}
        _titles_cache["titles"] = {node["key"]: node.get("title") or node["key"] for node in tree["nodes"]}
        _titles_cache["at"] = time.monotonic()
    return [_titles_cache["titles"].get(step, step) for step in path]


def screen_pop(call: Call, *, for_user: AuthUser) -> dict[str, Any]:
    """``{"call_id", "queue", "ani", "ivr": {"verified", "path"}, "customer": {...} | null, "call"}``:
    the agent's screen-pop (``GET /api/calls/{id}/screen-pop/`` and the ``call.offered`` push).
    ``"sms"``: the latest messages sent to the caller's number and the identified customer's mobile
    (``notifications.selectors_port``, one query)."""
    customer, context = _identify(call, user=for_user)
    return {
        "call_id": call.call_id,
        "queue": call.queue.code if call.queue_id else None,  # type: ignore[union-attr]  # queue_id checked
        "ani": call.ani,
        "is_test": call.is_test,
        "ivr": {"verified": call.verified, "path": list(call.ivr_path or []), "titles": ivr_titles(call.ivr_path)},
        "customer": context,
        "call": CallDetailSerializer(call).data,
        "sms": _sms_sent(call, customer),
    }


def screen_pop_payload(call: Call, *, for_user: AuthUser) -> dict[str, Any]:
    return {"type": "call.offered", **screen_pop(call, for_user=for_user)}


def customer_context(call: Call, *, user: AuthUser) -> dict[str, Any] | None:
    """Who the caller is: the customer the IVR verified, else the one customer whose mobile is the
    caller's number (``"match": "ani"`` — not verified: the agent checks identity first)."""
    return _identify(call, user=user)[1]


def _sms_sent(call: Call, customer: Customer | None) -> list[dict[str, Any]]:
    from notifications.selectors_port import recent_for_phones

    phones = [ani_digits(call.ani), customer.mobile if customer is not None else ""]
    return recent_for_phones(phones, limit=SCREEN_POP_SMS)


def _identify(call: Call, *, user: AuthUser) -> tuple[Customer | None, dict[str, Any] | None]:
    """``(customer, context)``: the customer (for the screen-pop's other reads) and
    ``customer_context``'s answer."""
    from banking import selectors as bank
    from banking.errors import AccountNotFound

    customer, match = None, ""
    try:
        if call.customer_id and call.customer_source == "agent":
            # Linked by the agent ("this is the caller"): identified, not an IVR verification.
            customer, match = bank.customer_get(user=user, customer_id=call.customer_id), "agent"
        elif call.verified and call.customer_id:
            customer, match = bank.customer_get(user=user, customer_id=call.customer_id), "ivr"
        elif ani_digits(call.ani):  # a sip: or tel: URI is looked up by its number
            found = list(bank.customer_search(user=user, q=ani_digits(call.ani))[:2])
            if len(found) == 1:
                customer, match = found[0], "ani"
    except AccountNotFound:
        customer = None
    if customer is None:
        contacts = call_history(customer_id=None, ani=call.ani, exclude_pk=call.pk)
        return None, (None if not contacts else {"id": None, "match": "", "recent_contacts": _contacts(contacts)})
    return customer, _customer_dict(call, customer, match=match, user=user)


def _customer_dict(call: Call, customer: Customer, *, match: str, user: AuthUser) -> dict[str, Any]:
    from banking import selectors as bank
    from banking.masking import mask_mobile, mask_number
    from banking.serializers import AccountSummarySerializer, PostingSerializer

    accounts = list(customer.accounts.all())
    registration = bank.registration_for_customer(customer)
    focus = next((a for a in accounts if a.pk == call.account_id), None) or (accounts[0] if accounts else None)
    transactions = []
    if focus is not None:
        postings = list(bank.recent_transactions(focus, settings.CALLS_SCREEN_POP_TRANSACTIONS))
        transactions = [{**row, "account_id": focus.pk} for row in PostingSerializer(postings, many=True).data]
    return {
        "id": customer.pk,
        "match": match,
        "name": customer.name,
        "mobile_masked": mask_mobile(customer.mobile),
        "id_last4": customer.id_last6[-4:],
        "home_unit": customer.home_unit.code if customer.home_unit_id else None,
        "accounts": [
            {**row, **_sms_notice_of(account)}
            for row, account in zip(AccountSummarySerializer(accounts, many=True).data, accounts, strict=True)
        ],
        "registration": {
            "registered": registration is not None,
            "locked": bool(registration and registration.locked),
            "linked": [
                {
                    "code": link.code,
                    "account_id": link.account_id,
                    "number_masked": mask_number(link.account.number, link.account.kind),
                }
                for link in (registration.linked.all() if registration else [])
            ],
        },
        "recent_transactions": transactions,
        "recent_transactions_account": focus.pk if focus is not None else None,
        "recent_contacts": _contacts(call_history(customer_id=customer.pk, exclude_pk=call.pk)),
        "tickets": _tickets(user, customer.pk),
    }


def _sms_notice_of(account: Any) -> dict[str, bool]:
    """短信通 of one account: ``sms_notice_eligible`` (a debit main card) and ``sms_notice`` (on).
    The subscription comes with the accounts (``select_related``): no query."""
    subscription = getattr(account, "sms_notice", None) if account.is_debit_main_card else None
    return {
        "sms_notice_eligible": bool(account.is_debit_main_card),
        "sms_notice": bool(subscription is not None and subscription.active),
    }


def _contacts(calls: list[Call]) -> list[dict[str, Any]]:
    return [
        {
            "call_id": c.call_id,
            "started_at": c.started_at.isoformat() if c.started_at else None,
            "queue": c.queue.code if c.queue_id else None,  # type: ignore[union-attr]  # queue_id checked
            "agent": c.agent.get_username() if c.agent_id else None,  # type: ignore[union-attr]  # agent_id checked
            "answered": c.answered_at is not None,
            "disposition": c.disposition,
            "note": c.note[:200],
        }
        for c in calls
    ]


def _tickets(user: AuthUser, customer_id: int) -> list[dict[str, Any]] | None:
    """Recent work orders of the customer when the tickets app offers a selector (else ``None``)."""
    try:
        from tickets.selectors import tickets_for_customer
    except ImportError:  # pragma: no cover - the tickets app ships with the project
        return None
    return [
        {
            "id": ticket.pk,
            "number": ticket.number,
            "url": reverse("tickets:detail", args=[ticket.pk]),
            "kind": ticket.kind,
            "category": ticket.category,
            "state": ticket.state,
            "received_at": ticket.received_at.isoformat() if ticket.received_at else None,
            "description": (ticket.description or "")[:200],
        }
        for ticket in tickets_for_customer(user=user, customer_id=customer_id, limit=5)
    ]


# --- the wallboard --------------------------------------------------------------------------------


def wallboard_snapshot(now: datetime | None = None) -> dict[str, Any]:
    """``{"type": "wallboard", "at", "queues": [{"code", "name", "waiting", "longest_wait_s",
    "service_level_today", "abandoned_today", ...}], "agents": [{"username", "name", "state",
    "reason", "since", "connected" (a desktop is open), ...}], "today": {"offered", "answered",
    "abandoned", "service_level", "asa_s"}}`` (today's figures of all calls, waiting ones
    included) — the websocket message and ``GET /api/calls/wallboard/``."""
    from agents.models import AgentState, AgentStatus

    now = now or timezone.now()
    today = timezone.localdate(now)
    horizon = now - timedelta(seconds=settings.CALLS_ROUTE_MAX_AGE_S)
    # A queue's calls (docs/cti.md): waiting calls under their home queue (an overflowed call is
    # still its first queue's), today's figures under the service queue (reports.kpi, through calls.kpi_port).
    waiting = {
        row["home_queue_id"]: row
        for row in Call.objects.filter(state=CallState.QUEUED, queued_at__gte=horizon)
        .values("home_queue_id")
        .order_by()
        .annotate(n=Count("pk"), oldest=Min("queued_at"))
    }
    today_kpis, today_total = kpi_port.by_queue_and_total(today, today)
    queues = []
    for queue in queue_list():
        row = waiting.get(queue.pk) or {"n": 0, "oldest": None}
        longest = int((now - row["oldest"]).total_seconds()) if row["oldest"] else 0
        kpis = today_kpis.get(queue.pk, {})
        service_level = kpis.get("service_level")
        alerts = []
        if row["n"] >= queue.alert_waiting:
            alerts.append("waiting")
        if longest >= queue.alert_longest_wait_s:
            alerts.append("longest_wait")
        if service_level is not None and service_level < settings.CALLS_SERVICE_LEVEL_TARGET:
            alerts.append("service_level")
        queues.append(
            {
                "code": queue.code,
                "name": queue.display_name,
                "waiting": row["n"],
                "longest_wait_s": longest,
                "service_level_today": service_level,
                "offered_today": kpis.get("offered", 0),
                "answered_today": kpis.get("answered", 0),
                "abandoned_today": kpis.get("abandoned", 0),
                "asa_s_today": kpis.get("asa_s"),
                "alerts": alerts,
            }
        )
    statuses = {
        status.user_id: status for status in AgentStatus.objects.select_related("call", "call__home_queue").order_by()
    }
    from agents.presence import connected

    seated = connected(statuses)
    agents = []
    users = (
        User.objects.filter(is_active=True, profile__role__in=[Role.AGENT, Role.TEAM_LEAD])
        .select_related("profile")
        .order_by("username")
    )
    for user in users:
        status = statuses.get(user.pk)
        if status is None and user.profile.role != Role.AGENT:
            continue  # a team lead who never took calls
        state = status.state if status else AgentState.OFFLINE
        call = status.call if status and status.call_id else None
        agents.append(
            {
                "username": user.username,
                "name": display_name(user),
                "state": state,
                "reason": status.reason if status else "",
                "since": (status.since if status else None) and status.since.isoformat(),  # type: ignore[union-attr]  # status checked
                "call_id": call.call_id if call else None,
                "queue": call.home_queue.code if call and call.home_queue_id else None,  # type: ignore[union-attr]  # id checked
                "held": bool(call and call.held),
                "connected": user.pk in seated,
            }
        )
    today_figures = {
        key: today_total.get(key, 0 if key in ("offered", "answered", "abandoned") else None)
        for key in ("offered", "answered", "abandoned", "service_level", "asa_s")
    }
    return {"type": "wallboard", "at": now.isoformat(), "queues": queues, "agents": agents, "today": today_figures}
