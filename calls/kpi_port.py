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
    # (date_from, date_to) → {service queue id: the figures of ``reports.kpi.call_kpis_from``},
    # from the calls themselves (live, not the rollups).
    by_queue: Callable[[date, date], dict[int, dict[str, Any]]]
    # (date_from, date_to) → the same figures for all queues together.
    total: Callable[[date, date], dict[str, Any]]


_figures: list[Figures] = []


def register(figures: Figures) -> None:
    _figures[:] = [figures]


def by_queue(date_from: date, date_to: date) -> dict[int, dict[str, Any]]:
    return _figures[0].by_queue(date_from, date_to) if _figures else {}


def total(date_from: date, date_to: date) -> dict[str, Any]:
    return _figures[0].total(date_from, date_to) if _figures else {}
