"""Demo history of the agents' states, called by ``seed_demo`` through ``calls.demo``
(deterministic, idempotent; agents never imports calls: the calls come in as plain spans).

- ``on_duty(moment, agent_ids)``: who the roster puts on the phones at a moment (the call history
  gives its calls to those agents);
- ``seed_state_history(spans, start=, end=, agent_ids=)``: the append-only state log of the
  rostered shifts around the calls the agents took — ``ready`` at the shift start; per call
  ``ringing`` → ``on_call`` (answer → end) → ``acw`` (end → wrap-up) → ``ready``; ``not_ready``
  breaks (meal, short breaks, training, meetings, paperwork, callbacks) in the gaps between
  calls; ``offline`` at the shift end. A shift is stretched when a call falls outside it.

The roster of the 24x7 center: per roster day (08:00 to 08:00 the next morning, local) three
agents on the day shift (08:00–20:00) and one on the night shift (20:00–08:00), in a rotation
that gives each agent a 12-hour shift about every fourth day and never a day shift straight
after a night. The history gives no call to an agent on a planned break while another is free.
The demo's volume (≈125 handled calls a day, ≈7 agent-hours of handling) keeps four agents a day
busy a quarter to a third of their time, as in a small center at night and off-peak: besides the
meal and short breaks, some quiet stretches go to paperwork and callbacks (not ready) until the
shift's occupancy is 22–32 %, never past a quarter of the shift not ready (breaks included): a
quiet shift stays quiet, a busy one keeps what its calls give.
Every agent ends offline (DESIGN.md §6 "Demo data").
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from django.utils import timezone

from .models import AgentState, AgentStateLog, Reason

SEED = 20080328
DAY_START, NIGHT_START = time(8), time(20)
DAY_AGENTS = 3  # on the day shift; one agent works the night
MARGIN = timedelta(seconds=30)  # between a break and a call
# Occupancy the shifts are filled to (handle ÷ (handle + ready)): the rest of a quiet shift goes
# to paperwork and callbacks, as in a small center where the agents also serve the work orders.
TARGET_OCCUPANCY = (0.22, 0.32)
NOT_READY_SHARE = 0.25


class CallSpan(NamedTuple):
    """One call an agent took: rang at ``ringing``, answered, ended, wrapped up (or None)."""

    agent_id: int
    call_id: str
    ringing: datetime
    answered: datetime
    ended: datetime
    wrapup: datetime | None


@dataclass
class _Shift:
    agent_id: int
    start: datetime
    end: datetime
    night: bool
    day: date
    calls: list[CallSpan] = field(default_factory=list)


# --- the roster -----------------------------------------------------------------------------------


def _local(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at), timezone.get_default_timezone())


def roster_day(moment: datetime) -> date:
    """The roster day a moment belongs to (its night shift runs to 08:00 the next morning)."""
    local = timezone.localtime(moment)
    return local.date() - timedelta(days=1) if local.time() < DAY_START else local.date()


def roster(day: date, agent_ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """The agents on the day shift and on the night shift of a roster day."""
    ids = sorted(agent_ids)
    if not ids:
        return [], []
    size = len(ids)
    per_day = min(DAY_AGENTS + 1, size)
    first = (per_day * day.toordinal()) % size
    team = [ids[(first + n) % size] for n in range(per_day)]
    return team[: max(per_day - 1, 1)], team[max(per_day - 1, 1) :]


def on_duty(moment: datetime, agent_ids: Sequence[int]) -> list[int]:
    """The agents the roster puts on the phones at ``moment``, those not on a planned break
    first (all of them when every one is on a break)."""
    day = roster_day(moment)
    days, nights = roster(day, agent_ids)
    local = timezone.localtime(moment).time()
    night = not (DAY_START <= local < NIGHT_START) and bool(nights)
    duty = nights if night else days
    return [agent for agent in duty if not on_break(moment, agent, day, night)] or duty


def _shifts(day: date, agent_ids: Sequence[int]) -> list[_Shift]:
    days, nights = roster(day, agent_ids)
    day_start, night_start = _local(day, DAY_START), _local(day, NIGHT_START)
    next_morning = _local(day + timedelta(days=1), DAY_START)
    return [_Shift(agent, day_start, night_start, False, day) for agent in days] + [
        _Shift(agent, night_start, next_morning, True, day) for agent in nights
    ]


# --- one shift's log ------------------------------------------------------------------------------


def _busy_blocks(calls: list[CallSpan]) -> list[list]:
    """The calls as non-overlapping ``[ring, answer, end, acw_end, call_id]`` blocks: calls that
    overlap (a second call answered during the first) share one ``on_call`` span."""
    blocks: list[list] = []
    for call in sorted(calls, key=lambda c: (c.answered, c.call_id)):
        ended = max(call.ended, call.answered)
        acw_end = max(call.wrapup or ended, ended)
        ring = min(call.ringing, call.answered)
        if blocks and call.answered <= blocks[-1][2]:  # answered while on the previous call
            blocks[-1][2] = max(blocks[-1][2], ended)
            blocks[-1][3] = max(blocks[-1][3], acw_end)
            continue
        if blocks:
            ring = max(ring, blocks[-1][2])
            blocks[-1][3] = min(blocks[-1][3], ring)  # the next ring cuts the after-call work
        blocks.append([ring, call.answered, ended, acw_end, call.call_id])
    return blocks


@lru_cache(maxsize=4096)
def planned_breaks(day: date, agent_id: int, night: bool) -> tuple[tuple[datetime, timedelta, str], ...]:
    """The breaks planned for an agent's shift of a roster day: ``(start, length, reason)``.
    The call history gives no call to an agent on a planned break when another is free."""
    rng = random.Random(SEED * 100_000 + day.toordinal() * 100 + agent_id % 100)
    start = _local(day, NIGHT_START if night else DAY_START)
    if night:
        plan = [
            (rng.uniform(1.5, 2.5), rng.uniform(10, 15), Reason.BREAK),
            (rng.uniform(4.5, 5.5), rng.uniform(40, 60), Reason.MEAL),
            (rng.uniform(8, 9), rng.uniform(10, 15), Reason.BREAK),
        ]
    else:
        plan = [
            (rng.uniform(1.5, 2.5), rng.uniform(10, 15), Reason.BREAK),
            (rng.uniform(3.5, 5.5), rng.uniform(40, 60), Reason.MEAL),
            (rng.uniform(7, 8), rng.uniform(10, 15), Reason.BREAK),
            (rng.uniform(9.5, 10.5), rng.uniform(10, 20), Reason.BREAK),
        ]
        if rng.random() < 0.35:
            reason = rng.choice((Reason.TRAINING, Reason.MEETING, Reason.COACHING))
            plan.append((rng.uniform(2.5, 8.5), rng.uniform(30, 60), reason))
    return tuple((start + timedelta(hours=h), timedelta(minutes=m), reason) for h, m, reason in plan)


def on_break(moment: datetime, agent_id: int, day: date, night: bool) -> bool:
    return any(at <= moment < at + length for at, length, _r in planned_breaks(day, agent_id, night))


def _gaps(start: datetime, end: datetime, blocks: list[list], taken: list[tuple]) -> list[tuple[datetime, datetime]]:
    """The ready stretches of a shift: between its calls and its breaks so far."""
    busy = sorted([(b[0], b[3]) for b in blocks] + [(s, s + length) for s, length, _r in taken])
    gaps, cursor = [], start
    for begin, finish in busy:
        if begin > cursor:
            gaps.append((cursor, begin))
        cursor = max(cursor, finish)
    if end > cursor:
        gaps.append((cursor, end))
    return gaps


def _place(gaps, wanted: datetime, length: timedelta) -> tuple[datetime, timedelta] | None:
    """A break of about ``length`` near ``wanted`` (within 90 minutes) in one of the ready gaps,
    shortened to fit (never under 5 minutes, or half its length for a long one)."""
    best = None
    shortest = max(timedelta(minutes=5), length / 2 if length > timedelta(minutes=30) else timedelta())
    for begin, finish in gaps:
        room = (finish - MARGIN) - (begin + MARGIN)
        if room < shortest:
            continue
        fit = min(length, room)
        at = min(max(wanted, begin + MARGIN), finish - MARGIN - fit)
        distance = abs((at - wanted).total_seconds())
        if distance > 90 * 60:
            continue
        score = (distance // 900, fit < length, distance)
        if best is None or score < best[0]:
            best = (score, at, fit)
    return (best[1], best[2]) if best else None


def _shift_rows(shift: _Shift, rng: random.Random) -> list[AgentStateLog]:
    blocks = _busy_blocks(shift.calls)
    start, end = shift.start, shift.end  # stretched over its calls already (``_day_shifts``)
    taken: list[tuple[datetime, timedelta, str]] = []
    # The shift's planned breaks that fall inside it: a shift cut short by now (today's) or by the
    # history's start keeps the breaks of the part it has; a call-in shift off the roster has none.
    planned = [
        (wanted, length, reason)
        for wanted, length, reason in planned_breaks(shift.day, shift.agent_id, shift.night)
        if start <= wanted and wanted + length <= end
    ]
    # Not ready at most a quarter of the shift, breaks included: a quiet shift stays quiet, and a
    # shift cut short keeps only the breaks that fit in its quarter.
    cap = (end - start) * NOT_READY_SHARE
    for wanted, length, reason in planned:
        placed = _place(_gaps(start, end, blocks, taken), wanted, length)
        if placed and sum((t[1] for t in taken), timedelta()) + placed[1] <= cap:
            taken.append((placed[0], placed[1], reason))
    # Fill the quiet stretches with paperwork and callbacks up to the shift's occupancy.
    handle = sum(((b[3] - b[0]) for b in blocks), timedelta())
    target = rng.uniform(*TARGET_OCCUPANCY)
    for _attempt in range(100):
        gaps = _gaps(start, end, blocks, taken)
        ready = sum(((g[1] - g[0]) for g in gaps), timedelta())
        allowed = handle * (1 - target) / target
        excess = min(ready - allowed, cap - sum((length for _at, length, _r in taken), timedelta()))
        if excess < timedelta(minutes=10):
            break
        begin, finish = max(gaps, key=lambda g: g[1] - g[0])
        room = finish - begin - 2 * MARGIN
        if room < timedelta(minutes=6):
            break
        # A few minutes ready after the call before it, and before going back to the phones.
        lead, tail = (min(timedelta(minutes=rng.uniform(0.5, 4)), room * 0.2) for _end in range(2))
        length = min(excess, room - lead - tail, timedelta(minutes=rng.uniform(45, 120)))
        at = begin + MARGIN + lead
        reason = rng.choice((Reason.PAPERWORK, Reason.CALLBACKS) if shift.night else _FILLER)
        taken.append((at, length, reason))

    changes: list[tuple[datetime, str, str, str]] = [(start, AgentState.READY, "", "")]
    for ring, answered, ended, acw_end, call_id in blocks:
        if ring < answered:
            changes.append((ring, AgentState.RINGING, "", call_id))
        changes.append((answered, AgentState.ON_CALL, "", call_id))
        if acw_end > ended:
            changes.append((ended, AgentState.ACW, "", call_id))
        changes.append((acw_end, AgentState.READY, "", ""))
    for at, length, reason in taken:
        changes += [(at, AgentState.NOT_READY, reason, ""), (at + length, AgentState.READY, "", "")]
    changes.sort(key=lambda change: change[0])
    changes.append((end, AgentState.OFFLINE, "", ""))
    rows: list[AgentStateLog] = []
    for at, state, reason, call_id in changes:
        if rows and rows[-1].started_at == at:  # the later change at that instant wins
            rows.pop()
        previous = rows[-1].state if rows else AgentState.OFFLINE
        if rows and previous == state and rows[-1].reason == reason:
            continue
        rows.append(
            AgentStateLog(
                agent_id=shift.agent_id,
                state=state,
                reason=reason,
                previous_state=previous,
                started_at=at,
                call_id=call_id,
            )
        )
    return rows


_FILLER = (Reason.PAPERWORK, Reason.CALLBACKS, Reason.PAPERWORK, Reason.TRAINING, Reason.MEETING)


# --- the history ----------------------------------------------------------------------------------


def seed_state_history(spans: Iterable[CallSpan], *, start: datetime, end: datetime, agent_ids: Sequence[int]) -> int:
    """The state log of every rostered shift that meets ``[start, end)`` (the call history's
    window), fitted around ``spans`` (the calls the agents took in it); returns the rows
    created. A roster day whose window already has a state log row (seeded before, or a real
    shift) is left alone; no row is written after ``end`` or after now."""
    limit = min(end, timezone.now())
    by_day: dict[date, list[CallSpan]] = defaultdict(list)
    for span in spans:
        by_day[roster_day(span.answered)].append(span)
    first, last = roster_day(start), roster_day(end - timedelta(microseconds=1))
    shifts: list[_Shift] = []
    day = first
    while day <= last:
        window = (max(_local(day, DAY_START), start), min(_local(day + timedelta(days=1), DAY_START), limit))
        day_spans = by_day.pop(day, [])
        if (
            window[0] < window[1]
            and not AgentStateLog.objects.filter(started_at__gte=window[0], started_at__lt=window[1]).exists()
        ):
            shifts += _day_shifts(day, day_spans, agent_ids, start=start, limit=limit)
        day += timedelta(days=1)
    # One agent's shifts that their calls stretched into each other (across roster days too)
    # become one.
    merged: list[_Shift] = []
    for shift in sorted(shifts, key=lambda s: (s.agent_id, s.start)):
        previous = merged[-1] if merged else None
        if previous and previous.agent_id == shift.agent_id and shift.start <= previous.end + timedelta(minutes=30):
            previous.end = max(previous.end, shift.end)
            previous.calls += shift.calls
        else:
            merged.append(shift)
    rows: list[AgentStateLog] = []
    for shift in merged:
        rng = random.Random(SEED * 100_000 + shift.day.toordinal() * 100 + shift.agent_id % 100 + int(shift.night))
        rows += _shift_rows(shift, rng)
    AgentStateLog.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _day_shifts(
    day: date, spans: list[CallSpan], agent_ids: Sequence[int], *, start: datetime, limit: datetime
) -> list[_Shift]:
    """The shifts of a roster day with the calls their agents took, stretched over calls
    outside them and cut to the history's window."""
    shifts = _shifts(day, agent_ids)
    for span in spans:
        own = [shift for shift in shifts if shift.agent_id == span.agent_id]
        if not own:  # called in for a few calls off the roster: a short shift of their own
            own = [_Shift(span.agent_id, span.ringing, span.wrapup or span.ended, False, day)]
            shifts.append(own[0])
        nearest = min(own, key=lambda s: max(s.start - span.answered, span.answered - s.end, timedelta()))
        nearest.calls.append(span)
    kept = []
    for shift in shifts:
        if not shift.calls:  # the history starts at ``start`` and stops now
            shift.start, shift.end = max(shift.start, start), min(shift.end, limit)
            if shift.end - shift.start >= timedelta(minutes=30):
                kept.append(shift)
            continue
        first_ring = min(min(c.ringing, c.answered) for c in shift.calls)
        last_done = max(max(c.wrapup or c.ended, c.ended) for c in shift.calls)
        shift.start = min(shift.start, first_ring - timedelta(minutes=5))
        settle = min(timedelta(minutes=2), max(timezone.now() - last_done, timedelta()))  # never after now
        shift.end = max(min(shift.end, limit), last_done + settle)
        kept.append(shift)
    return kept


