"""Demo and default data of calls and agents, called by ``seed_demo`` (deterministic).

- ``ensure_default_queues()``: the queues of DESIGN.md §6 (also created by a migration);
- ``seed_queues()``: those queues plus the skills of agent01…agent15 (and the team leads), every
  agent offline;
- ``seed_call_history(history_days)``: a CDR history shaped like the founding figures — 28,121
  calls in the first three months, 309 a day, 26,443 (94 %) of them inbound — built the way live
  calls are: each call's events are folded into its record (``calls.cdr.fold``), then both are
  stored in bulk. Each call goes to an agent the roster puts on duty (``agents.demo.on_duty``),
  and ``seed_agent_history`` then writes the agents' state log around the calls they took.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents.demo import CallSpan, on_duty, seed_state_history
from calls.models import Call, CallEvent, Queue
from ivr.demo import HistoryCall, history_path, seed_ivr_history

_T = TypeVar("_T")

# code, name, English name, position, overflow to, overflow after (s), callback offer after (s)
DEFAULT_QUEUES = [
    ("general", "综合业务", "General service", 10, None, None, 90),
    ("card", "银行卡业务", "Cards", 20, "general", 45, 120),
    ("complaint", "投诉与建议", "Complaints and suggestions", 30, "general", 60, 120),
]

# Skills of the demo agents: three groups of five, everyone on the general queue.
AGENT_SKILLS = {
    **{f"agent{n:02d}": {"general": 4, "card": 3} for n in range(1, 6)},
    **{f"agent{n:02d}": {"general": 3, "complaint": 4} for n in range(6, 11)},
    **{f"agent{n:02d}": {"general": 3, "card": 4, "complaint": 2} for n in range(11, 16)},
    "lead1": {"general": 5, "card": 5, "complaint": 5},
    "lead2": {"general": 5, "card": 5, "complaint": 5},
}

CALLS_PER_DAY = 309
INBOUND_SHARE = 26_443 / 28_121  # 94.0 %
AGENT_SHARE = 0.45  # of inbound calls, the callers who ask for an agent (IVR containment ≈ 55 %)
QUEUE_SHARES = (("general", 0.65), ("card", 0.25), ("complaint", 0.10))
# Calls per hour of the day (24x7 center with day peaks), relative.
HOURLY = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 5, 7, 7.5, 6.5, 5, 5.5, 6.5, 6.8, 6, 5, 4, 3.5, 3, 2.5, 2, 1.5]
WEEKDAY = [1.12, 1.05, 1.0, 1.0, 1.03, 0.92, 0.88]  # Monday … Sunday
DISPOSITIONS = (
    ("resolved", 0.52),
    ("consultation", 0.22),
    ("complaint", 0.07),
    ("suggestion", 0.02),
    ("loss_report", 0.05),
    ("callback", 0.04),
    ("wrong_number", 0.03),
    ("transferred", 0.02),
    ("other", 0.03),
)
DNIS = "96123"  # the center's service number
SEED = 20080328  # the day the phone-banking system went live


def ensure_default_queues() -> dict[str, Queue]:
    """The default queues (existing ones are left as the maintainer edited them)."""
    for code, name, name_en, position, _overflow, _after, callback_after in DEFAULT_QUEUES:
        Queue.objects.get_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "position": position, "callback_offer_after_s": callback_after},
        )
    for code, *_rest, overflow, after, _callback in DEFAULT_QUEUES:
        if overflow:
            Queue.objects.filter(code=code, overflow_queue__isnull=True).update(
                overflow_queue=Queue.objects.get(code=overflow), overflow_after_s=after
            )
    return {queue.code: queue for queue in Queue.objects.all()}


@transaction.atomic
def seed_queues() -> dict[str, int]:
    """Queues, the demo agents' skills (agent01…agent15, lead1, lead2) and every agent offline.
    Safe to run again: skills are set to the demo levels, states reset to offline."""
    from agents.models import AgentSkill, AgentState, AgentStatus

    queues = ensure_default_queues()
    users = {user.username: user for user in get_user_model().objects.filter(username__in=AGENT_SKILLS)}
    skills = 0
    now = timezone.now()
    for username, levels in AGENT_SKILLS.items():
        user = users.get(username)
        if user is None:
            continue
        for code, level in levels.items():
            AgentSkill.objects.update_or_create(agent=user, queue=queues[code], defaults={"level": level})
            skills += 1
        AgentStatus.objects.update_or_create(
            user=user,
            defaults={
                "state": AgentState.OFFLINE,
                "reason": "",
                "since": now,
                "ready_since": None,
                "call": None,
                "acw_call": None,
                "shift_started_at": None,
            },
        )
    return {"queues": len(queues), "agents": len(users), "skills": skills}


# --- history ------------------------------------------------------------------------------------


class _Event:
    """What ``cdr.fold`` reads, before the row exists."""

    __slots__ = ("event_id", "type", "ts", "queue", "agent_id", "data")

    def __init__(self, event_id, type_, ts, queue="", agent_id=None, data=None):
        self.event_id, self.type, self.ts = event_id, type_, ts
        self.queue, self.agent_id, self.data = queue, agent_id, data or {}


def _pick(rng: random.Random, shares: Sequence[tuple[_T, float]]) -> _T:
    point, total = rng.random(), 0.0
    for value, share in shares:
        total += share
        if point < total:
            return value
    return shares[-1][0]


def _lognormal(rng: random.Random, mean: float, sigma: float = 0.6) -> float:
    mu = math.log(mean) - sigma**2 / 2
    return rng.lognormvariate(mu, sigma)


def _day_calls(day: date, rng: random.Random) -> int:
    return max(int(rng.gauss(CALLS_PER_DAY * WEEKDAY[day.weekday()], 18)), 0)


class _Desk:
    """Who takes a history call: an agent the roster puts on duty (``agents.demo.on_duty``),
    skilled for the queue and free if one is, so the agents' state log fits around the calls."""

    def __init__(self, agent_ids: list[int], agents_by_queue: dict[str, list[int]]):
        self.agent_ids = agent_ids
        self.skilled = {code: set(ids) for code, ids in agents_by_queue.items()}
        self.busy_until: dict[int, datetime] = {}

    def pick(self, rng: random.Random, moment: datetime, queue: str | None = None) -> int:
        duty = on_duty(moment, self.agent_ids) or self.agent_ids
        skilled = [a for a in duty if queue is None or a in self.skilled.get(queue, ())] or duty
        free = [a for a in skilled if a not in self.busy_until or self.busy_until[a] <= moment]
        free = free or [a for a in duty if a not in self.busy_until or self.busy_until[a] <= moment]
        if not free:  # everyone on duty is on a call: the one free soonest
            return min(duty, key=lambda a: (self.busy_until[a], a))
        return rng.choice(free)

    def hold(self, agent: int, until: datetime) -> None:
        self.busy_until[agent] = max(until, self.busy_until.get(agent, until))


