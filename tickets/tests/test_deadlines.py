"""Due times (DESIGN.md §4) on the PRC calendar: Spring Festival, National Day, year end, make-up
working days, years without data, extensions and pauses."""

from datetime import date

import pytest

from tickets.calendar import WorkingCalendar, package_years
from tickets.deadlines import due_for, extension_cap, paused_days_for
from tickets.models import CalendarDay, CalendarYear, Category

from .conftest import local

pytestmark = pytest.mark.django_db

MISPOST, REFUND, POS, OTHER = Category.ATM_MISPOST, Category.REFUND_POSTING, Category.POS_PRIZE, Category.FEES


def due(category, received):
    return due_for(category=category, received_at=received)


@pytest.mark.parametrize(
    ("category", "received", "expected", "estimated"),
    [
        # DESIGN.md worked example: 10-01..10-07 holiday, Saturday 10-10 a make-up working day.
        (MISPOST, local(2026, 9, 30, 10, 0), local(2026, 10, 13, 23, 59, 59), False),
        (REFUND, local(2026, 9, 30, 23, 30), local(2026, 10, 13, 23, 59, 59), False),
        # Spring Festival 2026: Sat 02-14 a make-up day, 02-15..02-23 holiday.
        (MISPOST, local(2026, 2, 12, 9, 0), local(2026, 2, 26, 23, 59, 59), False),
        # 15 calendar days: 02-27 is a Friday and a working day.
        (OTHER, local(2026, 2, 12, 9, 0), local(2026, 2, 27, 23, 59, 59), False),
        # 15 calendar days ending inside the holiday move to the next working day.
        (OTHER, local(2026, 2, 5, 9, 0), local(2026, 2, 24, 23, 59, 59), False),
        (OTHER, local(2026, 9, 30, 10, 0), local(2026, 10, 15, 23, 59, 59), False),
        # Received on a make-up Sunday (09-20); day 15 is 10-05, in the holiday → 10-08.
        (Category.SERVICE_ATTITUDE, local(2026, 9, 20, 10, 0), local(2026, 10, 8, 23, 59, 59), False),
        # Year end: 2027 has no data in the calendar → Monday–Friday, flagged.
        (MISPOST, local(2026, 12, 28, 10, 0), local(2027, 1, 4, 23, 59, 59), True),
        (OTHER, local(2026, 12, 28, 10, 0), local(2027, 1, 12, 23, 59, 59), True),
        (MISPOST, local(2026, 12, 23, 10, 0), local(2026, 12, 30, 23, 59, 59), False),
        (MISPOST, local(2026, 12, 24, 10, 0), local(2026, 12, 31, 23, 59, 59), False),
        (OTHER, local(2026, 12, 10, 10, 0), local(2026, 12, 25, 23, 59, 59), False),
        # Spring Festival 2025 (make-up Sat 02-08) and National Day 2025 (make-up Sat 10-11).
        (MISPOST, local(2025, 1, 27, 10, 0), local(2025, 2, 10, 23, 59, 59), False),
        (MISPOST, local(2025, 9, 30, 10, 0), local(2025, 10, 14, 23, 59, 59), False),
        # Year end 2025 → New Year 2026 holiday, Sunday 2026-01-04 a make-up working day.
        (MISPOST, local(2025, 12, 29, 10, 0), local(2026, 1, 6, 23, 59, 59), False),
        # POS prize: the month's last working day (the settlement batch), strictly after receipt.
        (POS, local(2026, 9, 15, 10, 0), local(2026, 9, 30, 23, 59, 59), False),
        (POS, local(2026, 9, 30, 10, 0), local(2026, 10, 30, 23, 59, 59), False),
        # February 2026 ends on a make-up Saturday: that is the batch day.
        (POS, local(2026, 2, 27, 10, 0), local(2026, 2, 28, 23, 59, 59), False),
        (POS, local(2026, 12, 31, 10, 0), local(2027, 1, 29, 23, 59, 59), True),
    ],
)
def test_due_time(category, received, expected, estimated):
    deadline = due(category, received)
    assert deadline.due_at == expected
    assert deadline.estimated is estimated


