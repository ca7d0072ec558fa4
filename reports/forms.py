"""The reports' filter forms. They only parse the query string: a bad value is a form error on
the page, never a 500.

Dates are local dates (Asia/Shanghai), inclusive. A period preset (``period=today`` …) names
its dates; otherwise ``date_from`` / ``date_to`` (one alone is a single day; neither is the
page's default preset).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.api.validation import validate_in_range
from core.widgets import DateInput

MAX_DAYS = 400
# 48 rows a day: a month of 30-minute intervals is the most a page and a sheet should hold.
MAX_INTERVAL_DAYS = 31

PRESETS: tuple[tuple[str, Any], ...] = (
    ("today", _("Today")),
    ("yesterday", _("Yesterday")),
    ("this_week", _("This week")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
)

GROUPINGS: tuple[tuple[str, Any], ...] = (
    ("interval", pgettext_lazy("rows per", "30 minutes")),
    ("day", pgettext_lazy("rows per", "Day")),
    ("week", pgettext_lazy("rows per", "Week")),
    ("month", pgettext_lazy("rows per", "Month")),
)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (month_start(day) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def previous_month(day: date) -> date:
    """The first day of the month before ``day``'s."""
    return month_start(month_start(day) - timedelta(days=1))


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The dates a preset names; weeks start on Monday, and "this" week or month ends today."""
    if preset == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if preset == "this_week":
        return today - timedelta(days=today.weekday()), today
    if preset == "this_month":
        return month_start(today), today
    if preset == "last_month":
        start = previous_month(today)
        return start, month_end(start)
    return today, today


class ReportFilterForm(forms.Form):
    """The filters of every report table; a page keeps the fields it uses (``fields=``)."""

    period = forms.ChoiceField(label=_("Period"), required=False, choices=[("", "")] + list(PRESETS))
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput(), validators=[validate_in_range])
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput(), validators=[validate_in_range])
    by = forms.ChoiceField(label=_("Rows per"), required=False, choices=GROUPINGS)
    queue = forms.ChoiceField(label=_("Queue"), required=False)
    agent = forms.ChoiceField(label=_("Agent"), required=False)
    unit = forms.ChoiceField(label=_("Unit"), required=False)

    def __init__(
        self,
        data: Any = None,
        *,
        fields: Iterable[str] = ("queue", "agent", "unit"),
        default_period: str = "this_month",
        queues: Sequence[tuple[str, str]] = (),
        agents: Sequence[tuple[str, str]] = (),
        units: Sequence[tuple[str, str]] = (),
        today: date | None = None,
    ) -> None:
        super().__init__(data if data is not None else {})
        self.today = today or timezone.localdate()
        self.default_period = default_period
        keep = {"period", "date_from", "date_to", *fields}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        for name, choices, empty in (
            ("queue", queues, _("All queues")),
            ("agent", agents, _("All agents")),
            ("unit", units, _("All units")),
        ):
            if name in self.fields:
                self.fields[name].choices = [("", empty), *choices]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if "date_from" in self.errors or "date_to" in self.errors or "period" in self.errors:
            return cleaned
        period = cleaned.get("period") or ""
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if period:
            start, end = preset_range(period, self.today)
        elif start is None and end is None:
            period = self.default_period
            start, end = preset_range(period, self.today)
        else:
            start, end = start or end, end or start
        assert start is not None and end is not None
        cleaned["period"], cleaned["date_from"], cleaned["date_to"] = period, start, end
        if start > end:
            self.add_error("date_to", _("The end date is before the start date."))
            return cleaned
        days = (end - start).days + 1
        if days > MAX_DAYS:
            self.add_error("date_to", _("At most %(days)s days at a time.") % {"days": MAX_DAYS})
        elif (cleaned.get("by") or "interval") == "interval" and "by" in self.fields and days > MAX_INTERVAL_DAYS:
            self.add_error(
                "date_to",
                _("30-minute rows cover at most %(days)s days: choose rows per day, or a shorter period.")
                % {"days": MAX_INTERVAL_DAYS},
            )
        return cleaned


MONTH_RE = re.compile(r"[0-9]{4}-[0-9]{2}")


class MonthForm(forms.Form):
    """The monthly report's month, ``YYYY-MM``; by default the month before this one."""

    month = forms.CharField(label=pgettext_lazy("report", "Month"), required=False, max_length=7)

    def __init__(self, data: Any = None, *, today: date | None = None) -> None:
        super().__init__(data if data is not None else {})
        self.today = today or timezone.localdate()

    def clean_month(self) -> date:
        raw = (self.cleaned_data.get("month") or "").strip()
        if not raw:
            return previous_month(self.today)
        if not MONTH_RE.fullmatch(raw) or not 1 <= int(raw[5:]) <= 12 or int(raw[:4]) < 1:
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid")
        first = date(int(raw[:4]), int(raw[5:]), 1)
        validate_in_range(first)
        validate_in_range(month_end(first))
        if first > self.today:
            raise forms.ValidationError(_("The month has not begun yet."), code="future")
        return first