def _call_events(
    call_id: str,
    start: datetime,
    rng: random.Random,
    desk: _Desk,
    customers: list[tuple[int, str]],
    ivr_calls: list[HistoryCall],
) -> list[_Event]:
    """The CTI events of one history call; an inbound call's IVR side goes to ``ivr_calls``."""
    n = iter(range(1, 100))

    def ev(type_, ts, **kwargs):
        return _Event(f"hist-{call_id}-{next(n)}", type_, ts, **kwargs)

    if rng.random() > INBOUND_SHARE:  # an agent calling a customer back
        agent = desk.pick(rng, start)
        phone = rng.choice(customers)[1] if customers else f"139{rng.randrange(10**8):08d}"
        answered = start + timedelta(seconds=rng.uniform(5, 25))
        ended = answered + timedelta(seconds=_lognormal(rng, 120))
        if rng.random() < 0.25:  # not reached
            return [ev("offered", start, data={"ani": phone, "direction": "outbound"}), ev("ended", answered)]
        wrapup = ended + timedelta(seconds=_lognormal(rng, 25))
        desk.hold(agent, wrapup)
        return [
            ev("offered", start, data={"ani": phone, "direction": "outbound"}),
            ev("answered", answered, agent_id=agent),
            ev("ended", ended),
            ev("wrapup", wrapup, data={"disposition": "callback", "note": ""}),
        ]

    customer = rng.choice(customers) if customers and rng.random() < 0.3 else None
    ani = customer[1] if customer else f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    ivr_s = _lognormal(rng, 55)
    events = [ev("offered", start, data={"ani": ani, "dnis": DNIS, "direction": "inbound"})]
    if rng.random() > AGENT_SHARE:
        path: Sequence[str] = history_path(rng, to_agent=False, verified=False)
        if "account_menu" in path and customer is None and customers:
            customer = rng.choice(customers)  # who logs in is a customer, whatever phone they use
        verified = "account_menu" in path and customer is not None
        ivr_calls.append(_ivr_call(call_id, ani, start, ivr_s, path, "", customer if verified else None, rng, verified))
        return [*events, ev("ended", start + timedelta(seconds=ivr_s))]
    queue = _pick(rng, QUEUE_SHARES)
    queued = start + timedelta(seconds=ivr_s)
    verified = customer is not None and rng.random() < 0.8
    path = list(history_path(rng, to_agent=True, verified=verified))
    ivr_calls.append(
        _ivr_call(call_id, ani, start, ivr_s, tuple(path), queue, customer if verified else None, rng, verified)
    )
    events.append(
        ev(
            "queued",
            queued,
            queue=queue,
            data={
                "verified": verified,
                "path": path,
                "customer_id": customer[0] if verified else None,  # type: ignore[index]  # verified: a customer
            },
        )
    )
    busy = 1.0 + (start.hour in (9, 10, 14, 15)) * 1.5
    wait = rng.expovariate(1 / (9 * busy))
    patience = rng.expovariate(1 / 75)
    if patience < wait:
        return [*events, ev("ended", queued + timedelta(seconds=patience))]
    answered = queued + timedelta(seconds=wait)
    ringing = max(queued, answered - timedelta(seconds=rng.uniform(2, 7)))
    agent = desk.pick(rng, ringing, queue)
    events += [ev("ringing", ringing, agent_id=agent), ev("answered", answered, agent_id=agent)]
    talk = _lognormal(rng, 170 if queue != "complaint" else 260)
    hold = 0.0
    if rng.random() < 0.2:
        hold = min(rng.uniform(10, 60), talk * 0.3)
        hold_at = answered + timedelta(seconds=talk * rng.uniform(0.1, 0.6))
        events += [ev("held", hold_at), ev("retrieved", hold_at + timedelta(seconds=hold))]
    ended = answered + timedelta(seconds=talk + hold)
    disposition = "complaint" if queue == "complaint" and rng.random() < 0.6 else _pick(rng, DISPOSITIONS)
    wrapup = ended + timedelta(seconds=_lognormal(rng, 30))
    desk.hold(agent, wrapup)
    events += [ev("ended", ended), ev("wrapup", wrapup, data={"disposition": disposition, "note": ""})]
    return events