def test_counting_monday_to_friday_or_ignoring_make_up_days_would_be_wrong():
    """The worked example's two wrong answers are not what we compute."""
    deadline = due(MISPOST, local(2026, 9, 30, 10, 0))
    assert deadline.due_date not in (date(2026, 10, 7), date(2026, 10, 14))


def test_receipt_day_is_the_local_day_not_the_utc_day():
    from datetime import UTC, datetime

    # 2026-02-12 16:30 UTC is 2026-02-13 00:30 in Shanghai: the receipt day is Friday the 13th.
    deadline = due(MISPOST, datetime(2026, 2, 12, 16, 30, tzinfo=UTC))
    assert deadline.due_at == local(2026, 2, 27, 23, 59, 59)


def test_due_time_is_end_of_day_in_shanghai():
    deadline = due(MISPOST, local(2026, 3, 2, 10, 0))
    assert deadline.due_at.isoformat() == "2026-03-09T23:59:59+08:00"


def test_a_maintainer_completed_year_is_used_and_not_flagged(staff):
    from tickets.services.calendar import calendar_day_set, calendar_year_set_complete

    maintainer = staff["maintainer"]
    for day in (date(2027, 1, 1),):
        calendar_day_set(actor=maintainer, day=day, is_working_day=False, name="元旦")
    calendar_year_set_complete(actor=maintainer, year=2027, complete=True)
    deadline = due(MISPOST, local(2026, 12, 28, 10, 0))
    # 12-29, 12-30, 12-31, (01-01 holiday), 01-04, 01-05
    assert deadline.due_at == local(2027, 1, 5, 23, 59, 59)
    assert not deadline.estimated


def test_an_incomplete_year_is_still_counted_monday_to_friday(staff):
    from tickets.services.calendar import calendar_day_set

    calendar_day_set(actor=staff["maintainer"], day=date(2027, 1, 1), is_working_day=False, name="元旦")
    deadline = due(MISPOST, local(2026, 12, 28, 10, 0))
    assert deadline.due_at == local(2027, 1, 4, 23, 59, 59) and deadline.estimated


def test_the_migration_seeded_every_year_the_package_knows():
    years = package_years()
    assert years[0] <= 2008 and 2026 in years
    assert set(CalendarYear.objects.filter(complete=True).values_list("year", flat=True)) >= set(years)
    assert CalendarDay.objects.get(date=date(2026, 10, 10)).is_working_day
    assert not CalendarDay.objects.get(date=date(2026, 10, 1)).is_working_day


def test_calendar_counts():
    calendar = WorkingCalendar()
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 13)) == 5
    assert calendar.last_working_day_of_month(2026, 10) == date(2026, 10, 30)
    assert calendar.on_or_after(date(2026, 10, 3)) == date(2026, 10, 8)


@pytest.mark.parametrize(
    ("extensions", "expected"),
    [
        # 15 days → 2026-09-16; +15 → 10-01 (holiday) → 10-08; then +30 → 11-07 (Sat) → 11-09.
        ([15], local(2026, 10, 8, 23, 59, 59)),
        ([15, 30], local(2026, 11, 9, 23, 59, 59)),
    ],
)
def test_extensions_add_calendar_days_and_move_to_a_working_day(extensions, expected):
    deadline = due_for(category=OTHER, received_at=local(2026, 9, 1, 10, 0), extension_days=extensions)
    assert deadline.due_at == expected


def test_extension_caps_are_30_days_after_receipt_then_30_more():
    calendar = WorkingCalendar()
    received = local(2026, 9, 1, 10, 0)
    # 09-01 + 30 = 10-01, a holiday → 10-08; 30 more = 11-07 (Saturday) → 11-09.
    assert extension_cap(received_at=received, stage=1, paused_days=0, calendar=calendar) == date(2026, 10, 8)
    assert extension_cap(received_at=received, stage=2, paused_days=0, calendar=calendar) == date(2026, 11, 9)


def test_paused_days_move_the_due_time():
    started, ended = local(2026, 10, 9, 10, 0), local(2026, 10, 11, 9, 0)
    assert paused_days_for(started, ended) == 2
    assert paused_days_for(started, local(2026, 10, 9, 10, 5)) == 1
    deadline = due_for(category=MISPOST, received_at=local(2026, 9, 30, 10, 0), paused_days=2)
    assert deadline.due_at == local(2026, 10, 15, 23, 59, 59)
