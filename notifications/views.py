"""The maintainer's SMS page (``/notifications/sms/``): the outbox search, one message with its
history, the dead letters (requeue or cancel, audited by ``delivery``), and the gateway's health
at the top. The maintainer and the director read it; only the maintainer decides a dead letter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.api.validation import validate_in_range
from org.navigation import display_name
from org.permissions import role_required, staff_user
from org.roles import Role
from org.scoping import user_role

from . import delivery
from .errors import NotDeadLetter
from .models import SmsOutbox
from .selectors import sms_dead_letters, sms_gateway_health, sms_get, sms_history, sms_search

READERS = (Role.MAINTAINER, Role.DIRECTOR)
PAGE_SIZE = 50

GATEWAY_LABELS = {
    "file": gettext_lazy("File (written to disk, nothing leaves the server)"),
    "http": gettext_lazy("HTTP provider"),
    "smpp": gettext_lazy("SMPP 3.4 (SMSC)"),
}


def _with_blank(label: Any, choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", label), *choices]


class OutboxSearchForm(forms.Form):
    phone = forms.CharField(label=gettext_lazy("Phone"), required=False, max_length=40)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=lambda: _with_blank(_("All kinds"), SmsOutbox.Kind.choices),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=lambda: _with_blank(_("All statuses"), SmsOutbox.Status.choices),
    )
    date_from = forms.DateField(label=gettext_lazy("From"), required=False, validators=[validate_in_range])
    date_to = forms.DateField(label=gettext_lazy("to"), required=False, validators=[validate_in_range])

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone") or ""
        digits = "".join(char for char in raw if char.isascii() and char.isdigit())
        if raw.strip() and not digits:
            raise forms.ValidationError(_("Enter the digits of the phone number."), code="invalid")
        if len(digits) > 20:
            raise forms.ValidationError(_("A phone number has at most 20 digits."), code="invalid")
        return digits

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


def _can_decide(request: HttpRequest) -> bool:
    return user_role(request.user) == Role.MAINTAINER


def _rows(messages_: list[SmsOutbox]) -> list[dict[str, Any]]:
    return [
        {
            "message": message,
            "kind": message.get_kind_display(),  # type: ignore[attr-defined]
            "status": message.get_status_display(),  # type: ignore[attr-defined]
            "done_at": message.delivered_at or message.sent_at,
        }
        for message in messages_
    ]


def _health() -> dict[str, Any]:
    health = sms_gateway_health()
    return {
        "health": health,
        "gateway_label": GATEWAY_LABELS.get(health.gateway, health.gateway),
    }


def _page(request: HttpRequest, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


@role_required(*READERS)
def outbox(request: HttpRequest) -> HttpResponse:
    form = OutboxSearchForm(request.GET)
    page = None
    if form.is_valid():
        data = form.cleaned_data
        rows = sms_search(
            phone=data["phone"],
            kind=data["kind"],
            status=data["status"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
        page = _page(request, rows)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        **_health(),
        "tab": "outbox",
        "form": form,
        "page": page,
        "rows": _rows(list(page.object_list)) if page else [],
        "query": params.urlencode(),
        "values": {name: request.GET.get(name, "") for name in form.fields},
        "kinds": SmsOutbox.Kind.choices,
        "statuses": SmsOutbox.Status.choices,
        "can_decide": _can_decide(request),
        "here": request.get_full_path(),
    }
    return render(request, "notifications/outbox.html", context)


@role_required(*READERS)
def dead_letters(request: HttpRequest) -> HttpResponse:
    page = _page(request, sms_dead_letters())
    context = {
        **_health(),
        "tab": "dead",
        "page": page,
        "rows": _rows(list(page.object_list)),
        "query": "",
        "can_decide": _can_decide(request),
        "here": request.get_full_path(),
    }
    return render(request, "notifications/dead_letters.html", context)


@role_required(*READERS)
def message(request: HttpRequest, pk: int) -> HttpResponse:
    sms = sms_get(pk)
    if sms is None:
        raise Http404(_("No such SMS."))
    events = [
        {"event": event, "status": event.get_status_display(), "by": display_name(event.actor) if event.actor else ""}  # type: ignore[attr-defined]
        for event in sms_history(sms)
    ]
    context = {
        "sms": sms,
        "row": _rows([sms])[0],
        "events": events,
        "can_decide": _can_decide(request) and sms.status == SmsOutbox.Status.FAILED,
        "here": request.get_full_path(),
    }
    return render(request, "notifications/message.html", context)


def _back(request: HttpRequest, sms: SmsOutbox) -> HttpResponse:
    """Back where the button was (the message, the outbox or the dead letters)."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = ""
    return redirect(target or reverse("notifications:message", args=[sms.pk]))


def _decide(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    sms = sms_get(pk)
    if sms is None:
        raise Http404(_("No such SMS."))
    try:
        action(message=sms, actor=staff_user(request), request=request)
    except NotDeadLetter as error:
        messages.error(
            request,
            _("SMS %(id)s was not changed: %(reason)s") % {"id": sms.pk, "reason": error.message},
        )
    else:
        messages.success(request, done % {"id": sms.pk})
    return _back(request, sms)


@require_POST
@role_required(Role.MAINTAINER)
def requeue(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, delivery.requeue, _("SMS %(id)s is queued to be sent again."))


@require_POST
@role_required(Role.MAINTAINER)
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, delivery.cancel, _("SMS %(id)s is cancelled: it will not be sent."))
