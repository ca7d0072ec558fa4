"""Work-order pages: the unit's inbox, the analyst's list, the work order with its forms and
history, attachment downloads, the CSV export and the maintainer's holiday calendar.

Every read goes through ``selectors`` (scoped: another unit's work order is a 404); every write
through one ``services`` call, its refusal shown as a message with nothing changed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from audit.services import audit_record
from contactcenter.api.telephony import ani_digits
from contactcenter.errors import DomainError, Forbidden
from org.models import Unit
from org.permissions import role_required
from org.roles import Role
from org.scoping import user_role

from . import errors, forms, policy, selectors, services
from .apis import attachment_response
from .errors import TicketNotFound
from .models import (
    ADJUSTMENT_CATEGORIES,
    STATE_GUARDS,
    TRANSITIONS,
    WORKING_STATES,
    Category,
    ContactKind,
    ExtensionStatus,
    State,
    Ticket,
)
from .selectors import TicketFilter

READERS = (Role.DIRECTOR, Role.ANALYST, Role.TEAM_LEAD, Role.AGENT, Role.UNIT_STAFF)
LIST_ROLES = (Role.ANALYST, Role.DIRECTOR, Role.TEAM_LEAD, Role.AGENT)
EXPORT_ROLES = (Role.ANALYST, Role.DIRECTOR, Role.TEAM_LEAD, Role.UNIT_STAFF)
CALENDAR_VIEWERS = (Role.MAINTAINER, Role.ANALYST, Role.DIRECTOR)
PAGE_SIZE = 50


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP`` + 1 rows: an exact count of every work order ever (hundreds of
    thousands) costs more than the rest of the page, and nobody pages that far; the page says
    "more than 10,000" and the filters narrow it down."""

    COUNT_CAP = 10_000

    @cached_property
    def count(self) -> int:
        return min(self.object_list.order_by().values("pk")[: self.COUNT_CAP + 1].count(), self.COUNT_CAP + 1)

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


# --- the unit's inbox ---------------------------------------------------------------------------------


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


# --- the analyst's list ---------------------------------------------------------------------------------


def _filters_from(form: forms.ListFilterForm) -> TicketFilter:
    data = form.cleaned_data if form.is_valid() else {}
    return TicketFilter(
        state=(data["state"],) if data.get("state") else (),
        unit=data.get("unit") or "",
        category=data.get("category") or "",
        overdue=True if data.get("overdue") else None,
        q=data.get("q") or "",
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        order=data.get("order") or "received",
    )


@role_required(*LIST_ROLES)
def ticket_list(request):
    now = timezone.now()
    units = list(Unit.objects.filter(is_active=True).order_by("kind", "code"))
    form = forms.ListFilterForm(request.GET or None, units=units)
    filters = _filters_from(form)
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
            },
            "choices": {
                "states": State.choices,
                "units": [(unit.code, f"{unit.code} {unit.name}") for unit in units],
                "categories": Category.choices,
                "kinds": ContactKind.choices,
            },
            "can_record": role in services.RECORDERS,
            "counts": selectors.inbox_counts(user=request.user, now=now),
            "pending_extensions": list(selectors.extensions_pending(user=request.user)[:20])
            if role in services.REVIEWERS
            else [],
            # Everyone who sees the list sees the same count; only those who call back get the list.
            "callbacks_count": selectors.callbacks_open(user=request.user).count(),
            "callbacks": list(selectors.callbacks_open(user=request.user)[:20]) if role in services.CALLERS else [],
            "can_chase": role in services.REVIEWERS,
            "money_owed": list(selectors.money_owed(user=request.user)[:20])
            if role in policy.ADJUSTMENT_WAIVERS
            else [],
            "escalations": list(selectors.escalations_recent(user=request.user, now=now)[:10]),
            "unknown_years": selectors.calendar_unknown_years(today=timezone.localdate(now)),
            "query": _query_without_page(request),
            "export_query": request.GET.urlencode(),
        },
    )


@role_required(*services.RECORDERS)
@require_POST
def ticket_create(request):
    form = forms.TicketCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The contact was not recorded: %(errors)s") % {"errors": _form_errors(form)})
        return redirect("tickets:list")
    data = form.cleaned_data
    try:
        customer = None
        if data.get("customer"):
            from .apis import _customer

            customer = _customer(request.user, data["customer"])
        ticket = services.ticket_create(
            actor=request.user,
            kind=data["kind"],
            category=data["category"],
            description=data["description"],
            customer=customer,
            call_id=data.get("call_id") or "",
            received_at=data.get("received_at"),
        )
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect("tickets:list")
    messages.success(request, _("Recorded as work order %(number)s.") % {"number": ticket.number})
    return redirect("tickets:detail", pk=ticket.pk)


