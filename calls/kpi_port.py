"""Call figures for the wallboard's "today" and the simulator's summary, plugged in by the
reports app (``reports/apps.py``).

The KPIs are defined once, in ``reports.kpi``; reports depends on calls, so the wallboard (here,
below it) asks through this port instead of importing reports. Until reports registers, there
are no figures (an empty dict).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Figures:
    # (date_from, date_to) → ({service queue id: the figures of ``reports.kpi.call_kpis_from``},
    # the same figures for all calls together — a call still waiting has no service queue yet),
    # from the calls themselves (live, not the rollups), in one query.
    by_queue_and_total: Callable[[date, date], tuple[dict[int, dict[str, Any]], dict[str, Any]]]


_figures: list[Figures] = []


def register(figures: Figures) -> None:
    _figures[:] = [figures]


def by_queue_and_total(date_from: date, date_to: date) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    return _figures[0].by_queue_and_total(date_from, date_to) if _figures else ({}, {})
