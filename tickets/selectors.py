"""Reads of the tickets app. Every read of a ticket or of its rows goes through
``visible_to(user)``: a unit's staff see their own unit's work orders only, and another unit's is
``TicketNotFound`` (404), whatever the path (list, detail, history, attachment, export, search)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Choices, Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from org.models import Unit

from .deadlines import SHANGHAI
from .errors import TicketNotFound
from .models import (
    ADJUSTMENT_CATEGORIES,
    OPEN_STATES,
    WORKING_STATES,
    AdjustmentStatus,
    CalendarDay,
    CalendarYear,
    Category,
    ExtensionStatus,
    State,
    Ticket,
    TicketAttachment,
    TicketCallback,
    TicketCallbackStatus,
    TicketEscalation,
    TicketEvent,
    TicketExtension,
)

# Whoever is asking: the request's user (signed in, or not).
AnyUser: TypeAlias = AbstractBaseUser | AnonymousUser

# What lists show (pages and the API list): loading only these keeps a page of rows cheap.
LIST_FIELDS = (
    "id",
    "kind",
    "category",
    "state",
    "call_id",
    "caller_number",
    "received_at",
    "dispatched_at",
    "due_at",
    "due_estimated",
    "paused_at",
    "chased_at",
    "replied_at",
    "satisfied",
    "closed_at",
    "unit__id",
    "unit__code",
    "unit__name",
    "customer__id",
    "customer__name",
    "customer__mobile",
)

LIST_ORDERINGS = {
    "received": ("-received_at", "-id"),
    "due": ("due_at", "id"),
}


@dataclass(frozen=True)
class TicketFilter:
    state: tuple[str, ...] = ()
    unit: str = ""
    category: str = ""
    kind: str = ""
    overdue: bool | None = None
    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    customer: int | None = None
    # First dispatched / closed on these local dates (inclusive), as ``ticket_statistics`` counts
    # "dispatched" and "closed": the reports' drill-downs list exactly the rows behind a figure.
    dispatched_from: date | None = None
    dispatched_to: date | None = None
    closed_from: date | None = None
    closed_to: date | None = None
    order: str = "received"


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def ticket_list(*, user: AnyUser, filters: TicketFilter | None = None, now: datetime | None = None) -> QuerySet[Ticket]:
    """Work orders the user may see, filtered; unit and customer joined (one query per page)."""
    filters = filters or TicketFilter()
    now = now or timezone.now()
    queryset = Ticket.objects.visible_to(user).select_related("unit", "customer").only(*LIST_FIELDS)
    if filters.state:
        queryset = queryset.filter(state__in=filters.state)
    if filters.unit:
        queryset = queryset.filter(unit__code=filters.unit)
    if filters.category:
        queryset = queryset.filter(category=filters.category)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.customer:
        queryset = queryset.filter(customer_id=filters.customer)
    if filters.overdue is True:
        queryset = queryset.overdue(now)
    elif filters.overdue is False:
        queryset = queryset.exclude(pk__in=Ticket.objects.overdue(now).values("pk"))
    if filters.date_from:
        queryset = queryset.filter(received_at__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        queryset = queryset.filter(received_at__lt=_local_midnight(filters.date_to + timedelta(days=1)))
    if filters.dispatched_from:
        queryset = queryset.filter(first_dispatched_at__gte=_local_midnight(filters.dispatched_from))
    if filters.dispatched_to:
        queryset = queryset.filter(first_dispatched_at__lt=_local_midnight(filters.dispatched_to + timedelta(days=1)))
    if filters.closed_from or filters.closed_to:
        # "Closed" counts work orders (dispatched to a unit), not contacts settled on the phone.
        queryset = queryset.filter(unit__isnull=False)
    if filters.closed_from:
        queryset = queryset.filter(closed_at__gte=_local_midnight(filters.closed_from))
    if filters.closed_to:
        queryset = queryset.filter(closed_at__lt=_local_midnight(filters.closed_to + timedelta(days=1)))
    term = filters.q.strip()
    if term:
        match = Q(description__icontains=term) | Q(customer__name=term) | Q(call_id=term)
        if term.lstrip("#").isascii() and term.lstrip("#").isdigit():  # "²".isdigit() too
            number = int(term.lstrip("#"))
            match |= Q(pk=number) | Q(customer__mobile=term.lstrip("#")) | Q(caller_number=term.lstrip("#"))
        queryset = queryset.filter(match)
    return queryset.order_by(*LIST_ORDERINGS.get(filters.order, LIST_ORDERINGS["received"]))


def inbox(*, user: AnyUser, overdue_only: bool = False, now: datetime | None = None) -> QuerySet[Ticket]:
    """A unit's open work orders, soonest due first (index ``tickets_unit_state_due_idx``)."""
    queryset = (
        Ticket.objects.visible_to(user)
        .filter(state__in=sorted(OPEN_STATES))
        .select_related("unit", "customer")
        .only(*LIST_FIELDS)
    )
    if overdue_only:
        queryset = queryset.overdue(now)
    return queryset.order_by("due_at", "id")


