"""The work-order page's forms: each posts to ``/do/<action>/``, is parsed by its form and runs
one service call; a refusal is shown as ``errors.page_message`` with nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from audit.services import audit_record
from core.errors import DomainError, Forbidden
from org.permissions import role_required

from .. import errors, forms, policy, selectors
from ..errors import TicketNotFound
from ..services.adjustments import ticket_adjustment_decide, ticket_adjustment_post, ticket_adjustment_waive
from ..services.attachments import ticket_attachment_add
from ..services.contacts import ticket_customer_link
from ..services.extensions import ticket_extension_decide, ticket_extension_request
from ..services.pauses import ticket_pause, ticket_resume
from ..services.workflow import (
    ticket_accept,
    ticket_callback,
    ticket_chase,
    ticket_close,
    ticket_dispatch,
    ticket_merge,
    ticket_reply,
    ticket_review,
    ticket_withdraw,
)
from .detail import ticket_or_404

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


@dataclass(frozen=True)
class PageAction:
    form: type
    run: Callable
    done: str | StrPromise


def _decide(ticket, user, data):
    extension = selectors.extension_get(user=user, ticket_id=ticket.pk, extension_id=data["extension"])
    return ticket_extension_decide(extension=extension, actor=user, approve=data["approve"], note=data["note"])


def _reply(ticket, user, data):
    fen = None
    if data.get("adjustment_amount"):
        from banking.money import parse_amount

        fen = parse_amount(data["adjustment_amount"].strip())
    return ticket_reply(ticket=ticket, actor=user, result=data["result"], resolved=data["resolved"], adjustment_fen=fen)


def _merge(ticket, user, data):
    try:
        into = selectors.ticket_get(user=user, ticket_id=data["into"])
    except TicketNotFound:
        raise errors.MergeTargetNotFound() from None
    return ticket_merge(ticket=ticket, actor=user, into=into)


def _link_customer(ticket, user, data):
    from banking.events import customer_search_event
    from banking.selectors import customer_search

    found = list(customer_search(user=user, q=data["q"])[:2])
    customer_search_event(actor=user, q=data["q"], results=[c.pk for c in found], channel="ticket_page")
    if not found:
        raise errors.CustomerNotFound()
    if len(found) > 1:
        raise errors.CustomerAmbiguous()
    return ticket_customer_link(ticket=ticket, actor=user, customer=found[0])


def _adjust(ticket, user, data):
    account = None
    if data.get("account"):
        from ..apis import _account

        account = _account(user, data["account"])
    return ticket_adjustment_post(ticket=ticket, actor=user, account=account)


PAGE_ACTIONS: dict[str, PageAction] = {
    "dispatch": PageAction(
        forms.DispatchForm,
        lambda t, u, d: ticket_dispatch(ticket=t, actor=u, unit_code=d["unit"].code),
        gettext_lazy("Dispatched."),
    ),
    "accept": PageAction(forms.EmptyForm, lambda t, u, d: ticket_accept(ticket=t, actor=u), gettext_lazy("Accepted.")),
    "reply": PageAction(forms.ReplyForm, _reply, gettext_lazy("Reply sent.")),
    "review": PageAction(
        forms.ReviewForm,
        lambda t, u, d: ticket_review(ticket=t, actor=u, accepted=d["accepted"], note=d["note"]),
        gettext_lazy("Review recorded."),
    ),
    "extend": PageAction(
        forms.ExtendForm,
        lambda t, u, d: ticket_extension_request(ticket=t, actor=u, days=d["days"], reason=d["reason"]),
        gettext_lazy("Extension requested."),
    ),
    "decide": PageAction(forms.DecisionForm, _decide, gettext_lazy("Decision recorded.")),
    "pause": PageAction(
        forms.ReasonForm,
        lambda t, u, d: ticket_pause(ticket=t, actor=u, reason=d["reason"]),
        gettext_lazy("Paused: the time until it is resumed is not counted."),
    ),
    "resume": PageAction(forms.EmptyForm, lambda t, u, d: ticket_resume(ticket=t, actor=u), gettext_lazy("Resumed.")),
    "callback": PageAction(
        forms.CallbackForm,
        lambda t, u, d: ticket_callback(ticket=t, actor=u, satisfied=d["satisfied"], note=d["note"]),
        gettext_lazy("Callback recorded."),
    ),
    "close": PageAction(
        forms.NoteForm,
        lambda t, u, d: ticket_close(ticket=t, actor=u, note=d["note"]),
        gettext_lazy("Closed."),
    ),
    "withdraw": PageAction(
        forms.ReasonForm,
        lambda t, u, d: ticket_withdraw(ticket=t, actor=u, reason=d["reason"]),
        gettext_lazy("Withdrawn."),
    ),
    "merge": PageAction(forms.MergeForm, _merge, gettext_lazy("Merged.")),
    "chase": PageAction(
        forms.NoteForm,
        lambda t, u, d: ticket_chase(ticket=t, actor=u, note=d["note"]),
        gettext_lazy("The unit has been chased."),
    ),
    "attach": PageAction(
        forms.AttachmentForm,
        lambda t, u, d: ticket_attachment_add(ticket=t, actor=u, upload=d["file"]),
        gettext_lazy("File attached."),
    ),
    "adjust": PageAction(forms.AdjustmentForm, _adjust, gettext_lazy("Adjustment posted.")),
    "decide_adjustment": PageAction(
        forms.AdjustmentDecisionForm,
        lambda t, u, d: ticket_adjustment_decide(ticket=t, actor=u, approve=d["approve"], note=d["note"]),
        gettext_lazy("Decision recorded."),
    ),
    "waive": PageAction(
        forms.ReasonForm,
        lambda t, u, d: ticket_adjustment_waive(ticket=t, actor=u, reason=d["reason"]),
        gettext_lazy("Adjustment waived."),
    ),
    "link_customer": PageAction(forms.CustomerLinkForm, _link_customer, gettext_lazy("Customer linked.")),
}


@role_required(*policy.READERS)
@require_POST
def ticket_action(request, pk: int, action: str):
    ticket = ticket_or_404(request, pk)
    spec = PAGE_ACTIONS.get(action)
    if spec is None:
        raise Http404
    form = spec.form(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Nothing was changed: %(errors)s") % {"errors": forms.form_errors(form)})
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
        messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": errors.page_message(exc)})
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