def _ivr_call(call_id, ani, start, ivr_s, path, queue, customer, rng, verified) -> HistoryCall:
    # A login that got through sometimes took a second try; one abandoned at the login failed.
    failures = (1 if rng.random() < 0.08 else 0) if verified else (rng.choice((1, 2)) if "account" in path else 0)
    return HistoryCall(
        call_id=call_id,
        ani=ani,
        dnis=DNIS,
        started_at=start,
        ended_at=start + timedelta(seconds=ivr_s),
        path=tuple(path),
        to_agent=queue,
        verified=verified,
        customer_id=customer[0] if customer else None,
        auth_failures=failures,
    )


def seed_call_history(history_days: int) -> int:
    """Calls of the ``history_days`` days before today (none for 0), ≈309 a day, ≈94 % inbound;
    returns how many were created. Deterministic per day; a day already seeded is skipped."""
    from agents.models import AgentSkill

    from .cdr import fold

    if history_days <= 0:
        return 0
    ensure_default_queues()
    agent_ids = sorted(
        get_user_model().objects.filter(profile__role="agent", is_active=True).values_list("pk", flat=True)
    )
    if not agent_ids:
        return 0
    agents_by_queue: dict[str, list[int]] = {}
    for agent_id, code in AgentSkill.objects.filter(agent_id__in=agent_ids).values_list("agent_id", "queue__code"):
        agents_by_queue.setdefault(code, []).append(agent_id)
    # Demo seeding only reads customer ids and mobiles, to link some history to them.
    from django.apps import apps

    customers = list(apps.get_model("banking", "Customer").objects.order_by("pk").values_list("pk", "mobile")[:2000])
    tz = timezone.get_default_timezone()
    today = timezone.localdate()
    hour_weights = [w / sum(HOURLY) for w in HOURLY]
    created = 0
    desk = _Desk(agent_ids, agents_by_queue)
    for offset in range(history_days, 0, -1):
        day = today - timedelta(days=offset)
        prefix = f"H{day:%Y%m%d}-"
        if Call.objects.filter(call_id__startswith=prefix).exists():
            continue
        rng = random.Random(SEED * 1000 + day.toordinal())
        count = _day_calls(day, rng)
        starts = sorted(
            timezone.make_aware(datetime.combine(day, time.min), tz)
            + timedelta(hours=_pick(rng, list(enumerate(hour_weights))), seconds=rng.uniform(0, 3600))
            for _ in range(count)
        )
        all_events: list[CallEvent]
        ivr_calls: list[HistoryCall]
        calls, all_events, ivr_calls = [], [], []
        for number, start in enumerate(starts, start=1):
            call_id = f"{prefix}{number:04d}"
            events = _call_events(call_id, start, rng, desk, customers, ivr_calls)
            calls.append((call_id, events, fold(events)))
        with transaction.atomic():
            seed_ivr_history(ivr_calls)
            rows = Call.objects.bulk_create([_call_row(call_id, folded) for call_id, _e, folded in calls])
            for row, (_call_id, events, _folded) in zip(rows, calls, strict=True):
                all_events.extend(
                    CallEvent(
                        event_id=e.event_id,
                        call_id=row.pk,
                        type=e.type,
                        ts=e.ts,
                        source="cti",
                        queue=e.queue,
                        agent_id=e.agent_id,
                        data=e.data,
                        digest="history",
                    )
                    for e in events
                )
            CallEvent.objects.bulk_create(all_events, batch_size=2000)
        created += len(calls)
    window_end = timezone.make_aware(datetime.combine(today, time.min), tz)
    # Yesterday's outbound marketing dials, before the state log is written around the calls.
    from .outbound.demo import seed_outbound_marketing

    seed_outbound_marketing()
    with transaction.atomic():
        seed_agent_history(window_end - timedelta(days=history_days), window_end, agent_ids)
    return created