def inbox_counts(*, user: AnyUser, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    # Only open work orders are counted, and only indexed columns (state, due_at, paused_at; unit for
    # unit staff) are read: an index-only scan at any volume. Hence COUNT(state), not COUNT(id).
    base = Ticket.objects.visible_to(user).filter(state__in=sorted(OPEN_STATES))
    return base.aggregate(
        open=Count("*"),
        working=Count("state", filter=Q(state__in=sorted(WORKING_STATES))),
        overdue=Count("state", filter=Q(state__in=sorted(WORKING_STATES), paused_at__isnull=True, due_at__lt=now)),
        due_soon=Count(
            "state",
            filter=Q(
                state__in=sorted(WORKING_STATES),
                paused_at__isnull=True,
                due_at__gte=now,
                due_at__lt=now + timedelta(days=1),
            ),
        ),
        returned=Count("state", filter=Q(state=State.RETURNED)),
    )


def unit_overdue_counts(*, now: datetime | None = None) -> dict[str, int]:
    """``{unit code: work orders overdue now}`` (as the inbox counts them: working, not paused,
    past their due time), for the reports' branch league table. One query."""
    now = now or timezone.now()
    rows = (
        Ticket.objects.overdue(now).filter(unit__isnull=False).values("unit__code").order_by().annotate(n=Count("pk"))
    )
    return {row["unit__code"]: row["n"] for row in rows}


def ticket_get(*, user: AnyUser, ticket_id: int) -> Ticket:
    ticket = (
        Ticket.objects.visible_to(user)
        .select_related("unit", "customer", "account", "merged_into", "created_by", "replied_by", "dispatched_by")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise TicketNotFound()
    return ticket


def ticket_detail(*, user: AnyUser, ticket_id: int) -> Ticket:
    """A ticket with everything its page shows, in a fixed number of queries."""
    ticket = (
        Ticket.objects.visible_to(user)
        .select_related(
            "unit",
            "customer",
            "account",
            "merged_into",
            "created_by",
            "replied_by",
            "dispatched_by",
            "adjustment_waived_by",
            "adjustment__account",
            "adjustment__requested_by",
            "adjustment__decided_by",
            "adjustment__posted_by",
        )
        .prefetch_related(
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor").order_by("created_at", "id")),
            Prefetch("attachments", queryset=TicketAttachment.objects.select_related("uploaded_by")),
            Prefetch("extensions", queryset=TicketExtension.objects.select_related("requested_by", "decided_by")),
            "pauses",
            Prefetch("callbacks", queryset=TicketCallback.objects.select_related("done_by")),
            Prefetch("merged", queryset=Ticket.objects.only("pk", "state", "received_at", "merged_into")),
        )
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise TicketNotFound()
    return ticket


def ticket_history(*, user: AnyUser, ticket_id: int) -> QuerySet[TicketEvent]:
    ticket_get(user=user, ticket_id=ticket_id)  # 404 outside the scope, also for an empty history
    return TicketEvent.objects.visible_to(user).filter(ticket_id=ticket_id).order_by("created_at", "id")


def attachment_get(*, user: AnyUser, ticket_id: int, attachment_id: int) -> TicketAttachment:
    attachment = TicketAttachment.objects.visible_to(user).filter(pk=attachment_id, ticket_id=ticket_id).first()
    if attachment is None:
        raise TicketNotFound("Attachment not found.")
    return attachment


def attachment_list(*, user: AnyUser, ticket_id: int) -> QuerySet[TicketAttachment]:
    ticket_get(user=user, ticket_id=ticket_id)
    return TicketAttachment.objects.visible_to(user).filter(ticket_id=ticket_id).select_related("uploaded_by")


def extension_get(*, user: AnyUser, ticket_id: int, extension_id: int) -> TicketExtension:
    extension = TicketExtension.objects.visible_to(user).filter(pk=extension_id, ticket_id=ticket_id).first()
    if extension is None:
        raise TicketNotFound("Extension request not found.")
    return extension


def extensions_pending(*, user: AnyUser) -> QuerySet[TicketExtension]:
    return (
        TicketExtension.objects.visible_to(user)
        .filter(status=ExtensionStatus.PENDING)
        .select_related("ticket__unit", "requested_by")
        .order_by("requested_at", "id")
    )


def callbacks_open(*, user: AnyUser) -> QuerySet[TicketCallback]:
    """The agents' callback list: customers to call back after a unit's reply, oldest first."""
    return (
        TicketCallback.objects.visible_to(user)
        .filter(status=TicketCallbackStatus.OPEN)
        .select_related("ticket__customer", "ticket__unit")
        .order_by("created_at", "id")
    )


def money_owed(*, user: AnyUser) -> QuerySet[Ticket]:
    """Work orders owing the customer money the unit confirmed — neither posted nor waived
    (``tickets.policy.money_owed`` as a query; a test checks the two agree), oldest first. Closed
    ones are listed too: orders closed before the rule existed must not stay forgotten."""
    return (
        Ticket.objects.visible_to(user)
        .filter(
            category__in=sorted(ADJUSTMENT_CATEGORIES),
            adjustment_confirmed_fen__isnull=False,
            adjustment_waived_at__isnull=True,
        )
        .exclude(adjustment__status=AdjustmentStatus.POSTED)
        .exclude(state=State.WITHDRAWN)
        .select_related("unit", "customer", "adjustment")
        .order_by("replied_at", "id")
    )


def escalations_recent(*, user: AnyUser, days: int = 7, now: datetime | None = None) -> QuerySet[TicketEscalation]:
    now = now or timezone.now()
    return (
        TicketEscalation.objects.visible_to(user)
        .filter(created_at__gte=now - timedelta(days=days), ticket__state__in=sorted(WORKING_STATES))
        .select_related("ticket__unit")
        .order_by("-created_at", "-id")
    )


def tickets_for_customer(*, user: AnyUser, customer_id: int, limit: int = 5) -> list[Ticket]:
    """Recent contacts and open work orders of a customer (the agent's screen-pop)."""
    return list(
        Ticket.objects.visible_to(user)
        .filter(customer_id=customer_id)
        .select_related("unit")
        .order_by("-received_at", "-id")[:limit]
    )


def tickets_for_calls(*, user: AnyUser, call_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """``{call id: [{"pk", "number", "state", "state_label", "kind", "category", "unit", "url"}]}``:
    the contacts and work orders recorded for each call (``Ticket.call_id``, indexed) that the user
    may see, oldest first, labels in the user's language. One query for a page of calls; calls with
    none are left out."""
    from .models import ContactKind

    ids = sorted({str(call_id) for call_id in call_ids if call_id})
    if not ids:
        return {}
    states = {code: str(label) for code, label in State.choices}
    kinds = {code: str(label) for code, label in ContactKind.choices}
    categories = {code: str(label) for code, label in Category.choices}
    base = reverse("tickets:detail", args=[0])[: -len("0/")]
    found: dict[str, list[dict[str, Any]]] = {}
    rows = (
        Ticket.objects.visible_to(user)
        .filter(call_id__in=ids)
        .order_by("received_at", "id")
        .values_list("pk", "call_id", "state", "kind", "category", "unit__code", "unit__name")
    )
    for pk, call_id, state, kind, category, unit_code, unit_name in rows:
        found.setdefault(call_id, []).append(
            {
                "pk": pk,
                "number": f"{pk:06d}",  # as ``Ticket.number``
                "state": state,
                "state_label": states.get(state, state),
                "kind": kinds.get(kind, kind),
                "category": categories.get(category, category),
                "unit": f"{unit_code} {unit_name}" if unit_code else "",
                "url": f"{base}{pk}/",
            }
        )
    return found


# --- the calendar ------------------------------------------------------------------------------------


def calendar_years() -> list[CalendarYear]:
    return list(CalendarYear.objects.select_related("updated_by").order_by("year"))


def calendar_days(*, year: int) -> list[CalendarDay]:
    return list(CalendarDay.objects.filter(date__year=year).order_by("date"))


def calendar_unknown_years(*, today: date | None = None, ahead: int = 1) -> list[int]:
    """This year and the next ``ahead`` ones that have no complete calendar: deadlines reaching
    them are estimated Monday–Friday."""
    today = today or timezone.localdate()
    known = set(CalendarYear.objects.filter(complete=True).values_list("year", flat=True))
    return [year for year in range(today.year, today.year + ahead + 1) if year not in known]


# --- statistics for the reports --------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _row(dispatched: int, closed_rows: list[tuple]) -> dict[str, Any]:
    on_time_known = [row for row in closed_rows if row[2] is not None]
    rated = [row for row in closed_rows if row[3] is not None]
    hours = [(closed_at - received_at).total_seconds() / 3600 for received_at, closed_at, *_ in closed_rows]
    on_time = sum(1 for row in on_time_known if row[2])
    satisfied = sum(1 for row in rated if row[3])
    return {
        "dispatched": dispatched,
        "closed": len(closed_rows),
        "on_time": on_time,
        "on_time_rate": _ratio(on_time, len(on_time_known)),
        "median_resolution_hours": round(statistics.median(hours), 2) if hours else None,
        "satisfied": satisfied,
        "satisfaction_rate": _ratio(satisfied, len(rated)),
    }


def ticket_statistics(date_from: date, date_to: date) -> dict[str, Any]:
    """Work-order KPIs (DESIGN.md §5) for local dates ``date_from``..``date_to`` inclusive, in total,
    per unit, per category and per unit and category.

    - dispatched: work orders first dispatched in the period;
    - closed: work orders (dispatched ones) closed in the period;
    - on-time rate: of those closed, replied by the due time in force at the reply;
    - median resolution time: receipt to closure, in hours, of those closed;
    - satisfaction rate: of those closed after a callback, the satisfied ones.
    Rates with a zero denominator are ``None``.
    """
    start, end = _local_midnight(date_from), _local_midnight(date_to + timedelta(days=1))
    dispatched_counts: dict[tuple[str, str], int] = {
        (row["unit__code"], row["category"]): row["n"]
        for row in Ticket.objects.filter(first_dispatched_at__gte=start, first_dispatched_at__lt=end)
        .values("unit__code", "category")
        .order_by()
        .annotate(n=Count("pk"))
    }
    closed: dict[tuple[str, str], list[tuple]] = {}
    for code, category, *values in (
        Ticket.objects.filter(closed_at__gte=start, closed_at__lt=end, unit__isnull=False)
        .values_list("unit__code", "category", "received_at", "closed_at", "replied_on_time", "satisfied")
        .order_by()
    ):
        closed.setdefault((code, category), []).append(tuple(values))

    def collect(key_of: Callable[[Any], Any]) -> dict[Any, dict[str, Any]]:
        dispatched: dict[Any, int] = {}
        rows: dict[Any, list[tuple]] = {}
        for key, count in dispatched_counts.items():
            dispatched[key_of(key)] = dispatched.get(key_of(key), 0) + count
        for key, values in closed.items():
            rows.setdefault(key_of(key), []).extend(values)
        return {key: _row(dispatched.get(key, 0), rows.get(key, [])) for key in {*dispatched, *rows}}

    units = {unit.code: unit for unit in Unit.objects.filter(is_active=True)}
    per_unit = collect(lambda key: key[0])
    per_category = collect(lambda key: key[1])
    per_pair = collect(lambda key: key)
    total = collect(lambda key: "all").get("all", _row(0, []))
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "total": total,
        "by_unit": [
            {"unit": code, "name": units[code].name if code in units else code, **per_unit.get(code, _row(0, []))}
            for code in sorted({*units, *per_unit})
        ],
        "by_category": [
            {"category": category, **per_category.get(category, _row(0, []))} for category in Category.values
        ],
        "by_unit_category": [
            {"unit": code, "category": category, **values} for (code, category), values in sorted(per_pair.items())
        ],
    }


def contact_choices() -> dict[str, list[dict[str, str]]]:
    """The agent desktop's wrap-up choices: contact kinds, categories and states, as
    ``[{"value", "label"}]`` in the user's language."""
    from .models import Category, ContactKind, State

    def choices(enum: type[Choices]) -> list[dict[str, str]]:
        return [{"value": value, "label": str(label)} for value, label in enum.choices]

    return {"kinds": choices(ContactKind), "categories": choices(Category), "states": choices(State)}


# --- for outbound revisit campaigns (``calls.outbound.feeds``): reads without a user's scope --------


def revisit_candidates(*, since: datetime, until: datetime | None = None) -> list[dict[str, Any]]:
    """Whom to call back about a work order: work orders closed in ``[since, until)`` and open
    callbacks (回访 tasks) created in it, each with a phone (the customer's mobile, else the
    caller's number). ``{"ref", "kind": "ticket" | "callback", "ticket", "phone", "customer_id",
    "name"}``, oldest first."""
    until = until or timezone.now()
    found: list[dict[str, Any]] = []
    closed = (
        Ticket.objects.filter(state=State.CLOSED, closed_at__gte=since, closed_at__lt=until)
        .select_related("customer")
        .order_by("closed_at", "id")
    )
    for ticket in closed:
        if ticket.contact_phone:
            found.append(_revisit_row("ticket", f"ticket:{ticket.pk}", ticket))
    callbacks = (
        TicketCallback.objects.filter(status=TicketCallbackStatus.OPEN, created_at__gte=since, created_at__lt=until)
        .select_related("ticket__customer")
        .order_by("created_at", "id")
    )
    for callback in callbacks:
        if callback.ticket.contact_phone:
            found.append(_revisit_row("callback", f"ticket-callback:{callback.pk}", callback.ticket))
    return found


def _revisit_row(kind: str, ref: str, ticket: Ticket) -> dict[str, Any]:
    return {
        "ref": ref,
        "kind": kind,
        "ticket": ticket.number,
        "phone": ticket.contact_phone,
        "customer_id": ticket.customer_id,
        "name": ticket.customer.name if ticket.customer is not None else "",
    }
