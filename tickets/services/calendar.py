"""The working-day calendar: loaded from the ``chinese_calendar`` package, edited by the maintainer
(on the calendar page or in the admin, validated and audited alike), and the open deadlines it
touches recomputed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record
from core.errors import DomainError

from .. import errors, policy
from ..calendar import WorkingCalendar, package_days, package_years
from ..deadlines import end_of_day
from ..events import snapshot, ticket_event_record
from ..locks import lock_ticket
from ..models import WORKING_STATES, CalendarDay, CalendarSource, CalendarYear, Ticket
from .common import deadline_of, refuse, resolve_now

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def calendar_sync_from_package(*, actor: User | None = None, years: list[int] | None = None) -> int:
    """Load the ``chinese_calendar`` package's schedule for the years it knows. Years the maintainer
    has edited are left alone. Returns the number of days created or changed."""
    changed = 0
    for year in years or package_years():
        row = CalendarYear.objects.filter(year=year).first()
        if row is not None and row.source == CalendarSource.MAINTAINER:
            continue
        wanted = {day: (working, name) for day, working, name in package_days(year)}
        existing = {day.date: day for day in CalendarDay.objects.filter(date__year=year)}
        current: CalendarDay | None
        for day, current in existing.items():
            if day not in wanted:
                current.delete()
                changed += 1
        for day, (working, name) in wanted.items():
            current = existing.get(day)
            if current is None:
                CalendarDay.objects.create(date=day, is_working_day=working, name=name, source=CalendarSource.PACKAGE)
                changed += 1
            elif (current.is_working_day, current.name) != (working, name):
                current.is_working_day, current.name = working, name
                current.save(update_fields=["is_working_day", "name"])
                changed += 1
        CalendarYear.objects.update_or_create(
            year=year,
            defaults={"complete": True, "source": CalendarSource.PACKAGE, "updated_at": timezone.now(), "note": ""},
        )
    if changed and actor is not None:
        audit_record(actor=actor, action="tickets.calendar_sync", object_type="calendar", details={"changed": changed})
    return changed


def _maintainer_year(year: int, actor: User) -> CalendarYear:
    row, _created = CalendarYear.objects.get_or_create(
        year=year, defaults={"source": CalendarSource.MAINTAINER, "complete": False}
    )
    row.source, row.updated_at, row.updated_by = CalendarSource.MAINTAINER, timezone.now(), actor
    row.save(update_fields=["source", "updated_at", "updated_by"])
    return row


def _year_known(year: object) -> bool:
    return isinstance(year, int) and 2000 <= year <= 2100


def calendar_day_refusal(*, actor: User, day: object) -> DomainError | None:
    """Why ``actor`` may not set ``day``: the pages and the admin ask before they save."""
    if (refusal := policy.calendar_edit_refusal(actor)) is not None:
        return refusal
    if not isinstance(day, date) or not _year_known(day.year):
        return errors.CalendarDayInvalid()
    return None


def calendar_year_refusal(*, actor: User, year: Any) -> DomainError | None:
    if (refusal := policy.calendar_edit_refusal(actor)) is not None:
        return refusal
    try:
        year = int(year)
    except (TypeError, ValueError):
        return errors.CalendarDayInvalid("Unknown year.")
    return None if _year_known(year) else errors.CalendarDayInvalid("Unknown year.")


@transaction.atomic
def calendar_day_set(
    *, actor: User, day: date, is_working_day: bool, name: str = "", now: datetime | None = None
) -> int:
    """Make ``day`` a rest day or a working day (the maintainer, on the calendar page or in the
    admin). A setting equal to the Monday–Friday default removes the exception. Audited. Returns
    how many open deadlines moved."""
    refuse(calendar_day_refusal(actor=actor, day=day))
    name = str(name or "").strip()[:60]
    _maintainer_year(day.year, actor)
    default = day.weekday() < 5
    if is_working_day == default and not name:
        CalendarDay.objects.filter(date=day).delete()
    else:
        CalendarDay.objects.update_or_create(
            date=day, defaults={"is_working_day": is_working_day, "name": name, "source": CalendarSource.MAINTAINER}
        )
    audit_record(
        actor=actor,
        action="tickets.calendar_day_set",
        object_type="calendar_day",
        object_id=day.isoformat(),
        details={"working": is_working_day, "name": name},
    )
    return tickets_due_recompute(actor=actor, affected=day, now=now)


@transaction.atomic
def calendar_year_set_complete(
    *, actor: User, year: int, complete: bool, note: str | None = None, now: datetime | None = None
) -> int:
    """Declare a year's schedule complete (deadlines then use it) or not, with the maintainer's
    ``note`` when given. Audited. Returns how many open deadlines moved."""
    refuse(calendar_year_refusal(actor=actor, year=year))
    row = _maintainer_year(int(year), actor)
    row.complete = bool(complete)
    details: dict[str, Any] = {"complete": complete}
    if note is not None:
        row.note = details["note"] = str(note).strip()[:200]
    row.save(update_fields=["complete", "note"])
    audit_record(
        actor=actor,
        action="tickets.calendar_year",
        object_type="calendar_year",
        object_id=year,
        details=details,
    )
    return tickets_due_recompute(actor=actor, year=int(year), now=now)


def tickets_due_recompute(
    *, actor: User | None = None, affected: date | None = None, year: int | None = None, now: datetime | None = None
) -> int:
    """Recompute the due time of working work orders the calendar change can touch: those whose
    period (receipt day to due day) contains ``affected`` or meets ``year``, and those estimated."""
    now = resolve_now(now)
    queryset = Ticket.objects.filter(state__in=sorted(WORKING_STATES))
    touched = Q(due_estimated=True)
    if affected is not None:
        touched |= Q(received_at__lt=end_of_day(affected), due_at__gte=end_of_day(affected) - timedelta(days=1))
    if year is not None:
        touched |= Q(received_at__lt=end_of_day(date(year, 12, 31)), due_at__gte=end_of_day(date(year, 1, 1)))
    moved = 0
    calendar = WorkingCalendar()
    for ticket_id in queryset.filter(touched).values_list("pk", flat=True):
        ticket = lock_ticket(ticket_id)
        deadline = deadline_of(ticket, calendar)
        if (deadline.due_at, deadline.estimated) == (ticket.due_at, ticket.due_estimated):
            continue
        before = snapshot(ticket, ["due_at", "due_estimated"])
        ticket.due_at, ticket.due_estimated = deadline.due_at, deadline.estimated
        ticket.save(update_fields=["due_at", "due_estimated", "updated_at"])
        ticket_event_record(
            ticket=ticket,
            action="due_recompute",
            actor=actor,
            before=before,
            after=snapshot(ticket, ["due_at", "due_estimated"]),
            note="calendar changed",
            at=now,
        )
        moved += 1
    return moved
