"""The call history the forecast and the patience estimate read, plugged in by reports.

Agents sit below calls and reports in the dependency layers (``docs/architecture.md``): they may
not import them. Reports own the 30-minute rollups of the calls (``reports.models.CallInterval``),
so reports registers a reader here at start-up (``reports/apps.py`` → ``reports.wfm_history``),
as calls plugs in ``agents.call_port``. Tests register their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class IntervalFigures:
    start: datetime  # aware, the start of a 30-minute interval
    offered: int
    handled: int
    handle_ms: int  # talk + hold + after-call work of the handled calls
    answered: int
    answered_wait_ms: int
    abandoned: int
    abandoned_wait_ms: int


@dataclass(frozen=True)
class HistorySide:
    # ``intervals(start, end)``: the figures of every interval starting in [start, end), all
    # queues together, ordered by start; intervals without calls may be missing.
    intervals: Callable[[datetime, datetime], list[IntervalFigures]]


_side: list[HistorySide] = []


def register(side: HistorySide) -> None:
    _side[:] = [side]


def history_side() -> HistorySide:
    if not _side:
        raise RuntimeError("The call history is not registered (reports/apps.py registers it at start-up).")
    return _side[0]