# --- one work order ----------------------------------------------------------------------------------


def _form_errors(form) -> str:
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else ''} {' '.join(errs)}".strip()
        for name, errs in form.errors.items()
    )


def _error_text(exc: DomainError) -> str:
    """Domain messages are English in code; the common ones have translated page texts."""
    return str(ERROR_TEXTS.get(exc.code, exc.message))


ERROR_TEXTS = {
    "invalid_transition": gettext_lazy("This action is not allowed in the work order's current state."),
    "received_in_future": gettext_lazy("The time the complaint was received cannot be in the future."),
    "unknown_unit": gettext_lazy("No active unit has this code."),
    "unknown_customer": gettext_lazy("No such customer."),
    "unknown_account": gettext_lazy("No such account of this customer."),
    "extension_limit_reached": gettext_lazy("A work order may be extended twice at most."),
    "extension_pending": gettext_lazy("An extension request is already waiting for approval."),
    "extension_too_long": gettext_lazy("The extension goes beyond what the rules allow for this stage."),
    "extension_not_pending": gettext_lazy("This extension request has already been decided."),
    "head_office_approval_required": gettext_lazy("A second extension needs head-office approval (the director)."),
    "already_paused": gettext_lazy("The work order is already paused."),
    "not_paused": gettext_lazy("The work order is not paused."),
    "attachment_too_large": gettext_lazy("The file is larger than allowed."),
    "attachment_type_not_allowed": gettext_lazy("This type of file is not accepted."),
    "attachment_executable": gettext_lazy("Programs and scripts are not accepted as attachments."),
    "attachment_empty": gettext_lazy("The file is empty."),
    "adjustment_not_applicable": errors.AdjustmentNotApplicable.default_message,
    "adjustment_not_confirmed": gettext_lazy("The unit has not confirmed an adjustment amount yet."),
    "merge_not_allowed": gettext_lazy("These work orders cannot be merged."),
    "adjustment_outstanding": errors.AdjustmentOutstanding.default_message,
    "adjustment_too_large": errors.AdjustmentTooLarge.default_message,
    "adjustment_pending_approval": errors.AdjustmentPendingApproval.default_message,
    "adjustment_not_pending": errors.AdjustmentNotPending.default_message,
    "adjustment_settled": errors.AdjustmentSettled.default_message,
    "customer_required": errors.CustomerRequired.default_message,
    "customer_fixed": errors.CustomerFixed.default_message,
    "invalid_amount": gettext_lazy("The amount must be a positive number of yuan with at most 2 decimals."),
}


def available_actions(ticket: Ticket, user) -> set[str]:
    """The forms the work-order page offers this user now (the services check again)."""
    role = user_role(user)
    own_unit = role == Role.UNIT_STAFF and ticket.unit_id == user.profile.unit_id
    state = ticket.state
    actions: set[str] = set()

    def allowed(action: str) -> bool:
        return state in TRANSITIONS[action]

    if role in services.DISPATCHERS and allowed("dispatch"):
        actions.add("dispatch")
    if own_unit and allowed("accept"):
        actions.add("accept")
    if own_unit and allowed("reply"):
        actions.add("reply")
    if role in services.REVIEWERS and allowed("review_accept"):
        actions.add("review")
    if role in services.CALLERS and allowed("callback_satisfied"):
        actions.add("callback")
    if policy.can_close(user, ticket):
        actions.add("close")
    if role in services.DISPATCHERS and allowed("withdraw") and policy.drop_refusal(ticket) is None:
        actions.update({"withdraw", "merge"})
    working = state in STATE_GUARDS["pause"]
    if working and (own_unit or role in services.PAUSERS and role != Role.UNIT_STAFF):
        actions.add("resume" if ticket.paused_at else "pause")
    if working and (own_unit or role in (Role.ANALYST, Role.DIRECTOR)):
        actions.add("extend")
    if role in services.REVIEWERS and state in STATE_GUARDS["chase"]:
        actions.add("chase")
    if state in STATE_GUARDS["attach"] and (own_unit or (role in services.ATTACHERS and role != Role.UNIT_STAFF)):
        actions.add("attach")
    if policy.can_post_adjustment(user, ticket):
        actions.add("adjust")
    if policy.can_decide_adjustment(user, ticket):
        actions.add("decide_adjustment")
    if policy.can_waive_adjustment(user, ticket):
        actions.add("waive")
    if policy.can_link_customer(user, ticket):
        actions.add("link_customer")
    if role in services.REVIEWERS:
        actions.add("decide")
    return actions


