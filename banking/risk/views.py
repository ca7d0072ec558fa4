"""The risk officer's pages: alerts (list, one alert with its evidence and history, the workflow
actions) and the queried-account statistics with their XLSX export."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from audit.services import audit_record
from core import spreadsheets
from core.errors import DomainError
from org.permissions import role_required, staff_user

from . import policy, presentation, selectors, services
from .models import Alert, AlertEvidence

PAGE_SIZE = 50
CHANNEL_LABELS = {
    selectors.CHANNEL_IVR: _("IVR self-service"),
    selectors.CHANNEL_DESKTOP: _("Agent desktop"),
    selectors.CHANNEL_BACK_OFFICE: _("Back office"),
}
STATUS_FILTERS = [("active", _("Not closed")), *Alert.Status.choices, ("", _("All"))]


def _workers():
    """Who an alert can be assigned to: active risk officers and directors."""
    return (
        get_user_model()
        .objects.filter(is_active=True, profile__role__in=policy.READERS)
        .order_by("username")
        .only("id", "username", "first_name", "last_name")
    )


@role_required(*policy.READERS)
def alert_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "active")
    if status not in {value for value, _label in STATUS_FILTERS}:
        status = "active"
    rule = request.GET.get("rule", "")
    if rule not in Alert.Rule.values:
        rule = ""
    page = Paginator(selectors.alert_list(status=status, rule=rule), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "risk/alerts.html",
        {
            "page": page,
            "status": status,
            "rule": rule,
            "statuses": STATUS_FILTERS,
            "rules": Alert.Rule.choices,
            "open_count": selectors.alert_list(status="active").count(),
        },
    )


def _evidence_rows(alert: Alert) -> list[dict[str, Any]]:
    sources = dict(AlertEvidence.Source.choices)
    return [
        {
            "evidence": e,
            "source": sources.get(e.source, e.source),
            "customer": str(e.customer) if e.customer_id else "",
            "customer_id": e.customer_id,
            "account": str(e.account) if e.account_id else "",
            "kind": presentation.kind_label(e),
            "summary": "；".join(f"{label}：{text}" for label, text in presentation.rows(e.summary)),
        }
        for e in selectors.alert_evidence(alert)
    ]


def _history_rows(alert: Alert) -> list[Any]:
    """The alert's log, each status and outcome by its name (the log keeps the codes)."""
    statuses: dict[str, Any] = dict(Alert.Status.choices)
    outcomes: dict[str, Any] = dict(Alert.Outcome.choices)
    entries: list[Any] = list(selectors.alert_history(alert))
    for entry in entries:
        after = entry.after or {}
        status, outcome = str(after.get("status") or ""), str(after.get("outcome") or "")
        entry.status_label = statuses.get(status, status)
        entry.outcome_label = outcomes.get(outcome, outcome)
    return entries


@role_required(*policy.READERS)
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alert_get(pk)
    if alert is None:
        raise Http404
    return render(
        request,
        "risk/alert.html",
        {
            "alert": alert,
            "evidence": _evidence_rows(alert),
            "details": presentation.rows(alert.details),
            "history": _history_rows(alert),
            "workers": _workers(),
            "outcomes": Alert.Outcome.choices,
            "can_escalate": alert.status in (Alert.Status.OPEN, Alert.Status.ASSIGNED),
        },
    )


@require_POST
@role_required(*policy.READERS)
def alert_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    alert = selectors.alert_get(pk)
    if alert is None:
        raise Http404
    actor = staff_user(request)
    note = request.POST.get("note", "")[:2000]
    try:
        if action == "assign":
            assignee = _workers().filter(pk=request.POST.get("assignee") or 0).first()
            if assignee is None:
                messages.error(request, gettext("Choose a risk officer or the director."))
                return redirect("risk:alert", pk=pk)
            services.alert_assign(alert=alert, actor=actor, assignee=assignee)
            messages.success(request, gettext("Alert assigned."))
        elif action == "comment":
            services.alert_comment(alert=alert, actor=actor, note=note)
            messages.success(request, gettext("Comment added."))
        elif action == "escalate":
            services.alert_escalate(alert=alert, actor=actor, note=note)
            messages.success(request, gettext("Alert escalated."))
        elif action == "close":
            services.alert_close(alert=alert, actor=actor, outcome=request.POST.get("outcome", ""), note=note)
            messages.success(request, gettext("Alert closed."))
        else:
            raise Http404
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("risk:alert", pk=pk)


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("to"), required=False)

    MAX_DAYS = 366

    def period(self) -> tuple[date, date]:
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or date_to - timedelta(days=6)
        if date_from > date_to:
            date_from, date_to = date_to, date_from
        date_from = max(date_from, date_to - timedelta(days=self.MAX_DAYS - 1))
        return date_from, date_to


def _xlsx(rows: list[dict[str, Any]], date_from: date, date_to: date) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext("Queried accounts"))
    sheet.append([gettext("Queried accounts"), f"{date_from:%Y-%m-%d} – {date_to:%Y-%m-%d}"])
    sheet.append(
        [
            gettext("Channel"),
            gettext("Customer"),
            gettext("Account"),
            gettext("Looked up by"),
            gettext("Times"),
            gettext("First"),
            gettext("Last"),
        ]
    )
    zone = timezone.get_current_timezone()
    for row in rows:
        sheet.append(
            spreadsheets.row(
                [
                    str(CHANNEL_LABELS.get(row["channel"], row["channel"])),
                    row["customer"],
                    row["account"] or gettext("(customer)"),
                    row["who"],
                    row["count"],
                    row["first"].astimezone(zone).replace(tzinfo=None),
                    row["last"].astimezone(zone).replace(tzinfo=None),
                ]
            )
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@role_required(*policy.READERS)
def queried_accounts(request: HttpRequest) -> HttpResponseBase:
    form = PeriodForm(request.GET or None)
    date_from, date_to = form.period()
    rows = selectors.queried_accounts(date_from=date_from, date_to=date_to)
    if request.GET.get("format") == "xlsx":
        audit_record(
            actor=request.user,
            action="risk.queried_accounts_export",
            object_type="report",
            object_id="queried_accounts",
            details={"date_from": str(date_from), "date_to": str(date_to), "rows": len(rows)},
            request=request,
        )
        response = HttpResponse(
            _xlsx(rows, date_from, date_to),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="queried-accounts-{date_from:%Y%m%d}-{date_to:%Y%m%d}.xlsx"'
        )
        return response
    for row in rows:
        row["channel_label"] = CHANNEL_LABELS.get(row["channel"], row["channel"])
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "risk/queried_accounts.html",
        {
            "form": form,
            "date_from": date_from,
            "date_to": date_to,
            "page": page,
            "totals": selectors.queried_totals(rows),
            "channel_labels": CHANNEL_LABELS,
            "export_query": f"date_from={date_from:%Y-%m-%d}&date_to={date_to:%Y-%m-%d}&format=xlsx",
        },
    )
