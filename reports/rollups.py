"""The rollups: sums per 30-minute interval (``reports.models``), kept up to date as calls change
and rebuildable for any range (``python manage.py reports_rebuild --from --to``).

**Calls** (``CallInterval``, per interval × service queue × agent): an interval is recomputed
whole from its calls, with the definitions of ``reports.kpi.call_sums`` — the same aggregate the
raw figures use, so a rollup can only ever equal the raw computation. After a call changes,
calls sends ``calls.signals.calls_changed`` on commit with the times the call was and is
counted under (a late event can move a call's first queue time to another interval); the
receiver marks those intervals dirty (``mark_dirty``: ``INSERT … ON CONFLICT DO NOTHING``; in full
mode a process collects its marks for ``REPORTS_MARK_FLUSH_S`` and writes them in one statement,
``PendingMarks``), and
the mark that finds the interval clean schedules ``reports.refresh`` a few seconds later — one
task per interval that became dirty, however many events arrive meanwhile (coalesced; eager in
the embedded default). The refresh claims marks (``FOR UPDATE SKIP LOCKED``: two workers take
different intervals) and recomputes them in the claim's transaction, so a failed refresh leaves
its marks. A mark is written after the event's commit, so the refresh that clears it sees the
event; a mark lost with a killed process is repaired by the periodic sweep (``sweep_recent``).

**Agent states** (``AgentStateInterval``) and **the IVR** (``IvrInterval``, ``IvrNodeInterval``)
change with time rather than with events (an agent stays ready; an IVR call ends later): each
refresh recomputes from their watermark (``RollupMark``) to now; intervals before it are final.

A day's row (``CallDay``) is recomputed from its intervals with them. Concurrent recomputes of one
day's rows serialize on a PostgreSQL advisory lock per day.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Max, Q, Sum, Value, When
from django.db.models.functions import Trunc
from django.utils import timezone

from agents import selectors as agent_selectors
from calls.selectors import counted_calls
from core.dates import local_day_bounds
from ivr import selectors as ivr_selectors

from .kpi import CALL_MAXIMA, CALL_SUMS, NOT_READY_STATE, call_sums, unprefixed
from .models import AgentStateInterval, CallDay, CallInterval, DirtyInterval, IvrInterval, IvrNodeInterval, RollupMark

logger = logging.getLogger(__name__)

INTERVAL = timedelta(minutes=30)
_LOCK_SPACE = 70140  # the first key of the rollups' advisory locks
AGENT_MARK = "agent_states"
IVR_MARK = "ivr"
# An IVR call still running after this long is left as it is (its interval is final).
IVR_WINDOW = timedelta(hours=2)


# --- intervals ------------------------------------------------------------------------------------


def interval_of(moment: datetime) -> datetime:
    """The local 30-minute interval ``moment`` falls in (its start, aware)."""
    local = timezone.localtime(moment)
    return local.replace(minute=local.minute - local.minute % 30, second=0, microsecond=0)


def intervals(start: datetime, end: datetime) -> Iterator[datetime]:
    """The interval starts from the one holding ``start`` up to, not including, ``end``."""
    moment = interval_of(start)
    while moment < end:
        yield moment
        moment = timezone.localtime(moment + INTERVAL)


def _runs(starts: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted interval starts as ``[start, end)`` runs of adjacent intervals."""
    runs: list[tuple[datetime, datetime]] = []
    for start in sorted(set(starts)):
        if runs and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], start + INTERVAL)
        else:
            runs.append((start, start + INTERVAL))
    return runs


def _lock(days: Iterable[date]) -> None:
    """Hold the advisory locks of these local days to the end of the transaction (in order: no
    deadlock between two refreshes). Every recompute of a day's intervals or of the day's row
    holds its day's lock."""
    if connection.vendor != "postgresql":
        return  # SQLite has one writer at a time anyway
    keys = sorted({day.toordinal() for day in days})
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, k) FROM unnest(%s::int[]) AS k ORDER BY k", [_LOCK_SPACE, keys]
            )


# --- calls ----------------------------------------------------------------------------------------


