"""One work order's page: its facts, history, extensions and attachments, and the forms the
policy offers this user now (``policy.available_actions``); attachment downloads."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from org.permissions import role_required

from .. import errors, forms, policy, selectors
from ..apis import attachment_response
from ..errors import TicketNotFound
from ..models import ADJUSTMENT_CATEGORIES, ExtensionStatus, Ticket

if TYPE_CHECKING:
    from banking.models import Customer


def ticket_or_404(request, pk: int) -> Ticket:
    try:
        return selectors.ticket_get(user=request.user, ticket_id=pk)
    except TicketNotFound:
        raise Http404 from None


@role_required(*policy.READERS)
def ticket_detail(request, pk: int):
    try:
        ticket = selectors.ticket_detail(user=request.user, ticket_id=pk)
    except TicketNotFound:
        raise Http404 from None
    actions = policy.available_actions(request.user, ticket)
    adjustment = getattr(ticket, "adjustment", None) if ticket.category in ADJUSTMENT_CATEGORIES else None
    accounts = []
    if "adjust" in actions:
        accounts = list(
            cast("Customer", ticket.customer)
            .accounts.filter(  # "adjust" needs a customer
                is_internal=False
            )
            .order_by("id")
        )
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
            "dispatch_form": forms.DispatchForm(
                initial={"unit": ticket.unit.code if ticket.unit is not None else None}
            ),
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


@role_required(*policy.READERS)
def attachment_download(request, pk: int, attachment_id: int):
    try:
        attachment = selectors.attachment_get(user=request.user, ticket_id=pk, attachment_id=attachment_id)
    except TicketNotFound:
        raise Http404 from None
    return attachment_response(attachment)
