"""The unit's inbox and the center's list of work orders (filtered, paginated with a capped count),
and recording a contact from the list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.api.telephony import ani_digits
from core.errors import DomainError
from org.models import Unit
from org.permissions import role_required
from org.roles import Role
from org.scoping import user_role

from .. import errors, forms, policy, selectors
from ..models import WORKING_STATES, Category, ContactKind, State
from ..selectors import TicketFilter
from ..services import contacts

PAGE_SIZE = 50


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` + 1 rows: an exact count of every work order ever (hundreds of
    thousands) costs more than the rest of the page, and nobody pages that far; the page says
    "more than 10,000" and the filters narrow it down."""

    COUNT_CAP = 10_000

    @cached_property
    def count(self) -> int:
        return min(
            cast("QuerySet[Any]", self.object_list).order_by().values("pk")[: self.COUNT_CAP + 1].count(),
            self.COUNT_CAP + 1,
        )

    @property
    def capped(self) -> bool:
        return self.count > self.COUNT_CAP


def _page(request, queryset):
    paginator = CappedPaginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@dataclass(frozen=True)
class Row:
    """One line of the inbox or the list, computed once in Python (cheaper than template logic)."""

    pk: int
    url: str
    number: str
    category: str
    kind: str
    customer: str
    mobile: str
    unit: str
    received: str
    due: str
    state: str
    state_label: str
    css: str
    overdue_by: str
    left: str
    paused: bool
    estimated: bool
    chased: bool
    caller: str = ""  # the caller's number (masked) of a contact with no customer linked


def _rows(tickets, now) -> list[Row]:
    from banking.masking import mask_mobile

    categories = {code: str(label) for code, label in Category.choices}
    kinds = {code: str(label) for code, label in ContactKind.choices}
    states = {code: str(label) for code, label in State.choices}
    soon = now + timedelta(hours=24)
    base = reverse("tickets:detail", args=[0])[: -len("0/")]
    rows = []
    for ticket in tickets:
        working = ticket.state in WORKING_STATES and ticket.paused_at is None and ticket.due_at is not None
        overdue = working and ticket.due_at < now
        due_soon = working and not overdue and ticket.due_at < soon
        rows.append(
            Row(
                pk=ticket.pk,
                url=f"{base}{ticket.pk}/",
                number=ticket.number,
                category=categories.get(ticket.category, ticket.category),
                kind=kinds.get(ticket.kind, ticket.kind),
                customer=ticket.customer.name if ticket.customer_id else "",
                mobile=mask_mobile(ticket.customer.mobile) if ticket.customer_id else "",
                unit=f"{ticket.unit.code} {ticket.unit.name}" if ticket.unit_id else "",
                received=timezone.localtime(ticket.received_at).strftime("%Y-%m-%d %H:%M"),
                due=timezone.localtime(ticket.due_at).strftime("%Y-%m-%d %H:%M:%S") if ticket.due_at else "",
                state=ticket.state,
                state_label=states.get(ticket.state, ticket.state),
                css="overdue" if overdue else ("due-soon" if due_soon else ""),
                overdue_by=timesince(ticket.due_at, now) if overdue else "",
                left=timeuntil(ticket.due_at, now) if working and not overdue else "",
                paused=ticket.paused_at is not None and ticket.state in WORKING_STATES,
                estimated=ticket.due_estimated,
                chased=ticket.chased_at is not None and ticket.state in WORKING_STATES,
                caller=mask_mobile(ani_digits(ticket.caller_number)) if ticket.caller_number else "",
            )
        )
    return rows


@role_required(Role.UNIT_STAFF)
def inbox(request):
    now = timezone.now()
    overdue_only = request.GET.get("show") == "overdue"
    page = _page(request, selectors.inbox(user=request.user, overdue_only=overdue_only, now=now))
    return render(
        request,
        "tickets/inbox.html",
        {
            "page": page,
            "rows": _rows(page, now),
            "overdue_only": overdue_only,
            "counts": selectors.inbox_counts(user=request.user, now=now),
            "escalations": selectors.escalations_recent(user=request.user, now=now)[:10],
            "query": _query_without_page(request),
        },
    )


