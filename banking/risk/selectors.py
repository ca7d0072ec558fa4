"""Risk monitoring's reads: alerts with their evidence and history, and the queried-account
statistics (from the audit trail, plus the IVR's balance queries as its feed reported them)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet

from audit.models import AuditEvent
from org.roles import Role

from ..masking import mask_number
from ..models import Account, Customer
from .models import Alert, AlertEvidence, AlertLog, IvrObservation

LOOKUP_ACTIONS = ("banking.customer_search", "banking.customer_view", "banking.transactions_view")
DESK_ROLES = (Role.AGENT, Role.TEAM_LEAD)
CHANNEL_IVR, CHANNEL_DESKTOP, CHANNEL_BACK_OFFICE = "ivr", "desktop", "back_office"


def alert_list(*, status: str = "", rule: str = "") -> QuerySet[Alert]:
    alerts = Alert.objects.select_related("customer", "account", "assignee").order_by("-created_at", "-id")
    if status == "active":
        alerts = alerts.exclude(status=Alert.Status.CLOSED)
    elif status:
        alerts = alerts.filter(status=status)
    if rule:
        alerts = alerts.filter(rule=rule)
    return alerts


def alert_get(alert_id: int) -> Alert | None:
    return Alert.objects.select_related("customer", "account", "assignee", "raised_by").filter(pk=alert_id).first()


def alert_evidence(alert: Alert) -> QuerySet[AlertEvidence]:
    return AlertEvidence.objects.filter(alert=alert).select_related("customer", "account").order_by("-at", "-id")


def alert_history(alert: Alert) -> QuerySet[AlertLog]:
    return AlertLog.objects.filter(alert=alert).select_related("actor").order_by("created_at", "id")


def _bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(settings.TIME_ZONE)
    return (
        datetime.combine(date_from, time.min, tzinfo=zone),
        datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone),
    )


def queried_accounts(*, date_from: date, date_to: date) -> list[dict[str, Any]]:
    """Who looked up which customer or account how often in ``[date_from, date_to]`` (local
    dates, inclusive): ``[{"channel", "customer_id", "customer", "account", "who", "count",
    "first", "last"}]``, most looked-up first. Channels: ``ivr`` (balance heard by a caller,
    ``who`` the masked phone), ``desktop`` (agents and team leads), ``back_office`` (everyone
    else). A search counts once for each customer it returned; ``account`` is empty for a
    look-up of the customer as a whole."""
    start, end = _bounds(date_from, date_to)
    groups: dict[tuple, dict[str, Any]] = {}

    def add(channel: str, customer_id: int | None, account_id: int | None, who: str, at: datetime) -> None:
        key = (channel, customer_id, account_id, who)
        row = groups.get(key)
        if row is None:
            groups[key] = {
                "channel": channel,
                "customer_id": customer_id,
                "account_id": account_id,
                "who": who,
                "count": 1,
                "first": at,
                "last": at,
            }
        else:
            row["count"] += 1
            row["first"], row["last"] = min(row["first"], at), max(row["last"], at)

    events = (
        AuditEvent.objects.filter(action__in=LOOKUP_ACTIONS, created_at__gte=start, created_at__lt=end)
        .order_by()
        .values_list("action", "object_id", "details", "actor_username", "actor_role", "created_at")
    )
    account_ids: set[int] = set()
    for action, object_id, details, username, role, at in events.iterator(chunk_size=2000):
        channel = CHANNEL_DESKTOP if role in DESK_ROLES else CHANNEL_BACK_OFFICE
        if action == "banking.customer_search":
            for customer_id in (details or {}).get("results") or []:
                if isinstance(customer_id, int):
                    add(channel, customer_id, None, username, at)
        elif action == "banking.customer_view" and str(object_id).isdigit():
            add(channel, int(object_id), None, username, at)
        elif action == "banking.transactions_view" and str(object_id).isdigit():
            account_ids.add(int(object_id))
            add(channel, None, int(object_id), username, at)
    balances = (
        IvrObservation.objects.filter(kind=IvrObservation.Kind.BALANCE_QUERY, at__gte=start, at__lt=end)
        .order_by()
        .values_list("account_id", "ani_masked", "at")
    )
    for account_id, phone, at in balances.iterator(chunk_size=2000):
        account_ids.add(account_id)
        add(CHANNEL_IVR, None, account_id, phone, at)

    accounts = Account.objects.in_bulk(account_ids)
    rows = list(groups.values())
    for row in rows:
        account = accounts.get(row["account_id"]) if row["account_id"] else None
        if account is not None and row["customer_id"] is None:
            row["customer_id"] = account.customer_id
        row["account"] = mask_number(account.number, account.kind) if account is not None else ""
    customers = Customer.objects.in_bulk({row["customer_id"] for row in rows if row["customer_id"]})
    for row in rows:
        customer = customers.get(row["customer_id"]) if row["customer_id"] else None
        row["customer"] = str(customer) if customer is not None else ""
    rows.sort(key=lambda r: (-r["count"], r["customer"], r["account"], r["channel"], r["who"]))
    return rows


def queried_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Look-ups by channel, and how many distinct customers and accounts were looked up."""
    by_channel: dict[str, int] = defaultdict(int)
    for row in rows:
        by_channel[row["channel"]] += row["count"]
    return {
        "lookups": sum(by_channel.values()),
        "by_channel": dict(by_channel),
        "customers": len({row["customer_id"] for row in rows if row["customer_id"]}),
        "accounts": len({row["account_id"] for row in rows if row["account_id"]}),
    }
