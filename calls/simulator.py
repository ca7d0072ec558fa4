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
recorded durations are compressed by the same factor; offer timeouts stay real seconds.

Distributions: Poisson arrivals; IVR think time 2–6 s per step; half the callers ask for an agent
straight away, a quarter log in and check a balance first (then an agent or hang up), a quarter
listen to information and hang up; queue general 65 % / card 25 % / complaint 10 %; patience
exponential (mean 90 s), after which the caller hangs up; callers offered a callback accept it
one time in three; ring 2–8 s before the agent answers (3 % never do: the offer times out);
talk log-normal (mean 150 s, complaints 240 s); hold on 20 % of calls (10–60 s); after-call work
log-normal (mean 25 s); one agent in twenty takes a short break after a call.
"""

from __future__ import annotations

import heapq
import itertools
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


@dataclass
class SimAgent:
    user: Any
    client: APIClient
    busy_with: str = ""
    ignoring: str = ""


class Simulator:
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

    # --- setup ---------------------------------------------------------------------------------

    def _switch_user(self):
        user = User.objects.filter(profile__role=Role.SWITCH, is_active=True).order_by("pk").first()
        if user is None:
            from org.models import StaffProfile

            user = User.objects.create_user(username="sim-switch")
            StaffProfile.objects.create(user=user, role=Role.SWITCH)
        return user

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
            drain_until = self.duration + 900  # let calls in progress finish (15 simulated minutes at most)
            while self.sim_now < drain_until:
                self.sim_now = (time.monotonic() - start_real) * self.speed
                while self.queue and self.queue[0][0] <= self.sim_now:
                    when, _n, action = heapq.heappop(self.queue)
                    self.event_time = when
                    try:
                        action()
                    except Exception:
                        self.stats["errors"] += 1
                        logger.exception("simulator step failed")
                    finally:
                        self.event_time = None
                if time.monotonic() >= next_heartbeat:
                    next_heartbeat = time.monotonic() + float(settings.AGENTS_PRESENCE_HEARTBEAT_S)
                    presence.connections_refreshed({self._desktop(a): a.user.pk for a in self.agents})
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + 0.25
                    self._poll_agents()
                    dispatch.sweep_if_due()
                if self.sim_now >= next_report:
                    next_report += 60.0
                    self._report()
                settled = not any(c.state != "done" for c in self.calls.values()) and not any(
                    a.busy_with for a in self.agents
                )
                if self.sim_now > self.duration and settled:
                    break
                wait = 0.05
                if self.queue:
                    wait = min(wait, max((self.queue[0][0] - self.sim_now) / self.speed, 0.0))
                time.sleep(wait)
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
            "missed_offers": self.stats["ignored_offers"],
            "errors": self.stats["errors"],
            "started_at": started_at.isoformat(),
            "kpis_today": kpi_port.by_queue_and_total(today, today)[1],
        }
        return summary

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
            self._cti(call, "ended")
            self._end(call, "abandoned")

    def _end(self, call: SimCall, outcome: str) -> None:
        call.state = "done"
        self.stats[outcome] += 1

    # --- agents --------------------------------------------------------------------------------

    def _agent_state(self, agent: SimAgent, state: str, reason: str = "") -> None:
        agent.client.post("/api/agents/me/state/", {"state": state, "reason": reason}, format="json")

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
        self.at(lognormal(self.rng, 25), lambda: self._wrapup(agent, call_id))

    def _wrapup(self, agent: SimAgent, call_id: str) -> None:
        disposition = pick(self.rng, DISPOSITIONS)
        agent.client.post(f"/api/calls/{call_id}/wrapup/", {"disposition": disposition, "note": ""}, format="json")
        agent.busy_with = ""
        if self.rng.random() < 0.05:
            self._agent_state(agent, "not_ready", "break")
            self.at(self.rng.uniform(120, 600), lambda: self._agent_state(agent, "ready"))