def call_interval_rows(start: datetime, end: datetime) -> list[CallInterval]:
    """The rollup rows of the counted calls first queued in ``[start, end)``, from the calls."""
    tz = timezone.get_default_timezone()
    grouped = (
        counted_calls()
        .filter(queued_at__gte=start, queued_at__lt=end)
        .annotate(
            hour=Trunc("queued_at", "hour", tzinfo=tz),
            half=Case(When(queued_at__minute__gte=30, then=Value(1)), default=Value(0), output_field=IntegerField()),
        )
        .values("hour", "half", "service_queue_id", "agent_id")
        .order_by()
        .annotate(**call_sums())
    )
    rows = []
    for row in grouped:
        sums = unprefixed(row)
        rows.append(
            CallInterval(
                start=interval_of(row["hour"] + INTERVAL * row["half"]),
                queue_id=row["service_queue_id"] or 0,
                agent_id=row["agent_id"] or 0,
                **{key: int(sums[key] or 0) for key in CALL_SUMS + CALL_MAXIMA},
            )
        )
    return rows


def _replace_calls(start: datetime, end: datetime, touched: set[tuple[int, int]] | None = None) -> int:
    """Replace the interval rows of ``[start, end)``; ``touched`` collects the (queue, agent)
    pairs that had or have a row (their day rows change)."""
    rows = call_interval_rows(start, end)
    old = CallInterval.objects.filter(start__gte=start, start__lt=end)
    if touched is not None:
        touched.update(old.values_list("queue_id", "agent_id"))
        touched.update((row.queue_id, row.agent_id) for row in rows)
    old.delete()
    CallInterval.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _pairs(touched: set[tuple[int, int]]) -> Q:
    by_queue: dict[int, list[int]] = defaultdict(list)
    for queue_id, agent_id in touched:
        by_queue[queue_id].append(agent_id)
    condition = Q(pk__in=[])
    for queue_id, agents in by_queue.items():
        condition |= Q(queue_id=queue_id, agent_id__in=agents)
    return condition


def _replace_days(days: Iterable[date], touched: set[tuple[int, int]] | None = None) -> int:
    """Recompute the day rows of these local days from their intervals — only those of the
    (queue, agent) pairs ``touched`` when given (a refresh of one interval changes a few)."""
    rows = []
    only = _pairs(touched) if touched is not None else Q()
    for day in sorted(set(days)):
        start, end = local_day_bounds(day, day)
        sums = {key: Sum(key) for key in CALL_SUMS} | {key: Max(key) for key in CALL_MAXIMA}
        grouped = (
            CallInterval.objects.filter(only, start__gte=start, start__lt=end)
            .values("queue_id", "agent_id")
            .order_by()
            .annotate(**{f"s_{key}": expression for key, expression in sums.items()})
        )
        for row in grouped:
            rows.append(
                CallDay(
                    day=day,
                    queue_id=row["queue_id"],
                    agent_id=row["agent_id"],
                    **{key: int(row[f"s_{key}"] or 0) for key in CALL_SUMS + CALL_MAXIMA},
                )
            )
        CallDay.objects.filter(only, day=day).delete()
    CallDay.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def refresh_days(days: Iterable[date]) -> int:
    """Recompute the day rows of these local days from their interval rows."""
    days = set(days)
    with transaction.atomic():
        _lock(days)
        return _replace_days(days)


def refresh_call_intervals(starts: Iterable[datetime]) -> int:
    """Recompute the call rollup of these intervals and of their days (in the caller's
    transaction, or one here)."""
    starts = {interval_of(start) for start in starts}
    days = {timezone.localdate(start) for start in starts}
    with transaction.atomic():
        _lock(days)
        touched: set[tuple[int, int]] = set()
        done = sum(_replace_calls(start, end, touched) for start, end in _runs(starts))
        _replace_days(days, touched)
        return done


def mark_dirty(queued: Iterable[datetime]) -> list[datetime]:
    """Mark the intervals of these first-queue times out of date; the ones that were clean
    (newly marked) are returned, and a refresh is scheduled for them."""
    starts = sorted({interval_of(moment) for moment in queued})
    if not starts:
        return []
    now = timezone.now()
    table = DirtyInterval._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    values = ", ".join(["(%s, %s)"] * len(starts))
    params: list[Any] = []
    for start in starts:
        params += [adapt(start), adapt(now)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (start, marked_at) VALUES {values} ON CONFLICT (start) DO NOTHING RETURNING start",  # noqa: S608 - the model's table, values bound
            params,
        )
        marked = [_aware(row[0]) for row in cursor.fetchall()]
    if marked:
        from . import tasks  # tasks call this module

        transaction.on_commit(
            lambda: tasks.refresh.apply_async(countdown=settings.REPORTS_REFRESH_DELAY_S), robust=True
        )
    return marked