def _readable(request, pk: int) -> Ticket:
    try:
        return selectors.ticket_get(user=request.user, ticket_id=pk)
    except TicketNotFound:
        raise Http404 from None


@role_required(*READERS)
def ticket_detail(request, pk: int):
    try:
        ticket = selectors.ticket_detail(user=request.user, ticket_id=pk)
    except TicketNotFound:
        raise Http404 from None
    actions = available_actions(ticket, request.user)
    adjustment = getattr(ticket, "adjustment", None) if ticket.category in ADJUSTMENT_CATEGORIES else None
    accounts = []
    if "adjust" in actions:
        accounts = list(ticket.customer.accounts.filter(is_internal=False).order_by("id"))
    now = timezone.now()
    return render(
        request,
        "tickets/detail.html",
        {
            "ticket": ticket,
            "now": now,
            "overdue": ticket.is_overdue(now),
            "actions": actions,
            "adjustment": adjustment,
            "accounts": accounts,
            "events": list(ticket.events.all()),
            "extensions": list(ticket.extensions.all()),
            "pending_extension": next(
                (e for e in ticket.extensions.all() if e.status == ExtensionStatus.PENDING), None
            ),
            "dispatch_form": forms.DispatchForm(initial={"unit": ticket.unit.code if ticket.unit_id else None}),
            "reply_form": forms.ReplyForm(),
            "review_form": forms.ReviewForm(),
            "extend_form": forms.ExtendForm(),
            "callback_form": forms.CallbackForm(),
            "merge_form": forms.MergeForm(),
            "attachment_form": forms.AttachmentForm(),
            "can_adjust_category": ticket.category in ADJUSTMENT_CATEGORIES,
            "adjustment_status": policy.adjustment_status(ticket),
            "adjustment_needs_approval": policy.needs_director_approval(ticket.adjustment_confirmed_fen),
            "adjustment_approval_limit": settings.TICKETS_ADJUSTMENT_APPROVAL_FEN,
            # An analyst who could post but for the missing customer is told so, not shown nothing.
            "adjust_needs_customer": isinstance(
                policy.adjustment_post_refusal(request.user, ticket), errors.CustomerRequired
            ),
            "max_attachment_mb": settings.TICKETS_ATTACHMENT_MAX_BYTES // (1024 * 1024),
        },
    )


@dataclass(frozen=True)
class PageAction:
    form: type
    run: Callable
    done: str


def _decide(ticket, user, data):
    extension = selectors.extension_get(user=user, ticket_id=ticket.pk, extension_id=data["extension"])
    return services.ticket_extension_decide(extension=extension, actor=user, approve=data["approve"], note=data["note"])


def _reply(ticket, user, data):
    fen = None
    if data.get("adjustment_amount"):
        from banking.money import parse_amount

        fen = parse_amount(data["adjustment_amount"].strip())
    return services.ticket_reply(
        ticket=ticket, actor=user, result=data["result"], resolved=data["resolved"], adjustment_fen=fen
    )


def _merge(ticket, user, data):
    try:
        into = selectors.ticket_get(user=user, ticket_id=data["into"])
    except TicketNotFound:
        raise DomainError(_("Work order not found."), code="merge_not_allowed") from None
    return services.ticket_merge(ticket=ticket, actor=user, into=into)


def _link_customer(ticket, user, data):
    from banking.events import customer_search_event
    from banking.selectors import customer_search

    found = list(customer_search(user=user, q=data["q"])[:2])
    customer_search_event(actor=user, q=data["q"], results=[c.pk for c in found], channel="ticket_page")
    if not found:
        raise DomainError(
            _("No customer has this mobile, card or account number, or ID last 6."), code="customer_not_found"
        )
    if len(found) > 1:
        raise DomainError(
            _("Several customers match: search by the full card or account number."), code="ambiguous_customer"
        )
    return services.ticket_customer_link(ticket=ticket, actor=user, customer=found[0])


def _adjust(ticket, user, data):
    account = None
    if data.get("account"):
        from .apis import _account

        account = _account(user, data["account"])
    return services.ticket_adjustment_post(ticket=ticket, actor=user, account=account)


