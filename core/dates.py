"""Local dates (Asia/Shanghai, the default time zone) as the time ranges queries filter on."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def local_day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of the local dates ``date_from``..``date_to`` inclusive (aware)."""
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.combine(date_from, time.min), tz)
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), tz)
    return start, end
