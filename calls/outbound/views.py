"""Campaign pages (issue 19): the list, a campaign's page (progress, figures, start/pause/finish,
list imports and segments with their progress) and the do-not-call list. Team leads write, the
director and analysts read; every write goes through ``services`` (audited)."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import DomainError
from org.permissions import role_required, staff_user
from org.roles import Role
from org.scoping import user_role

from . import jobs, phones, selectors, services
from .models import CampaignKind, CampaignStatus, ContactStatus, DialMode, DncReason, ImportJob

READERS = (Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST)
DNC_WRITERS = (Role.TEAM_LEAD, Role.DIRECTOR)


def _can_write(request: HttpRequest) -> bool:
    return user_role(request.user) == Role.TEAM_LEAD


def _queues() -> list[tuple[str, str]]:
    from ..models import Queue

    return list(Queue.objects.filter(is_active=True).order_by("position", "code").values_list("code", "name"))


class CampaignForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=40)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CampaignKind.choices)
    mode = forms.ChoiceField(label=gettext_lazy("Dialing mode"), choices=DialMode.choices)
    queue = forms.ChoiceField(label=gettext_lazy("Queue"), choices=())
    window_start = forms.TimeField(label=gettext_lazy("Calling from"), initial=time(9, 0))
    window_end = forms.TimeField(label=gettext_lazy("Calling until"), initial=time(20, 0))
    date_from = forms.DateField(label=gettext_lazy("First day"))
    date_to = forms.DateField(label=gettext_lazy("Last day"))
    max_attempts = forms.IntegerField(label=gettext_lazy("Attempts per contact"), min_value=1, max_value=20, initial=3)
    allow_holidays = forms.BooleanField(label=gettext_lazy("Calls on public holidays"), required=False)
    script = forms.CharField(label=gettext_lazy("Script"), widget=forms.Textarea(attrs={"rows": 4}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = _queues()  # type: ignore[attr-defined]


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("List (CSV or XLSX)"))


class SegmentForm(forms.Form):
    min_balance = forms.DecimalField(
        label=gettext_lazy("Card balance at least (yuan)"), min_value=Decimal(0), max_digits=14, decimal_places=2
    )
    sms_notice = forms.BooleanField(label=gettext_lazy("SMS notices on"), required=False, initial=True)


class DncForm(forms.Form):
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40)
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=DncReason.choices)
    all_campaigns = forms.BooleanField(label=gettext_lazy("Every campaign"), required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)


def _errors(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else name}: {' '.join(str(e) for e in errs)}"
        for name, errs in form.errors.items()
    )


@role_required(*READERS)
def campaign_list(request: HttpRequest) -> HttpResponse:
    can_write = _can_write(request)
    form = CampaignForm(
        initial={"date_from": timezone.localdate(), "date_to": timezone.localdate() + timedelta(days=30)}
    )
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        form = CampaignForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            code = data.pop("code")
            from ..models import Queue

            data["queue"] = Queue.objects.get(code=data["queue"])
            try:
                campaign = services.campaign_create(
                    code=code,
                    fields=services.CampaignFields(**data),
                    actor=staff_user(request),
                    request=request,
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Campaign %(code)s created.") % {"code": campaign.code})
                return redirect("outbound:detail", pk=campaign.pk)
        else:
            messages.error(request, _("Nothing was saved: %(errors)s") % {"errors": _errors(form)})
    status = request.GET.get("status") or ""
    if status not in CampaignStatus.values:
        status = ""
    return render(
        request,
        "calls/outbound/campaigns.html",
        {
            "campaigns": selectors.campaign_list(status=status or None),
            "status": status,
            "statuses": CampaignStatus.choices,
            "form": form,
            "can_write": can_write,
        },
    )


def _period(request: HttpRequest) -> tuple[date, date]:
    today = timezone.localdate()
    try:
        date_to = date.fromisoformat(request.GET.get("date_to", "")) if request.GET.get("date_to") else today
        date_from = (
            date.fromisoformat(request.GET.get("date_from", ""))
            if request.GET.get("date_from")
            else date_to - timedelta(days=29)
        )
    except ValueError:
        date_from, date_to = today - timedelta(days=29), today
    if date_from > date_to or (date_to - date_from).days > 366:
        date_from = date_to - timedelta(days=29)
    return date_from, date_to


@role_required(*READERS)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        campaign = selectors.campaign_get(pk)
    except DomainError as exc:
        raise Http404 from exc
    can_write = _can_write(request)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        return _campaign_post(request, campaign)
    date_from, date_to = _period(request)
    status = request.GET.get("contacts") or ""
    if status not in ContactStatus.values:
        status = ""
    page = Paginator(selectors.campaign_contacts(campaign, status=status or None), 50).get_page(request.GET.get("page"))
    jobs = list(selectors.campaign_imports(campaign)[:10])
    return render(
        request,
        "calls/outbound/campaign.html",
        {
            "campaign": campaign,
            "progress": selectors.campaign_progress(campaign),
            "figures": selectors.campaign_figures(campaign, date_from, date_to),
            "date_from": date_from,
            "date_to": date_to,
            "retry": services.retry_minutes(campaign),
            "outcomes": services.campaign_outcomes(campaign),
            "jobs": jobs,
            "running_jobs": [job.pk for job in jobs if job.status == ImportJob.Status.RUNNING],
            "page": page,
            "contact_status": status,
            "contact_statuses": ContactStatus.choices,
            "can_write": can_write,
            "import_form": ImportForm(),
            "segment_form": SegmentForm(initial={"min_balance": Decimal("50000.00"), "sms_notice": True}),
            "display_phone": phones.display,
        },
    )


def _campaign_post(request: HttpRequest, campaign: Any) -> HttpResponse:
    target = reverse("outbound:detail", kwargs={"pk": campaign.pk})
    op = request.POST.get("op", "")
    try:
        if op in services.ALLOWED_MOVES:
            services.campaign_move(campaign=campaign, move=op, actor=staff_user(request), request=request)
            messages.success(
                request,
                _("Campaign status: %(status)s.")
                % {"status": selectors.campaign_get(campaign.pk).get_status_display()},
            )
        elif op == "import":
            form = ImportForm(request.POST, request.FILES)
            if not form.is_valid():
                messages.error(request, _("Nothing was imported: %(errors)s") % {"errors": _errors(form)})
            else:
                upload = form.cleaned_data["file"]
                jobs.import_start(campaign=campaign, upload=upload, file_name=upload.name, actor=staff_user(request))
                messages.success(request, _("The list is being imported."))
        elif op == "segment":
            segment_form = SegmentForm(request.POST)
            if not segment_form.is_valid():
                messages.error(request, _("Nothing was added: %(errors)s") % {"errors": _errors(segment_form)})
            else:
                jobs.segment_build(
                    campaign=campaign,
                    min_balance=segment_form.cleaned_data["min_balance"],
                    sms_notice=segment_form.cleaned_data["sms_notice"],
                    actor=staff_user(request),
                )
                messages.success(request, _("The customers of the segment are being added."))
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(target)


@role_required(*READERS)
def dnc_page(request: HttpRequest) -> HttpResponse:
    can_write = user_role(request.user) in DNC_WRITERS
    form = DncForm()
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied
        try:
            if request.POST.get("op") == "remove":
                entry = selectors.dnc_get(int(request.POST.get("entry") or 0))
                services.dnc_remove(
                    entry=entry, note=request.POST.get("note", ""), actor=staff_user(request), request=request
                )
                messages.success(request, _("%(phone)s may be called again.") % {"phone": phones.display(entry.phone)})
            else:
                form = DncForm(request.POST)
                if form.is_valid():
                    entry = services.dnc_add(actor=staff_user(request), **form.cleaned_data)
                    messages.success(
                        request, _("%(phone)s is on the do-not-call list.") % {"phone": phones.display(entry.phone)}
                    )
                    return redirect("outbound:dnc")
                messages.error(request, _("Nothing was saved: %(errors)s") % {"errors": _errors(form)})
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", _("Unknown entry.")))
        else:
            if request.POST.get("op") == "remove":
                return redirect("outbound:dnc")
    query = "".join(ch for ch in request.GET.get("phone", "") if ch.isascii() and ch.isdigit())[:20]
    include_removed = request.GET.get("include_removed") == "1"
    page = Paginator(selectors.dnc_list(phone=query, include_removed=include_removed), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "calls/outbound/dnc.html",
        {
            "page": page,
            "query": query,
            "include_removed": include_removed,
            "form": form,
            "can_write": can_write,
        },
    )