def filters_from(form: forms.ListFilterForm) -> TicketFilter:
    data = form.cleaned_data if form.is_valid() else {}
    return TicketFilter(
        state=(data["state"],) if data.get("state") else (),
        unit=data.get("unit") or "",
        category=data.get("category") or "",
        overdue=True if data.get("overdue") else None,
        q=data.get("q") or "",
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        dispatched_from=data.get("dispatched_from"),
        dispatched_to=data.get("dispatched_to"),
        closed_from=data.get("closed_from"),
        closed_to=data.get("closed_to"),
        customer=data.get("customer"),
        order=data.get("order") or "received",
    )


@role_required(*policy.LIST_READERS)
def ticket_list(request):
    now = timezone.now()
    units = list(Unit.objects.filter(is_active=True).order_by("kind", "code"))
    form = forms.ListFilterForm(request.GET or None, units=units)
    filters = filters_from(form)
    page = _page(request, selectors.ticket_list(user=request.user, filters=filters, now=now))
    role = user_role(request.user)
    # The filter and create forms are written out in the template: Django's widget templates cost
    # more than the whole table at this page's volume.
    return render(
        request,
        "tickets/list.html",
        {
            "page": page,
            "rows": _rows(page, now),
            "filters": {
                "q": filters.q,
                "state": filters.state[0] if filters.state else "",
                "unit": filters.unit,
                "category": filters.category,
                "overdue": bool(filters.overdue),
                "order": filters.order,
                "date_from": filters.date_from.isoformat() if filters.date_from else "",
                "date_to": filters.date_to.isoformat() if filters.date_to else "",
                **{
                    name: getattr(filters, name).isoformat() if getattr(filters, name) else ""
                    for name in ("dispatched_from", "dispatched_to", "closed_from", "closed_to")
                },
                "customer": filters.customer or "",
            },
            "filter_errors": forms.form_errors(form) if form.is_bound and not form.is_valid() else "",
            "choices": {
                "states": State.choices,
                "units": [(unit.code, f"{unit.code} {unit.name}") for unit in units],
                "categories": Category.choices,
                "kinds": ContactKind.choices,
            },
            "can_record": policy.record_refusal(request.user) is None,
            "counts": selectors.inbox_counts(user=request.user, now=now),
            "pending_extensions": list(selectors.extensions_pending(user=request.user)[:20])
            if role in policy.REVIEWERS
            else [],
            # Everyone who sees the list sees the same count; only those who call back get the list.
            "callbacks_count": selectors.callbacks_open(user=request.user).count(),
            "callbacks": list(selectors.callbacks_open(user=request.user)[:20]) if role in policy.CALLERS else [],
            "can_chase": role in policy.REVIEWERS,
            "money_owed": list(selectors.money_owed(user=request.user)[:20])
            if role in policy.ADJUSTMENT_WAIVERS
            else [],
            "escalations": list(selectors.escalations_recent(user=request.user, now=now)[:10]),
            "unknown_years": selectors.calendar_unknown_years(today=timezone.localdate(now)),
            "query": _query_without_page(request),
            "export_query": request.GET.urlencode(),
        },
    )


@role_required(*policy.RECORDERS)
@require_POST
def ticket_create(request):
    form = forms.TicketCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The contact was not recorded: %(errors)s") % {"errors": forms.form_errors(form)})
        return redirect("tickets:list")
    data = form.cleaned_data
    try:
        customer = None
        if data.get("customer"):
            from ..apis import _customer

            customer = _customer(request.user, data["customer"])
        ticket = contacts.ticket_create(
            actor=request.user,
            kind=data["kind"],
            category=data["category"],
            description=data["description"],
            customer=customer,
            call_id=data.get("call_id") or "",
            received_at=data.get("received_at"),
        )
    except DomainError as exc:
        messages.error(request, errors.page_message(exc))
        return redirect("tickets:list")
    messages.success(request, _("Recorded as work order %(number)s.") % {"number": ticket.number})
    return redirect("tickets:detail", pk=ticket.pk)
