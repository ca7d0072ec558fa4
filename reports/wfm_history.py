"""The call history workforce management reads (``agents.scheduling.history_port``), from the
30-minute rollups: agents may not import reports, so reports plugs this in at start-up."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Sum

from agents.scheduling.history_port import HistorySide, IntervalFigures

from .models import CallInterval


def intervals(start: datetime, end: datetime) -> list[IntervalFigures]:
    rows = (
        CallInterval.objects.filter(start__gte=start, start__lt=end)
        .values("start")
        .order_by("start")
        .annotate(
            s_offered=Sum("offered"),
            s_handled=Sum("handled"),
            s_talk=Sum("talk_ms"),
            s_hold=Sum("hold_ms"),
            s_acw=Sum("acw_ms"),
            s_answered=Sum("answered"),
            s_wait=Sum("wait_ms"),
            s_abandoned=Sum("abandoned"),
            s_abandoned_wait=Sum("abandoned_wait_ms"),
        )
    )
    return [
        IntervalFigures(
            start=row["start"],
            offered=row["s_offered"] or 0,
            handled=row["s_handled"] or 0,
            handle_ms=(row["s_talk"] or 0) + (row["s_hold"] or 0) + (row["s_acw"] or 0),
            answered=row["s_answered"] or 0,
            answered_wait_ms=row["s_wait"] or 0,
            abandoned=row["s_abandoned"] or 0,
            abandoned_wait_ms=row["s_abandoned_wait"] or 0,
        )
        for row in rows
    ]


SIDE = HistorySide(intervals=intervals)
