"""The PRC working-day calendar (DESIGN.md §4): public holidays and make-up working days (调休).

The calendar lives in the database (``CalendarYear``, ``CalendarDay``), seeded from the
``chinese-calendar`` package (import name ``chinese_calendar``) for the years it knows and edited by
the maintainer for later years. A day is a working day when a ``CalendarDay`` says so, else when it
is Monday–Friday. A year without a *complete* ``CalendarYear`` row is counted Monday–Friday only,
and every computation that touched it reports the year in ``estimated_years``.

``WorkingCalendar`` reads lazily, one query per year touched (plus one for the year list), so a
deadline costs two or three small queries; ``services`` pass one calendar to many computations.
"""

from __future__ import annotations

import calendar as std_calendar
from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _

from .models import CalendarDay, CalendarYear

# ``chinese_calendar`` names its holidays in English; the days keep the name as the package gives
# it (so a reseed matches) and pages show it translated. A name a maintainer typed is shown as is.
PACKAGE_HOLIDAY_NAMES = {
    "New Year's Day": _("New Year's Day"),
    "Spring Festival": _("Spring Festival"),
    "Tomb-sweeping Day": _("Tomb-sweeping Day"),
    "Labour Day": _("Labour Day"),
    "Dragon Boat Festival": _("Dragon Boat Festival"),
    "National Day": _("National Day"),
    "Mid-autumn Festival": _("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": _("Anti-Fascist 70th Day"),
}


def holiday_label(name: str) -> str:
    return str(PACKAGE_HOLIDAY_NAMES.get(name, name))


class WorkingCalendar:
    def __init__(self) -> None:
        self._known_years: frozenset[int] | None = None
        self._days: dict[int, dict[date, bool]] = {}
        self.estimated_years: set[int] = set()

    # --- data -------------------------------------------------------------------------------------

    @property
    def known_years(self) -> frozenset[int]:
        if self._known_years is None:
            self._known_years = frozenset(CalendarYear.objects.filter(complete=True).values_list("year", flat=True))
        return self._known_years

    def _exceptions(self, year: int) -> dict[date, bool]:
        if year not in self._days:
            self._days[year] = dict(
                CalendarDay.objects.filter(date__year=year).values_list("date", "is_working_day").order_by()
            )
        return self._days[year]

    def is_known(self, year: int) -> bool:
        return year in self.known_years

    def is_working_day(self, day: date) -> bool:
        if not self.is_known(day.year):
            self.estimated_years.add(day.year)
            return day.weekday() < 5
        exception = self._exceptions(day.year).get(day)
        if exception is not None:
            return exception
        return day.weekday() < 5

    def reset_estimate(self) -> None:
        self.estimated_years = set()

    # --- counting ---------------------------------------------------------------------------------

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        day = start
        found = 0
        while found < count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                found += 1
        return day

    def on_or_after(self, day: date) -> date:
        """``day`` if it is a working day, else the next working day (Civil Code art. 203)."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def last_working_day_of_month(self, year: int, month: int) -> date:
        day = date(year, month, std_calendar.monthrange(year, month)[1])
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


def package_years() -> list[int]:
    """The years the installed ``chinese_calendar`` has a full schedule for (it names both the Spring
    Festival and the National Day holidays of the year)."""
    from chinese_calendar import constants

    names: dict[int, set[str]] = {}
    for day, name in constants.holidays.items():
        names.setdefault(day.year, set()).add(str(name))
    return sorted(year for year, found in names.items() if {"Spring Festival", "National Day"} <= found)


def package_days(year: int) -> list[tuple[date, bool, str]]:
    """(date, is_working_day, holiday name) for every exception to Monday–Friday in ``year``: the
    holiday days (weekend ones kept too, for display) and the make-up working days."""
    from chinese_calendar import constants

    rows = [(day, False, str(name or "")) for day, name in constants.holidays.items() if day.year == year]
    rows += [(day, True, str(name or "")) for day, name in constants.workdays.items() if day.year == year]
    return sorted(rows)
