"""Work-order due times (DESIGN.md §4), counted from the complaint's receipt, the receipt day not
counted, in Asia/Shanghai, ending at 23:59:59 local time of the due day:

- ``atm_mispost``, ``refund_posting``: the 5th working day after the receipt day
  (``TICKETS_POSTING_DUE_WORKING_DAYS``);
- ``pos_prize``: the next monthly settlement batch. The batch runs on the month's last working day;
  the due day is the first such day strictly after the receipt day (a complaint received on the
  batch day itself goes to the next month's batch);
- everything else: the 15th calendar day after the receipt day (``TICKETS_COMPLAINT_DUE_DAYS``;
  2020 banking and insurance consumer-complaint rules), moved to the next working day when it is a
  rest day or holiday (Civil Code art. 203).

Then, in order: every approved extension adds its days to the due day (moved to the next working
day again), and the days spent paused for an outside appraisal are added the same way.

Worked example: a mis-posting received 2026-09-30 is due 2026-10-13 23:59:59 (10-01..10-07 holiday,
Saturday 10-10 a make-up working day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from .calendar import WorkingCalendar
from .models import Category

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
WORKING_DAY_CATEGORIES = frozenset({Category.ATM_MISPOST, Category.REFUND_POSTING})


@dataclass(frozen=True)
class Deadline:
    due_at: datetime
    estimated_years: tuple[int, ...] = ()

    @property
    def estimated(self) -> bool:
        return bool(self.estimated_years)

    @property
    def due_date(self) -> date:
        return local_date(self.due_at)


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment, SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI)


def base_due_date(category: str, received: date, calendar: WorkingCalendar) -> date:
    if category in WORKING_DAY_CATEGORIES:
        return calendar.add_working_days(received, settings.TICKETS_POSTING_DUE_WORKING_DAYS)
    if category == Category.POS_PRIZE:
        batch = calendar.last_working_day_of_month(received.year, received.month)
        if batch <= received:
            following = (received.replace(day=1) + timedelta(days=32)).replace(day=1)
            batch = calendar.last_working_day_of_month(following.year, following.month)
        return batch
    return calendar.on_or_after(received + timedelta(days=settings.TICKETS_COMPLAINT_DUE_DAYS))


def due_for(
    *,
    category: str,
    received_at: datetime,
    extension_days: Iterable[int] = (),
    paused_days: int = 0,
    calendar: WorkingCalendar | None = None,
) -> Deadline:
    """The due time of a work order of ``category`` received at ``received_at``."""
    calendar = calendar or WorkingCalendar()
    calendar.reset_estimate()
    day = base_due_date(category, local_date(received_at), calendar)
    for days in extension_days:
        day = calendar.on_or_after(day + timedelta(days=int(days)))
    if paused_days:
        day = calendar.on_or_after(day + timedelta(days=int(paused_days)))
    return Deadline(due_at=end_of_day(day), estimated_years=tuple(sorted(calendar.estimated_years)))


def extension_cap(*, received_at: datetime, stage: int, paused_days: int, calendar: WorkingCalendar) -> date:
    """The latest due day an extension of ``stage`` may reach: stage 1 extends to 30 days after
    receipt, stage 2 (head-office approval) by 30 more days after that; paused days added; each
    limit moved to the next working day like any period's end."""
    step = timedelta(days=settings.TICKETS_EXTENSION_STAGE_DAYS)
    cap = calendar.on_or_after(local_date(received_at) + step + timedelta(days=paused_days))
    for _stage in range(1, stage):
        cap = calendar.on_or_after(cap + step)
    return cap


def paused_days_for(started_at: datetime, ended_at: datetime) -> int:
    """Whole days a pause lasted, a started day counting as a whole day (at least 1)."""
    seconds = max((ended_at - started_at).total_seconds(), 0)
    return max(1, -(-int(seconds) // 86400))