# --- the published roster of the demo rotation ------------------------------------------------

ROSTER_BACK_DAYS = 28
ROSTER_AHEAD_DAYS = 14


def seed_published_roster(agent_ids: Sequence[int], *, today: date | None = None) -> int:
    """The demo rotation (``roster``) as a published roster from four weeks back to two weeks
    ahead — the shifts the seeded state history follows, so adherence has real figures and every
    agent sees their shifts this week and next. Idempotent (one demo roster); → assignments."""
    from .scheduling.models import Roster, RosterAssignment, RosterStatus

    today = today or timezone.localdate()
    first = today - timedelta(days=ROSTER_BACK_DAYS)
    days = ROSTER_BACK_DAYS + ROSTER_AHEAD_DAYS
    if not agent_ids or Roster.objects.filter(start=first, days=days, error="demo rotation").exists():
        return 0
    published = Roster.objects.create(
        start=first,
        days=days,
        status=RosterStatus.DONE,
        progress=100,
        shifts=[{"code": "D", "start": "08:00", "end": "20:00"}, {"code": "N", "start": "20:00", "end": "08:00"}],
        error="demo rotation",
        published_at=timezone.now(),
    )
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        on_days, on_nights = roster(day, agent_ids)
        rows += [RosterAssignment(roster=published, agent_id=a, date=day, shift_code="D") for a in on_days]
        rows += [RosterAssignment(roster=published, agent_id=a, date=day, shift_code="N") for a in on_nights]
    RosterAssignment.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def demo_agent_ids() -> list[int]:
    """The agents the demo history rotates (every active agent, by id)."""
    from django.contrib.auth import get_user_model

    return sorted(get_user_model().objects.filter(profile__role="agent", is_active=True).values_list("pk", flat=True))


