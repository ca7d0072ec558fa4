"""An agent's own figures for today, for their desktop (issue 14 point 6): the calls they
answered, their handle time, occupancy and not-ready time — the definitions of ``reports.kpi``,
the same as the agent table (``selectors.agent_table``), computed for one agent and up to now:
the calls from the calls themselves (a handful, current to the last wrap-up) and the state times
from the state log with a state still in force counted up to now (``rollups.agent_state_rows``),
so the desk never waits for a rollup refresh."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from core.dates import local_day_bounds

from . import rollups
from . import selectors as rs
from .kpi import HANDLING_STATES, NOT_READY_STATE, READY_STATE, occupancy_from


def agent_today(user, *, now: datetime | None = None) -> dict[str, Any]:
    """``{"answered", "handled", "aht_s", "handle_s", "ready_s", "handling_s", "not_ready_s",
    "occupancy"}`` of ``user`` today (local day); a ratio with a zero denominator is ``None``."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    calls = rs.call_figures_raw(today, today, agent=user.get_username())
    start, _end = local_day_bounds(today, today)
    ms = {"ready": 0, "handling": 0, "not_ready": 0}
    for row in rollups.agent_state_rows(start, now, now=now):
        if row.agent_id != user.pk:
            continue
        if row.state == READY_STATE:
            ms["ready"] += row.ms
        elif row.state in HANDLING_STATES:
            ms["handling"] += row.ms
        elif row.state == NOT_READY_STATE:
            ms["not_ready"] += row.ms
    return {
        "answered": calls["answered"],
        "handled": calls["handled"],
        "aht_s": calls["aht_s"],
        "handle_s": calls["handle_s"],
        "ready_s": round(ms["ready"] / 1000, 1),
        "handling_s": round(ms["handling"] / 1000, 1),
        "not_ready_s": round(ms["not_ready"] / 1000, 1),
        "occupancy": occupancy_from(ms["handling"], ms["ready"]),
    }
