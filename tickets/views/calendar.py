"""The holiday calendar page: everyone concerned reads it; the maintainer edits days and years
through the calendar services (validated and audited, open deadlines recomputed)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from org.permissions import role_required

from .. import errors, forms, policy, selectors
from ..services.calendar import (
    calendar_day_set,
    calendar_sync_from_package,
    calendar_year_set_complete,
    tickets_due_recompute,
)


@role_required(*policy.CALENDAR_VIEWERS)
def calendar_page(request):
    today = timezone.localdate()
    years = selectors.calendar_years()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        year = today.year
    year = min(max(year, 2000), 2100)
    can_edit = policy.calendar_edit_refusal(request.user) is None
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
                messages.error(request, _("Nothing was changed: %(errors)s") % {"errors": forms.form_errors(form)})
                return redirect(target)
            day = form.cleaned_data["date"]
            moved = calendar_day_set(
                actor=request.user,
                day=day,
                is_working_day=form.cleaned_data["is_working_day"],
                name=form.cleaned_data["name"],
            )
            target = f"{reverse('tickets:calendar')}?year={day.year}"
        elif op == "clear":
            form = forms.CalendarDayForm(request.POST)
            day = form.fields["date"].clean(request.POST.get("date"))
            moved = calendar_day_set(actor=request.user, day=day, is_working_day=day.weekday() < 5)
        elif op == "year":
            year_form = forms.CalendarYearForm(request.POST)
            if not year_form.is_valid():
                raise Http404
            moved = calendar_year_set_complete(
                actor=request.user, year=year_form.cleaned_data["year"], complete=year_form.cleaned_data["complete"]
            )
        elif op == "sync":
            calendar_sync_from_package(actor=request.user)
            moved = tickets_due_recompute(actor=request.user)
        else:
            raise Http404
    except DomainError as exc:
        messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": errors.page_message(exc)})
        return redirect(target)
    except ValidationError as exc:  # a date the form field refuses
        messages.error(request, _("Nothing was changed: %(reason)s") % {"reason": "; ".join(exc.messages)})
        return redirect(target)
    messages.success(
        request,
        _("Calendar saved; %(count)s open work-order deadlines were recomputed.") % {"count": moved},
    )
    return redirect(target)