def seed_shift_requests(*, today: date | None = None) -> int:
    """Two requests for the team leads' queue, through the services (rules checked, audited): a
    swap the colleague has agreed to and a leave request. Idempotent; → requests created."""
    from django.contrib.auth import get_user_model

    from core.errors import DomainError

    from .scheduling import selectors as wfm
    from .scheduling import services as wfm_services
    from .scheduling.models import ShiftRequest

    if ShiftRequest.objects.exists():
        return 0
    today = today or timezone.localdate()
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=demo_agent_ids())}
    made = 0
    for offset in range(3, 10):
        day = today + timedelta(days=offset)
        on_days, on_nights = roster(day, sorted(users))
        off = [pk for pk in sorted(users) if pk not in on_days + on_nights]
        if not on_days or not off or wfm.published_roster_on(day) is None:
            continue
        try:
            item = wfm_services.swap_request(
                requester=users[on_days[0]], colleague=users[off[-1]], day=day, note="孩子学校开家长会"
            )
        except DomainError:
            continue
        wfm_services.swap_answer(request_id=item.pk, actor=users[off[-1]], accept=True)
        made += 1
        break
    requester = users[sorted(users)[4]] if len(users) > 4 else None
    if requester is not None:
        first = today + timedelta(days=12)
        try:
            wfm_services.leave_request(
                requester=requester,
                kind="annual",
                date_from=first,
                date_to=first + timedelta(days=1),
                note="回老家探亲",
            )
            made += 1
        except DomainError:
            pass
    return made