def _aware(value: datetime) -> datetime:
    """A datetime read by raw SQL (naive UTC on SQLite) as the local interval start."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return timezone.localtime(value)


class PendingMarks:
    """The intervals this process saw change, written together: the first change starts a timer,
    and ``REPORTS_MARK_FLUSH_S`` later one ``mark_dirty`` (one statement, in the timer's thread
    and connection) marks every interval collected meanwhile — instead of a statement after every
    event's commit. The marks are taken after the changes' commits, as before, so the refresh that
    clears a mark sees every change it was taken for; marks pending in a process that dies are
    repaired by the sweep (``sweep_recent``), like a mark lost after a commit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._starts: set[datetime] = set()
        self._timer: threading.Timer | None = None
        self._pid = os.getpid()

    def add(self, queued: Iterable[datetime], delay: float) -> None:
        starts = {interval_of(moment) for moment in queued}
        if not starts:
            return
        with self._lock:
            if self._pid != os.getpid():  # forked with the parent's state: not ours to write
                self._starts, self._timer, self._pid = set(), None, os.getpid()
            self._starts |= starts
            if self._timer is None:
                self._timer = threading.Timer(delay, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            starts, self._starts, self._timer = self._starts, set(), None
        if not starts:
            return
        try:
            mark_dirty(starts)
        except Exception:  # the calls are recorded; the periodic sweep repairs the lost marks
            logger.exception("reports: marking %d intervals dirty failed", len(starts))
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()  # the timer thread's own connection (back to the pool)


pending_marks = PendingMarks()
atexit.register(pending_marks.flush)


def on_calls_changed(sender: Any = None, *, queued: Iterable[datetime], **kwargs: Any) -> None:
    """``calls.signals.calls_changed`` receiver (connected in ``reports/apps.py``): the intervals
    marked now (``REPORTS_MARK_FLUSH_S`` = 0: the embedded default and the tests) or collected
    and marked together a moment later (``PendingMarks``)."""
    delay = settings.REPORTS_MARK_FLUSH_S
    if delay > 0:
        pending_marks.add(queued, delay)
        return
    try:
        mark_dirty(queued)
    except Exception:  # the call is recorded; the periodic sweep repairs a lost mark
        logger.exception("reports: marking intervals dirty failed")


def _claim(limit: int) -> list[datetime]:
    table = DirtyInterval._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            claim = (
                f"DELETE FROM {table} WHERE start IN (SELECT start FROM {table} ORDER BY start LIMIT %s "  # noqa: S608 - the model's table
                "FOR UPDATE SKIP LOCKED) RETURNING start"
            )
            cursor.execute(claim, [limit])
            return [_aware(row[0]) for row in cursor.fetchall()]
    starts = list(DirtyInterval.objects.order_by("start").values_list("start", flat=True)[:limit])
    DirtyInterval.objects.filter(start__in=starts).delete()
    return starts


def refresh_dirty(*, limit: int = 200) -> int:
    """Recompute every interval marked dirty, ``limit`` at a time; the number recomputed."""
    done = 0
    while True:
        with transaction.atomic():
            starts = _claim(limit)
            if not starts:
                return done
            refresh_call_intervals(starts)
        done += len(starts)


def sweep_recent(*, minutes: int = 15, now: datetime | None = None) -> int:
    """The safety net: mark the intervals of calls changed in the last ``minutes`` (a mark lost
    with a process killed after its commit). Calls moved out of an interval are not found here:
    their old interval is repaired by ``reports_rebuild``."""
    now = now or timezone.now()
    since = now - timedelta(minutes=minutes)
    times = counted_calls().filter(updated_at__gte=since, queued_at__isnull=False).values_list("queued_at", flat=True)
    return len(mark_dirty(moment for moment in times if moment is not None))


# --- agent states ---------------------------------------------------------------------------------


def agent_state_rows(start: datetime, end: datetime, *, now: datetime | None = None) -> list[AgentStateInterval]:
    """Milliseconds per interval × agent × state (× not-ready reason) in ``[start, end)``, from
    the state log; a state still in force counts up to ``now``. Offline time is not kept."""
    now = now or timezone.now()
    limit = min(end, now)
    totals: Counter[tuple[datetime, int, str, str]] = Counter()
    for agent_id, spans in agent_selectors.state_spans(start, end).items():
        for index, (begin, state, reason) in enumerate(spans):
            finish = spans[index + 1][0] if index + 1 < len(spans) else limit
            if state == "offline" or finish <= begin:
                continue
            reason = reason if state == NOT_READY_STATE else ""
            moment = begin
            while moment < finish:
                bucket = interval_of(moment)
                upto = min(finish, bucket + INTERVAL)
                totals[(bucket, agent_id, state, reason)] += int((upto - moment).total_seconds() * 1000)
                moment = upto
    return [
        AgentStateInterval(start=bucket, agent_id=agent_id, state=state, reason=reason, ms=ms)
        for (bucket, agent_id, state, reason), ms in totals.items()
        if ms > 0
    ]


def _replace_agent_states(start: datetime, end: datetime, *, now: datetime | None = None) -> int:
    rows = agent_state_rows(start, end, now=now)
    AgentStateInterval.objects.filter(start__gte=start, start__lt=end).delete()
    AgentStateInterval.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# --- the IVR --------------------------------------------------------------------------------------


def ivr_interval_rows(start: datetime, end: datetime) -> tuple[list[IvrInterval], list[IvrNodeInterval]]:
    """The IVR calls started in ``[start, end)`` per interval (counted as ``ivr.selectors.
    ivr_statistics`` counts them: contained = ended by a hang-up or a goodbye) and node usage."""
    calls: dict[datetime, Counter[str]] = defaultdict(Counter)
    nodes: dict[tuple[datetime, str], Counter[str]] = defaultdict(Counter)
    for started_at, path, node, ended, outcome, auth_failures, locked_out in ivr_selectors.ivr_calls_started(
        start, end
    ):
        bucket = interval_of(started_at)
        row = calls[bucket]
        row["calls"] += 1
        row["self_served"] += outcome in ("hangup", "goodbye")
        row["to_agent"] += outcome == "agent"
        row["in_progress"] += not outcome
        row["auth_failures"] += auth_failures or 0
        row["lockouts"] += bool(locked_out)
        for key in path or []:
            nodes[(bucket, str(key)[:40])]["visits"] += 1
        if ended and node:
            nodes[(bucket, node)]["exits"] += 1
    return (
        [IvrInterval(start=bucket, **values) for bucket, values in calls.items()],
        [IvrNodeInterval(start=bucket, node=node, **values) for (bucket, node), values in nodes.items()],
    )


def _replace_ivr(start: datetime, end: datetime) -> int:
    interval_rows, node_rows = ivr_interval_rows(start, end)
    IvrInterval.objects.filter(start__gte=start, start__lt=end).delete()
    IvrNodeInterval.objects.filter(start__gte=start, start__lt=end).delete()
    IvrInterval.objects.bulk_create(interval_rows, batch_size=2000)
    IvrNodeInterval.objects.bulk_create(node_rows, batch_size=2000)
    return len(interval_rows)


# --- refresh and rebuild --------------------------------------------------------------------------


def _advance(name: str, default: datetime, final_until: datetime) -> datetime:
    """Where a recompute of rollup ``name`` starts (its watermark, ``default`` the first time,
    never after ``final_until``), moving the watermark on to ``final_until``; the row's lock
    serializes two refreshes of the same rollup."""
    RollupMark.objects.get_or_create(name=name, defaults={"until": default})
    mark = RollupMark.objects.select_for_update().get(name=name)
    since = min(mark.until, final_until)
    if final_until > mark.until:
        mark.until = final_until
        mark.save(update_fields=["until"])
    return since


def refresh(*, now: datetime | None = None) -> dict[str, int]:
    """Bring every rollup up to date: the dirty call intervals, then the agent states and the IVR
    from their watermarks to now."""
    now = now or timezone.now()
    current = interval_of(now)
    done = {"call_intervals": refresh_dirty()}
    with transaction.atomic():
        since = _advance(AGENT_MARK, current - INTERVAL, current)
        done["agent_intervals"] = _replace_agent_states(since, current + INTERVAL, now=now)
    with transaction.atomic():
        ivr_final = interval_of(now - IVR_WINDOW)
        since = _advance(IVR_MARK, ivr_final, ivr_final)
        done["ivr_intervals"] = _replace_ivr(since, current + INTERVAL)
    return done


def rebuild(date_from: date, date_to: date, *, now: datetime | None = None) -> dict[str, int]:
    """Recompute every rollup of the local dates ``date_from``..``date_to`` from the record, a
    day per transaction."""
    now = now or timezone.now()
    done = {"days": 0, "call_intervals": 0, "agent_intervals": 0, "ivr_intervals": 0}
    day = date_from
    while day <= date_to:
        start, end = local_day_bounds(day, day)
        with transaction.atomic():
            _lock([day])
            done["call_intervals"] += _replace_calls(start, end)
            _replace_days([day])
            done["agent_intervals"] += _replace_agent_states(start, end, now=now)
            done["ivr_intervals"] += _replace_ivr(start, end)
        done["days"] += 1
        day += timedelta(days=1)
    return done