PAGE_ACTIONS: dict[str, PageAction] = {
    "dispatch": PageAction(
        forms.DispatchForm,
        lambda t, u, d: services.ticket_dispatch(ticket=t, actor=u, unit_code=d["unit"].code),
        gettext_lazy("Dispatched."),
    ),
    "accept": PageAction(
        forms.EmptyForm, lambda t, u, d: services.ticket_accept(ticket=t, actor=u), gettext_lazy("Accepted.")
    ),
    "reply": PageAction(forms.ReplyForm, _reply, gettext_lazy("Reply sent.")),
    "review": PageAction(
        forms.ReviewForm,
        lambda t, u, d: services.ticket_review(ticket=t, actor=u, accepted=d["accepted"], note=d["note"]),
        gettext_lazy("Review recorded."),
    ),
    "extend": PageAction(
        forms.ExtendForm,
        lambda t, u, d: services.ticket_extension_request(ticket=t, actor=u, days=d["days"], reason=d["reason"]),
        gettext_lazy("Extension requested."),
    ),
    "decide": PageAction(forms.DecisionForm, _decide, gettext_lazy("Decision recorded.")),
    "pause": PageAction(
        forms.ReasonForm,
        lambda t, u, d: services.ticket_pause(ticket=t, actor=u, reason=d["reason"]),
        gettext_lazy("Paused: the time until it is resumed is not counted."),
    ),
    "resume": PageAction(
        forms.EmptyForm, lambda t, u, d: services.ticket_resume(ticket=t, actor=u), gettext_lazy("Resumed.")
    ),
    "callback": PageAction(
        forms.CallbackForm,
        lambda t, u, d: services.ticket_callback(ticket=t, actor=u, satisfied=d["satisfied"], note=d["note"]),
        gettext_lazy("Callback recorded."),
    ),
    "close": PageAction(
        forms.NoteForm,
        lambda t, u, d: services.ticket_close(ticket=t, actor=u, note=d["note"]),
        gettext_lazy("Closed."),
    ),
    "withdraw": PageAction(
        forms.ReasonForm,
        lambda t, u, d: services.ticket_withdraw(ticket=t, actor=u, reason=d["reason"]),
        gettext_lazy("Withdrawn."),
    ),
    "merge": PageAction(forms.MergeForm, _merge, gettext_lazy("Merged.")),
    "chase": PageAction(
        forms.NoteForm,
        lambda t, u, d: services.ticket_chase(ticket=t, actor=u, note=d["note"]),
        gettext_lazy("The unit has been chased."),
    ),
    "attach": PageAction(
        forms.AttachmentForm,
        lambda t, u, d: services.ticket_attachment_add(ticket=t, actor=u, upload=d["file"]),
        gettext_lazy("File attached."),
    ),
    "adjust": PageAction(forms.AdjustmentForm, _adjust, gettext_lazy("Adjustment posted.")),
    "decide_adjustment": PageAction(
        forms.AdjustmentDecisionForm,
        lambda t, u, d: services.ticket_adjustment_decide(ticket=t, actor=u, approve=d["approve"], note=d["note"]),
        gettext_lazy("Decision recorded."),
    ),
    "waive": PageAction(
        forms.ReasonForm,
        lambda t, u, d: services.ticket_adjustment_waive(ticket=t, actor=u, reason=d["reason"]),
        gettext_lazy("Adjustment waived."),
    ),
    "link_customer": PageAction(forms.CustomerLinkForm, _link_customer, gettext_lazy("Customer linked.")),
}


