"""Traffic simulator: callers through the IVR API, queues, simulated agents and CTI events.

Everything goes through the public interfaces, in process (Django's test client, no server):
callers are the switch (``/api/ivr/calls/``, ``/api/cti/events/``, ``/api/calls/{id}/`` and the
callback offer), agents use the desktop's API (``/api/agents/me/state/``, ``/api/calls/{id}/
answer|hold|retrieve|hangup|wrapup/``) and sit at their desktops (``agents.presence``; with
``agents=N``, the last N agents with skills, so agent01 stays free for a human). Routing, offer
timeouts, overflow and callback offers are the real ones (the sweep runs every second of the
simulation), and every push goes out through the channel layer, so open wallboards and desktops
come alive (with Redis; in the embedded default the wallboard process notices the database
changes).

Time: a discrete-event loop in simulated seconds; ``speed`` compresses the waits between events
(speed 10: an hour in six minutes). Timestamps written are the real clock, so at speed > 1 the
recorded durations are compressed by the same factor; offer timeouts stay real seconds. After the
last arrival the calls in progress have ``DRAIN_S`` (15 simulated minutes) to finish; on a machine
too slow for the speed asked the steps lag behind the clock, and what is still scheduled then is
played without waiting, so no call is left in progress and no agent on a call. The simulated
switch reports ``ended`` for every call, one whose caller hangs up in the IVR too.

Distributions: Poisson arrivals; IVR think time 2–6 s per step; half the callers ask for an agent
straight away, a quarter log in and check a balance first (then an agent or hang up), a quarter
listen to information and hang up; queue general 65 % / card 25 % / complaint 10 %; patience
exponential (mean 90 s), after which the caller hangs up; callers offered a callback accept it
one time in three; ring 2–8 s before the agent answers (3 % never do: the offer times out);
talk log-normal (mean 150 s, complaints 240 s); hold on 20 % of calls (10–60 s); after-call work
log-normal (mean 25 s); one agent in twenty takes a short break after a call.

Outbound: the simulator plays the switch too (``SimSwitch``): every ``originate`` of the
platform's outbox (progressive campaigns dial for its ready agents; a human's preview dials too)
is acknowledged and dialled once; ``outbound_answer_rate`` (0.3) of the dials are answered after
3–15 s of ringing, 15 % are busy (and numbers ending in 44), 2 % invalid, the rest ring out after
30 s; an answered call talks log-normal 120 s and the simulated agent records an outcome.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from agents import presence
from agents.models import AgentState, AgentStatus
from org.roles import Role

from . import dispatch, kpi_port

logger = logging.getLogger(__name__)
User = get_user_model()

QUEUE_SHARES = (("general", 0.65), ("card", 0.25), ("complaint", 0.10))
DISPOSITIONS = (
    ("resolved", 0.55),
    ("consultation", 0.25),
    ("complaint", 0.08),
    ("suggestion", 0.04),
    ("loss_report", 0.03),
    ("other", 0.05),
)
DOCUMENTED_CARDS = (
    ("6228480100000001", "123456", "13800000001"),
    ("6228480100000003", "223344", "13800000003"),
    ("6228480100000004", "334455", "13800000004"),
)


def lognormal(rng: random.Random, mean: float, sigma: float = 0.6) -> float:
    return rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)


def pick(rng: random.Random, shares) -> str:
    point, total = rng.random(), 0.0
    for value, share in shares:
        total += share
        if point < total:
            return value
    return shares[-1][0]


@dataclass
class SimCall:
    call_id: str
    ani: str
    seq: int = 0
    queue: str = ""
    state: str = "ivr"  # ivr | waiting | with_agent | done
    plan: list[str] = field(default_factory=list)
    patience_at: float = 0.0
    answered_at: str = ""  # ISO time the agent answered: the recording starts then


@dataclass
class SimAgent:
    user: Any
    client: APIClient
    busy_with: str = ""
    ignoring: str = ""


class SimSwitch:
    """The switch's side of outbound dialing (docs/cti.md "The switch contract"): it takes the
    platform's ``originate`` / ``cancel`` commands, **dials a command id once** (a re-sent or
    replayed command is only acknowledged again), acknowledges (``ack``) and answers with CTI
    events carrying the ``command_id``: ``dialing``, ``ringing``, then ``answered`` (the share
    ``answer_rate`` of the dials, after a ring time in ``ring_s``) or ``ended`` with a cause —
    ``busy`` (``busy_rate``; numbers ending in 44 are always busy), ``invalid_number``
    (``invalid_rate``), ``rejected`` or ``no_answer`` after ``no_answer_s``. An answered call ends
    after ``talk(command)`` seconds, or when ``hangup(command_id)`` is called. A ``cancel`` of a
    command not yet answered ends it (and a cancelled id is never dialled later)."""

    def __init__(
        self,
        *,
        post_cti: Callable[[dict[str, Any]], Any],
        at: Callable[[float, Callable[[], object]], None] | None = None,
        ack: Callable[[str], Any] | None = None,
        rng: random.Random | None = None,
        answer_rate: float = 0.3,
        busy_rate: float = 0.15,
        invalid_rate: float = 0.02,
        ring_s: tuple[float, float] = (3.0, 15.0),
        no_answer_s: float = 30.0,
        talk: Callable[[dict[str, Any]], float] | None = None,
        on_answered: Callable[[dict[str, Any]], Any] | None = None,
    ):
        self.post_cti = post_cti
        self.at = at or (lambda _delay, action: action())
        self.ack = ack
        self.rng = rng or random.Random()  # noqa: S311 - traffic, not secrets
        self.answer_rate, self.busy_rate, self.invalid_rate = answer_rate, busy_rate, invalid_rate
        self.ring_s, self.no_answer_s = ring_s, no_answer_s
        self.talk = talk
        self.on_answered = on_answered
        self.calls: dict[str, dict[str, Any]] = {}  # command id → its call (the dedupe store)
        self.dialled: list[str] = []
        self.stats: Counter[str] = Counter()

    def command(self, message: dict[str, Any]) -> None:
        command_id = str(message.get("command_id") or "")
        if not command_id:
            return
        if message.get("type") == "cancel":
            call = self.calls.setdefault(command_id, {"state": "cancelled", "command": message})
            if call["state"] in ("dialing", "ringing"):
                self._event(command_id, "ended", cause="failed")
            call["state"] = "cancelled"
            return
        if message.get("type") != "originate":
            return
        if self.ack is not None:
            self.ack(command_id)
        if command_id in self.calls:
            self.stats["duplicates"] += 1
            return  # re-sent or replayed: acknowledged again, never dialled twice
        call = self.calls[command_id] = {"state": "dialing", "command": message, "seq": 0}
        call["call_id"] = f"pbx-{command_id[-12:]}"
        self.dialled.append(command_id)
        self.stats["dials"] += 1
        roll = self.rng.random()
        number = str(message.get("number") or "")
        self.at(0.3, lambda: self._step(command_id, "dialing"))
        if number.endswith("44") or roll < self.busy_rate:
            self.at(1.5, lambda: self._end(command_id, "busy"))
        elif roll < self.busy_rate + self.invalid_rate:
            self.at(1.0, lambda: self._end(command_id, "invalid_number"))
        else:
            self.at(1.0, lambda: self._step(command_id, "ringing"))
            answered = self.rng.random() < self.answer_rate / max(1.0 - self.busy_rate - self.invalid_rate, 0.01)
            if answered:
                self.at(1.0 + self.rng.uniform(*self.ring_s), lambda: self._answer(command_id))
            else:
                cause = "rejected" if self.rng.random() < 0.1 else "no_answer"
                self.at(1.0 + self.no_answer_s, lambda: self._end(command_id, cause))

    def in_progress(self) -> bool:
        """Whether a dial is still dialling, ringing or talking."""
        return any(call["state"] in ("dialing", "ringing", "answered") for call in self.calls.values())

    def hangup(self, command_id: str) -> None:
        """The customer (or the agent) hangs up the answered call."""
        if self.calls.get(command_id, {}).get("state") == "answered":
            self._end(command_id, "normal")

    def _step(self, command_id: str, stage: str) -> None:
        call = self.calls[command_id]
        if call["state"] in ("cancelled", "ended"):
            return
        call["state"] = stage
        self._event(command_id, stage)

    def _answer(self, command_id: str) -> None:
        call = self.calls[command_id]
        if call["state"] != "ringing":
            return
        self._step(command_id, "answered")
        self.stats["answered"] += 1
        if self.on_answered is not None:
            self.on_answered(call["command"])
        talk = self.talk(call["command"]) if self.talk is not None else self.rng.uniform(30, 180)
        self.at(talk, lambda: self.hangup(command_id))

    def _end(self, command_id: str, cause: str) -> None:
        call = self.calls[command_id]
        if call["state"] in ("cancelled", "ended"):
            return
        call["state"] = "ended"
        self.stats[cause] += 1
        self._event(command_id, "ended", cause=cause)

    def _event(self, command_id: str, type_: str, **extra: Any) -> None:
        call = self.calls[command_id]
        call["seq"] = call.get("seq", 0) + 1
        body = {
            "event_id": f"{call.get('call_id', command_id)}:{type_}:{call['seq']}",
            "call_id": call.get("call_id", f"pbx-{command_id[-12:]}"),
            "command_id": command_id,
            "type": type_,
            "ts": timezone.now().isoformat(),
            **extra,
        }
        response = self.post_cti(body)
        if getattr(response, "status_code", 200) != 200:
            self.stats["errors"] += 1


class Simulator:
    DRAIN_S = 900.0  # simulated seconds after the last arrival for the calls in progress to finish
    FAST_FORWARD_STEPS = 100_000  # a bound on the steps played without waiting once that is up

    def __init__(
        self,
        *,
        calls_per_hour: float,
        minutes: float,
        speed: float = 1.0,
        seed: int | None = None,
        agents: int | None = None,
        out: Callable[[str], None] = print,
        use_ivr: bool = True,
        outbound_answer_rate: float = 0.3,
    ):
        self.rate = calls_per_hour / 3600.0
        self.duration = minutes * 60.0
        self.speed = max(speed, 0.01)
        self.rng = random.Random(seed)  # noqa: S311 - traffic, not secrets
        self.out = out
        self.queue: list[tuple[float, int, Callable[[], object]]] = []
        self.counter = itertools.count()
        self.sim_now = 0.0
        self.event_time: float | None = None
        self.run_id = f"{int(time.time()) % 10**6:06d}"
        self.numbers = itertools.count(1)
        self.calls: dict[str, SimCall] = {}
        self.stats: Counter[str] = Counter()
        self.switch = APIClient()
        self.switch.force_authenticate(self._switch_user())
        self.use_ivr = use_ivr and self._ivr_ready()
        self.agents = self._agents(agents)
        # The switch's side of outbound dialing: originate commands from the platform's outbox
        # (what a /ws/switch/ adapter gets), dialled once each, answered with CTI events.
        self.outbound = SimSwitch(
            post_cti=lambda body: self.switch.post("/api/cti/events/", body, format="json"),
            at=self.at,
            ack=self._ack,
            rng=self.rng,
            answer_rate=outbound_answer_rate,
            talk=lambda _command: lognormal(self.rng, 120),
            on_answered=self._outbound_answered,
        )
        self.recording_clips = self._recording_clips()
        self.winding_down = False

    # --- setup ---------------------------------------------------------------------------------

    def _switch_user(self):
        user = User.objects.filter(profile__role=Role.SWITCH, is_active=True).order_by("pk").first()
        if user is None:
            from org.models import StaffProfile

            user = User.objects.create_user(username="sim-switch")
            StaffProfile.objects.create(user=user, role=Role.SWITCH)
        return user

    def _recording_clips(self) -> list:
        """Demo conversations (espeak-ng, sox) the switch uploads as each answered call's
        recording; none (no uploads) when they cannot be rendered."""
        from .recordings import demo_audio

        clips = demo_audio.clips(encoding="alaw")
        if not clips:
            self.out("Recordings: espeak-ng or sox missing, calls are not recorded.")
        return clips

    def _ivr_ready(self) -> bool:
        from ivr.selectors import published_version

        return published_version() is not None

    def _agents(self, limit: int | None) -> list[SimAgent]:
        users = list(
            User.objects.filter(profile__role=Role.AGENT, is_active=True, skills__isnull=False)
            .distinct()
            .order_by("username")
        )
        if not users:
            raise RuntimeError("No agents with skills: run seed_demo (or calls.demo.seed_queues) first.")
        if limit:
            # The last ones: the README's tour logs a human in as agent01, who stays free.
            users = users[-limit:]
        agents = []
        for user in users:
            client = APIClient()
            client.force_authenticate(user)
            agents.append(SimAgent(user=user, client=client))
        return agents

    def _desktop(self, agent: SimAgent) -> str:
        """The simulated agent's desktop connection (``agents.presence``): the simulator sits at
        the seats it plays, so routing rings them."""
        return f"simulator-{self.run_id}-{agent.user.pk}"

    # --- the event loop ------------------------------------------------------------------------

    def at(self, delay: float, action: Callable[[], object]) -> None:
        """Run ``action`` ``delay`` simulated seconds after the event being handled (or now): when
        the loop lags behind, events keep their simulated spacing and it catches up."""
        base = self.event_time if self.event_time is not None else self.sim_now
        heapq.heappush(self.queue, (base + max(delay, 0.0), next(self.counter), action))

    def run(self) -> dict[str, Any]:
        start_real = time.monotonic()
        started_at = timezone.now()
        for agent in self.agents:
            presence.connection_opened(agent.user.pk, self._desktop(agent))
            self._agent_state(agent, "ready")
        next_heartbeat = time.monotonic() + float(settings.AGENTS_PRESENCE_HEARTBEAT_S)
        self.at(self.rng.expovariate(self.rate) if self.rate else self.duration, self._arrival)
        try:
            next_poll = 0.0
            next_report = 60.0
            drain_until = self.duration + self.DRAIN_S
            while self.sim_now < drain_until:
                self.sim_now = (time.monotonic() - start_real) * self.speed
                while self.queue and self.queue[0][0] <= self.sim_now:
                    self._play_next()
                if time.monotonic() >= next_heartbeat:
                    next_heartbeat = time.monotonic() + float(settings.AGENTS_PRESENCE_HEARTBEAT_S)
                    presence.connections_refreshed({self._desktop(a): a.user.pk for a in self.agents})
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + 0.25
                    self._poll_agents()
                    self._poll_switch_commands()
                    dispatch.sweep_if_due()
                if self.sim_now >= next_report:
                    next_report += 60.0
                    self._report()
                if self.sim_now > self.duration and not self.winding_down:
                    self._wind_down()
                if self.sim_now > self.duration and self._settled():
                    break
                wait = 0.05
                if self.queue:
                    wait = min(wait, max((self.queue[0][0] - self.sim_now) / self.speed, 0.0))
                time.sleep(wait)
            else:
                self._fast_forward()
        except KeyboardInterrupt:
            self.out("Interrupted: logging the simulated agents out.")
        finally:
            for agent in self.agents:
                self._agent_state(agent, "offline")  # refused (and left as is) for an agent on a call
                presence.connection_closed(agent.user.pk, self._desktop(agent))
        today = timezone.localdate()
        summary = {
            "calls": self.stats["calls"],
            "to_agent": self.stats["queued"],
            "contained_in_ivr": self.stats["contained"],
            "answered": self.stats["answered"],
            "abandoned": self.stats["abandoned"],
            "callbacks": self.stats["callbacks"],
            "recordings": self.stats["recordings"],
            "missed_offers": self.stats["ignored_offers"],
            "outbound_dials": self.outbound.stats["dials"],
            "outbound_answered": self.outbound.stats["answered"],
            "outbound_busy": self.outbound.stats["busy"],
            "outbound_no_answer": self.outbound.stats["no_answer"],
            "errors": self.stats["errors"],
            "started_at": started_at.isoformat(),
            "kpis_today": kpi_port.by_queue_and_total(today, today)[1],
        }
        return summary

    def _play_next(self) -> None:
        """Run the earliest scheduled step (a failure is counted and logged, the run goes on)."""
        when, _n, action = heapq.heappop(self.queue)
        self.event_time = when
        try:
            action()
        except Exception:
            self.stats["errors"] += 1
            logger.exception("simulator step failed")
        finally:
            self.event_time = None

    def _settled(self) -> bool:
        """No call is in the IVR, waiting or talking, no agent is on one, no dial is under way."""
        return (
            all(c.state == "done" for c in self.calls.values())
            and not any(a.busy_with for a in self.agents)
            and not self.outbound.in_progress()
        )

    def _fast_forward(self) -> None:
        """The drain time is up with calls still in progress (a machine too slow for the speed
        asked: the steps lag behind the clock): play what is scheduled without waiting, so every
        call still ends, has its recording and its wrap-up, and no agent is left on a call. The
        queue is finite: no caller arrives after the run's minutes and the agents are winding
        down."""
        if not self.winding_down:
            self._wind_down()
        behind = sum(1 for c in self.calls.values() if c.state != "done")
        steps = 0
        while not self._settled() and steps < self.FAST_FORWARD_STEPS:
            if not self.queue or steps % 20 == 0:
                self._poll_agents()  # an offer ringing now is answered in its turn
                self._poll_switch_commands()
            if not self.queue:
                break
            self.sim_now = max(self.sim_now, self.queue[0][0])
            self._play_next()
            steps += 1
        self.out(
            f"Drain time up with {behind} call(s) in progress (this machine is slower than --speed "
            f"{self.speed:g} asks): played their remaining {steps} step(s) without waiting."
        )

    def _report(self) -> None:
        states = Counter(
            AgentStatus.objects.filter(user__in=[a.user for a in self.agents]).values_list("state", flat=True)
        )
        waiting = sum(1 for c in self.calls.values() if c.state == "waiting")
        self.out(
            f"[{int(self.sim_now // 60):>3} min] calls {self.stats['calls']}, waiting {waiting}, "
            f"answered {self.stats['answered']}, abandoned {self.stats['abandoned']}, agents "
            + ", ".join(f"{state} {n}" for state, n in sorted(states.items()))
        )

    # --- callers (the switch) ------------------------------------------------------------------

    def _ts(self) -> str:
        return timezone.now().isoformat()

    def _cti(self, call: SimCall, type_: str, **extra) -> None:
        body = {
            "event_id": f"{call.call_id}-{type_}-{next(self.counter)}",
            "call_id": call.call_id,
            "type": type_,
            "ts": self._ts(),
            "ani": call.ani,
            **extra,
        }
        response = self.switch.post("/api/cti/events/", body, format="json")
        if response.status_code != 200:
            self.stats["errors"] += 1
            self.out(f"CTI {type_} of {call.call_id}: {response.status_code} {response.content[:200]!r}")

    def _arrival(self) -> None:
        if (self.event_time or 0.0) <= self.duration:
            self.at(self.rng.expovariate(self.rate), self._arrival)
        number = next(self.numbers)
        card = None
        roll = self.rng.random()
        if roll < 0.5:
            plan = ["0"]
        elif roll < 0.75:
            card = self.rng.choice(DOCUMENTED_CARDS)
            plan = ["1", card[0], card[1], "1", "0" if self.rng.random() < 0.6 else "hangup"]
        else:
            plan = ["3", str(self.rng.randint(1, 3)), "hangup"]
        ani = card[2] if card else f"1{self.rng.choice('3589')}{self.rng.randrange(10**9):09d}"
        call = SimCall(call_id=f"sim-{self.run_id}-{number:05d}", ani=ani, plan=plan)
        self.calls[call.call_id] = call
        self.stats["calls"] += 1
        self._cti(call, "offered", dnis="96123")
        if not self.use_ivr:
            self._queued(call, pick(self.rng, QUEUE_SHARES))
            return
        response = self.switch.post(
            "/api/ivr/calls/", {"call_id": call.call_id, "ani": ani, "dnis": "96123"}, format="json"
        )
        if response.status_code not in (200, 201):
            self.stats["errors"] += 1
            call.state = "done"
            return
        self.at(self.rng.uniform(3, 8), lambda: self._ivr_step(call))

    def _ivr_step(self, call: SimCall) -> None:
        step = call.plan.pop(0) if call.plan else "hangup"
        call.seq += 1
        body = (
            {"seq": call.seq, "type": "hangup"}
            if step == "hangup"
            else {"seq": call.seq, "type": "digits", "digits": step}
        )
        response = self.switch.post(f"/api/ivr/calls/{call.call_id}/events/", body, format="json")
        if response.status_code != 200:
            self.stats["errors"] += 1
            self._end(call, "contained")
            return
        actions = response.json()["actions"]
        last = actions[-1] if actions else {"type": "hangup"}
        if last["type"] == "transfer":
            queue = last.get("queue") or "general"
            if queue == "general" and self.rng.random() < 0.35:
                queue = pick(self.rng, QUEUE_SHARES[1:] + (("card", 0.0),))
            self._queued(call, queue)
        elif last["type"] == "hangup" or step == "hangup":
            self._end(call, "contained")
        else:
            self.at(self.rng.uniform(2, 6), lambda: self._ivr_step(call))

    def _queued(self, call: SimCall, queue: str) -> None:
        call.state, call.queue = "waiting", queue
        self.stats["queued"] += 1
        self._cti(call, "queued", queue=queue)
        patience = self.rng.expovariate(1 / 90)
        call.patience_at = self.sim_now + patience
        self.at(patience, lambda: self._patience_over(call))
        self.at(min(patience, 30), lambda: self._check_callback_offer(call))

    def _check_callback_offer(self, call: SimCall) -> None:
        if call.state != "waiting":
            return
        status = self.switch.get(f"/api/calls/{call.call_id}/").json()
        if status.get("callback_offer") and self.rng.random() < 1 / 3:
            response = self.switch.post(f"/api/calls/{call.call_id}/callback/", {}, format="json")
            if response.status_code == 201:
                self.stats["callbacks"] += 1
                self._end(call, "abandoned")
                return
        if self.sim_now + 10 < call.patience_at:
            self.at(10, lambda: self._check_callback_offer(call))

    def _patience_over(self, call: SimCall) -> None:
        if call.state != "waiting":
            return
        status = self.switch.get(f"/api/calls/{call.call_id}/").json()
        if status.get("state") in ("queued", "offered"):
            self._end(call, "abandoned")

    def _end(self, call: SimCall, outcome: str) -> None:
        """The caller's channel hangs up (in the IVR, waiting, or after asking for a callback):
        the switch reports ``ended`` as it does for every call (docs/cti.md, ``Hangup``)."""
        call.state = "done"
        self.stats[outcome] += 1
        self._cti(call, "ended")

    # --- the switch's outbound side -------------------------------------------------------------

    def _ack(self, command_id: str) -> None:
        from .outbound import dialer

        dialer.acknowledge(command_id)

    def _poll_switch_commands(self) -> None:
        """What a ``/ws/switch/`` adapter is sent on connect: the unacknowledged ``originate`` and
        the recent ``cancel`` commands (in process, as the CTI events go through the test client)."""
        from .outbound import commands

        for message in commands.replay_for_reconnect():
            self.outbound.command(message)

    def _outbound_answered(self, command: dict[str, Any]) -> None:
        """The customer answered: the simulated agent talks; after the switch reports the end,
        they record an outcome on the desktop's API (which closes the after-call work)."""
        agent = next((a for a in self.agents if a.user.get_username() == command.get("agent")), None)
        if agent is None:
            return  # a human's dial (agent01): they record it themselves
        agent.busy_with = command["command_id"]
        self.stats["answered_outbound"] += 1
        self.at(lognormal(self.rng, 120) + lognormal(self.rng, 20), lambda: self._outbound_outcome(agent, command))

    def _outbound_outcome(self, agent: SimAgent, command: dict[str, Any]) -> None:
        from .outbound.models import DialAttempt

        attempt = DialAttempt.objects.filter(command_id=command["command_id"]).values("pk", "status").first()
        if attempt is None:
            agent.busy_with = ""
            return
        if attempt["status"] != "ended":
            self.outbound.hangup(command["command_id"])
        outcome = pick(self.rng, (("interested", 0.25), ("not_interested", 0.55), ("sale", 0.1), ("completed", 0.1)))
        agent.client.post(
            f"/api/outbound/desk/attempts/{attempt['pk']}/outcome/", {"outcome": outcome, "note": ""}, format="json"
        )
        agent.busy_with = ""
        if self.winding_down:
            self._agent_state(agent, "not_ready", "meeting")

    # --- agents --------------------------------------------------------------------------------

    def _agent_state(self, agent: SimAgent, state: str, reason: str = "") -> None:
        if state == "ready" and self.winding_down:
            state, reason = "not_ready", "meeting"  # the run is over: no new call, no new dial
        agent.client.post("/api/agents/me/state/", {"state": state, "reason": reason}, format="json")

    def _wind_down(self) -> None:
        """The run's time is up: the idle agents go not ready (a dial not yet answered for them is
        cancelled), those on a call once it is done, so the calls in progress finish and no new
        one starts."""
        self.winding_down = True
        for agent in self.agents:
            if not agent.busy_with:
                self._agent_state(agent, "not_ready", "meeting")

    def _poll_agents(self) -> None:
        rows = AgentStatus.objects.filter(user__in=[a.user for a in self.agents], state=AgentState.RINGING).values_list(
            "user_id", "call__call_id"
        )
        ringing = dict(rows)
        for agent in self.agents:
            call_id = ringing.get(agent.user.pk)
            if not call_id or agent.busy_with == call_id or agent.ignoring == call_id:
                continue
            if self.rng.random() < 0.03:
                agent.ignoring = call_id  # never answers: the offer times out and the agent goes not ready
                self.stats["ignored_offers"] += 1
                # Back to ready once the offer has timed out (real seconds, whatever the speed).
                delay = (settings.CALLS_OFFER_TIMEOUT_S + 5) * self.speed
                self.at(delay, lambda a=agent: self._agent_state(a, "ready"))  # type: ignore[misc]  # mypy cannot infer a lambda with defaults
                continue
            agent.busy_with = call_id
            self.at(self.rng.uniform(2, 8), lambda a=agent, c=call_id: self._answer(a, c))  # type: ignore[misc]  # mypy cannot infer a lambda with defaults

    def _answer(self, agent: SimAgent, call_id: str) -> None:
        response = agent.client.post(f"/api/calls/{call_id}/answer/")
        if response.status_code != 200:
            agent.busy_with = ""
            return
        call = self.calls.get(call_id)
        if call is not None:
            call.state = "with_agent"
            call.answered_at = self._ts()
            self.stats["answered"] += 1
        talk = lognormal(self.rng, 240 if call is not None and call.queue == "complaint" else 150)
        if self.rng.random() < 0.2:
            hold_at, hold = talk * self.rng.uniform(0.2, 0.6), self.rng.uniform(10, 60)
            self.at(hold_at, lambda: agent.client.post(f"/api/calls/{call_id}/hold/"))
            self.at(hold_at + hold, lambda: agent.client.post(f"/api/calls/{call_id}/retrieve/"))
            talk += hold
        self.at(talk, lambda: self._hangup(agent, call_id))

    def _hangup(self, agent: SimAgent, call_id: str) -> None:
        agent.client.post(f"/api/calls/{call_id}/hangup/")
        call = self.calls.get(call_id)
        if call is not None:
            call.state = "done"
            self._upload_recording(call)
        self.at(lognormal(self.rng, 25), lambda: self._wrapup(agent, call_id))

    def _upload_recording(self, call: SimCall) -> None:
        """The switch uploads the call's recording as the call ends (``POST /api/recordings/``),
        with the paused span of a password prompt when the conversation has one."""
        if not self.recording_clips or not call.answered_at:
            return
        # Not self.rng: the traffic of a seeded run stays what it was before calls were recorded.
        clip = self.recording_clips[sum(call.call_id.encode()) % len(self.recording_clips)]
        with clip.path.open("rb") as handle:
            body = {"call_id": call.call_id, "started_at": call.answered_at, "file": handle}
            if clip.masked_segments:
                body["masked"] = json.dumps(clip.masked_segments)
            response = self.switch.post("/api/recordings/", body, format="multipart")
        if response.status_code in (200, 201):
            self.stats["recordings"] += 1
        else:
            self.stats["errors"] += 1
            self.out(f"Recording of {call.call_id}: {response.status_code} {response.content[:200]!r}")

    def _wrapup(self, agent: SimAgent, call_id: str) -> None:
        disposition = pick(self.rng, DISPOSITIONS)
        agent.client.post(f"/api/calls/{call_id}/wrapup/", {"disposition": disposition, "note": ""}, format="json")
        agent.busy_with = ""
        if self.winding_down:
            self._agent_state(agent, "not_ready", "meeting")
        if self.rng.random() < 0.05:
            self._agent_state(agent, "not_ready", "break")
            self.at(self.rng.uniform(120, 600), lambda: self._agent_state(agent, "ready"))