def seed_agent_history(start: datetime, end: datetime, agent_ids: list[int]) -> int:
    """The agents' state log around the history calls they took in ``[start, end)``
    (``agents.demo.seed_state_history``: the calls come in as spans); returns the rows created."""
    rows = (
        Call.objects.filter(
            Q(call_id__startswith="H") | Q(call_id__startswith="OB"),  # inbound history, outbound dials
            agent_id__isnull=False,
            answered_at__gte=start,
            answered_at__lt=end + timedelta(hours=2),  # a call queued before midnight, answered after
            ended_at__isnull=False,
        )
        .order_by("agent_id", "answered_at")
        .values_list(
            "agent_id", "call_id", "direction", "started_at", "offered_at", "answered_at", "ended_at", "wrapup_at"
        )
    )
    spans = []
    for agent_id, call_id, direction, started, offered, answered, ended, wrapup in rows:
        if answered is None or ended is None:  # filtered out above; for the type checker
            continue
        # Inbound: the ring; outbound: the agent dials from the call's start.
        ringing = (offered if direction != "outbound" else started) or answered
        spans.append(CallSpan(agent_id, call_id, ringing, answered, ended, wrapup))
    return seed_state_history(spans, start=start, end=end, agent_ids=agent_ids)


def _call_row(call_id: str, folded) -> Call:
    from .services.fields import call_fields

    fields = call_fields(folded)
    fields["direction"] = fields["direction"] or "inbound"
    return Call(call_id=call_id, **fields)


# Recordings of the history: each agent's last few answered calls (≈ 3 × 15 = 45 rows), a handful
# of rendered conversations reused (``calls.recordings.demo_audio``), through the real ingest
# (hash chain, per-file SHA-256, peaks, masked password span). Without espeak-ng and sox there
# are no clips and no recordings; the rest of the demo is the same.
RECORDINGS_PER_AGENT = 3
RECORDINGS_DAYS = 5


def seed_recordings(*, per_agent: int = RECORDINGS_PER_AGENT, days: int = RECORDINGS_DAYS) -> int:
    """Attach demo recordings to the latest answered history calls of each agent in the last
    ``days`` days; returns how many were created (0 when clips cannot be rendered)."""
    from django.core.files import File

    from .recordings import demo_audio
    from .recordings.services import recording_ingest

    clips = demo_audio.clips(encoding="alaw")  # G.711 A-law, as switches record (half the bytes)
    if not clips or per_agent <= 0 or days <= 0:
        return 0
    since = timezone.now() - timedelta(days=days)
    picked: list[tuple[str, datetime]] = []
    calls = (
        Call.objects.filter(
            call_id__startswith="H", agent_id__isnull=False, answered_at__gte=since, ended_at__isnull=False
        )
        .exclude(recordings__isnull=False)
        .order_by("agent_id", "-answered_at")
        .values_list("agent_id", "call_id", "answered_at")
    )
    taken: dict[int, int] = {}
    for agent_id, call_id, answered_at in calls:
        if answered_at is not None and taken.get(agent_id, 0) < per_agent:
            taken[agent_id] = taken.get(agent_id, 0) + 1
            picked.append((call_id, answered_at))
    created = 0
    for number, (call_id, answered_at) in enumerate(sorted(picked, key=lambda item: item[1])):
        # In turn, so every conversation (the masked password pause too) is among the recordings.
        clip = clips[number % len(clips)]
        with clip.path.open("rb") as handle:
            result = recording_ingest(
                call_id=call_id,
                started_at=answered_at,
                content=File(handle, name=clip.path.name),
                masked=clip.masked_segments,
            )
        created += result.created
    return created


def seed_outbound() -> dict[str, int]:
    """The outbound campaigns of the demo (``calls.outbound.demo``): after the customers and the
    work orders, whose closed ones feed the revisit campaign."""
    from .outbound.demo import seed_outbound as seed

    return seed()