@role_required(*READERS)
@require_POST
def ticket_action(request, pk: int, action: str):
    ticket = _readable(request, pk)
    spec = PAGE_ACTIONS.get(action)
    if spec is None:
        raise Http404
    form = spec.form(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Nothing was changed: %(errors)s") % {"errors": _form_errors(form)})
        return redirect("tickets:detail", pk=pk)
    try:
        result = spec.run(ticket, request.user, form.cleaned_data)
    except TicketNotFound:
        raise Http404 from None
    except Forbidden as exc:
        audit_record(
            actor=request.user,
            action="auth.permission_denied",
            object_type="page",
            object_id=request.path[:200],
            details={"method": "POST", "code": exc.code},
            request=request,
        )
        raise PermissionDenied from None
    except DomainError as exc:
        messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": _error_text(exc)})
        return redirect("tickets:detail", pk=pk)
    if action == "adjust" and not result.created:
        messages.info(request, _("This adjustment had already been posted; nothing was posted again."))
    elif action == "adjust" and not result.adjustment.is_posted:
        messages.success(request, _("The amount is above the approval limit: it waits for the director's approval."))
    else:
        messages.success(request, str(spec.done))
    back = request.POST.get("next", "")
    if back.startswith("/tickets/") and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("tickets:detail", pk=pk)


@role_required(*READERS)
def attachment_download(request, pk: int, attachment_id: int):
    try:
        attachment = selectors.attachment_get(user=request.user, ticket_id=pk, attachment_id=attachment_id)
    except TicketNotFound:
        raise Http404 from None
    return attachment_response(attachment)


# --- export --------------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


@role_required(*EXPORT_ROLES)
def export_csv(request):
    """The list as CSV (what the user may see, with the list's filters); streamed."""
    units = Unit.objects.filter(is_active=True)
    form = forms.ListFilterForm(request.GET or None, units=units)
    queryset = selectors.ticket_list(user=request.user, filters=_filters_from(form))
    now = timezone.now()
    writer = csv.writer(_Echo())
    header = [
        _("No."),
        _("Kind"),
        _("Category"),
        _("State"),
        _("Unit"),
        _("Received"),
        _("Due"),
        _("Estimated"),
        _("Overdue"),
        _("Replied at"),
        _("Satisfied"),
        _("Closed at"),
    ]

    def when(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    def rows():
        yield writer.writerow(header)
        for ticket in queryset.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    ticket.number,
                    ticket.get_kind_display(),
                    ticket.get_category_display(),
                    ticket.get_state_display(),
                    ticket.unit.code if ticket.unit_id else "",
                    when(ticket.received_at),
                    when(ticket.due_at),
                    "1" if ticket.due_estimated else "",
                    "1" if ticket.is_overdue(now) else "",
                    when(ticket.replied_at),
                    "" if ticket.satisfied is None else ("1" if ticket.satisfied else "0"),
                    when(ticket.closed_at),
                ]
            )

    audit_record(
        actor=request.user,
        action="tickets.export",
        object_type="ticket",
        details={"query": request.GET.urlencode()[:500]},
        request=request,
    )
    response = StreamingHttpResponse(("\ufeff" if index == 0 else "") + row for index, row in enumerate(rows()))
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = f'attachment; filename="work-orders-{timezone.localdate(now):%Y%m%d}.csv"'
    return response


# --- the calendar ------------------------------------------------------------------------------------


@role_required(*CALENDAR_VIEWERS)
def calendar_page(request):
    today = timezone.localdate()
    years = selectors.calendar_years()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        year = today.year
    year = min(max(year, 2000), 2100)
    can_edit = user_role(request.user) in services.CALENDAR_EDITORS
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        return _calendar_post(request, year)
    row = next((item for item in years if item.year == year), None)
    return render(
        request,
        "tickets/calendar.html",
        {
            "year": year,
            "row": row,
            "years": years,
            "days": selectors.calendar_days(year=year),
            "unknown_years": selectors.calendar_unknown_years(today=today),
            "can_edit": can_edit,
            "day_form": forms.CalendarDayForm(initial={"date": f"{year}-01-01"}),
            "year_choices": sorted({*(item.year for item in years), today.year, today.year + 1, today.year + 2}),
        },
    )


def _calendar_post(request, year: int) -> HttpResponse:
    target = f"{reverse('tickets:calendar')}?year={year}"
    op = request.POST.get("op")
    try:
        if op == "day":
            form = forms.CalendarDayForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Nothing was changed: %(errors)s") % {"errors": _form_errors(form)})
                return redirect(target)
            day = form.cleaned_data["date"]
            moved = services.calendar_day_set(
                actor=request.user,
                day=day,
                is_working_day=form.cleaned_data["is_working_day"],
                name=form.cleaned_data["name"],
            )
            target = f"{reverse('tickets:calendar')}?year={day.year}"
        elif op == "clear":
            form = forms.CalendarDayForm(request.POST)
            day = form.fields["date"].clean(request.POST.get("date"))
            moved = services.calendar_day_set(actor=request.user, day=day, is_working_day=day.weekday() < 5)
        elif op == "year":
            form = forms.CalendarYearForm(request.POST)
            if not form.is_valid():
                raise Http404
            moved = services.calendar_year_set_complete(
                actor=request.user, year=form.cleaned_data["year"], complete=form.cleaned_data["complete"]
            )
        elif op == "sync":
            services.calendar_sync_from_package(actor=request.user)
            moved = services.tickets_due_recompute(actor=request.user)
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": _error_text(exc)})
        return redirect(target)
    except ValidationError as exc:  # a date the form field refuses
        messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": "; ".join(exc.messages)})
        return redirect(target)
    messages.success(
        request,
        _("Calendar saved; %(count)s open work-order deadlines were recomputed.") % {"count": moved},
    )
    return redirect(target)
