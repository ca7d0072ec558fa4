"""A simulated hour of progressive dialing (issue 19, ``bench_outbound``'s third part).

``pacing_hour(agents=15, answer_rate=0.3)`` runs one hour of **virtual** time through the real
services — the agents' state machine, the dialer (``calls.outbound.dialer``), the CTI ingest with
``command_id`` (``calls.services.cti``), h5's compliance and outcome services — with the switch
played by ``calls.simulator.SimSwitch`` (ring 3–15 s, 15 % busy, 2 % invalid numbers, no answer
after 30 s, talk log-normal 120 s) and agents who record an outcome 20 s after each answered
call. The clock (``django.utils.timezone.now``) jumps from event to event, so an hour takes as
long as its few thousand transactions. Reported: dials, answered customers, **agent occupancy**
(on a call or in after-call work over logged-in time, from the append-only state log), the share
of logged-in time agents spent reserved for a ringing dial, and the **answered customers who
waited more than 2 s for an agent** (goal 0: the agent is reserved before the number is dialled,
so an answered customer is connected in the same instant).

``pacing_rows()`` runs it in a child process on a throw-away PostgreSQL database (``bench.pg``),
or on a temporary SQLite file when ``BENCH_OUTBOUND_SQLITE=1``; ``bench.bench_outbound.pacing_hour``
(h5's module) returns these rows, so ``make bench`` shows them.
Stand-alone: ``.venv/bin/python -m bench.outbound_pacing``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AGENTS = int(os.environ.get("BENCH_OUTBOUND_AGENTS", "15"))
ANSWER_RATE = float(os.environ.get("BENCH_OUTBOUND_ANSWER_RATE", "0.3"))


def pacing_hour(agents: int = 15, answer_rate: float = 0.3, *, seed: int = 19, minutes: float = 60.0) -> dict[str, Any]:
    """One virtual hour of progressive dialing (Django set up, database migrated)."""
    from unittest import mock

    from django.conf import settings
    from django.utils import timezone

    from agents import presence
    from agents.models import AgentSkill, AgentState, AgentStateLog, AgentStatus
    from agents.services import agent_state_set
    from calls.demo import ensure_default_queues
    from calls.models import Call, Queue
    from calls.outbound import commands, dialer
    from calls.outbound.models import Campaign, CampaignContact, CampaignKind, DialAttempt
    from calls.services.cti import cti_events_ingest
    from calls.simulator import SimSwitch, lognormal
    from org.models import StaffProfile
    from org.roles import Role

    settings.OUTBOUND_WINDOW = "00:00-23:59:59"
    rng = random.Random(seed)  # noqa: S311 - traffic, not secrets
    real_now = timezone.now
    clock = [real_now().replace(microsecond=0) + timedelta(seconds=5)]
    start = clock[0]
    end = start + timedelta(minutes=minutes)

    def now() -> datetime:
        return clock[0]

    events: list[tuple[datetime, int, Any]] = []
    counter = itertools.count()

    def at(delay: float, action) -> None:
        heapq.heappush(events, (clock[0] + timedelta(seconds=max(delay, 0.0)), next(counter), action))

    with mock.patch("django.utils.timezone.now", now):
        ensure_default_queues()
        queue, _created = Queue.objects.get_or_create(
            code="outbench", defaults={"name": "outbench", "name_en": "outbench"}
        )
        from django.contrib.auth import get_user_model

        User = get_user_model()  # noqa: N806
        run = f"{os.getpid() % 10000:04d}"
        users = []
        for n in range(agents):
            user = User.objects.create_user(username=f"ob{run}-{n:02d}")
            StaffProfile.objects.create(user=user, role=Role.AGENT)
            AgentSkill.objects.create(agent=user, queue=queue, level=3)
            AgentStatus.objects.create(user=user, state=AgentState.OFFLINE, since=now())
            users.append(user)
        by_name = {user.get_username(): user for user in users}
        today = timezone.localdate(now())
        from datetime import time

        campaign = Campaign.objects.create(
            code=f"bench-{run}",
            name="bench",
            kind=CampaignKind.MARKETING,
            mode="progressive",
            status="running",
            queue=queue,
            blended=False,
            window_start=time(0, 0),
            window_end=time(23, 59, 59),
            allow_holidays=True,
            date_from=today,
            date_to=today + timedelta(days=2),
            max_attempts=3,
            retry_minutes={"busy": 600, "no_answer": 600, "rejected": 600, "failed": 600},
        )
        CampaignContact.objects.bulk_create(
            [
                CampaignContact(campaign=campaign, phone=f"139{rng.randrange(10**8):08d}{n % 10}"[:11])
                for n in range(agents * 120)
            ],
            ignore_conflicts=True,
        )
        settings.OUTBOUND_MARKETING_PER_WEEK = 10**6  # the list's numbers are random: no cap in the way

        def post_cti(body: dict[str, Any]) -> None:
            item = {**body, "ts": clock[0], "queue": "", "agent_id": None, "data": {}}
            cti_events_ingest(events=[item])

        def outcome(command: dict[str, Any]) -> None:
            attempt = DialAttempt.objects.filter(command_id=command["command_id"]).values("pk").first()
            if attempt is not None:
                try:
                    dialer.outcome_record(by_name[command["agent"]], attempt_id=attempt["pk"], outcome="not_interested")
                except Exception:  # noqa: BLE001 - counted, the hour goes on
                    stats["outcome_errors"] += 1

        def answered(command: dict[str, Any]) -> None:
            pass

        switch = SimSwitch(
            post_cti=post_cti,
            at=at,
            ack=dialer.acknowledge,
            rng=rng,
            answer_rate=answer_rate,
            talk=lambda command: (lambda talk: (at(talk + 20.0, lambda: outcome(command)), talk)[1])(
                lognormal(rng, 120)
            ),
            on_answered=answered,
        )
        stats: dict[str, int] = {"outcome_errors": 0}
        for n, user in enumerate(users):
            presence.connection_opened(user.pk, f"bench-{user.pk}")
            clock[0] = start + timedelta(seconds=n * 0.1)
            agent_state_set(agent=user, state="ready")
        last_presence = clock[0]
        while events or clock[0] < end:
            for message in commands.replay_for_reconnect():
                if message["type"] == "originate" or message["command_id"] in switch.calls:
                    switch.command(message)
            if not events:
                break
            when, _n, action = heapq.heappop(events)
            if when >= end and campaign.status == "running":
                clock[0] = end
                Campaign.objects.filter(pk=campaign.pk).update(status="paused")
                campaign.status = "paused"
            clock[0] = max(clock[0], when)
            action()
            if clock[0] - last_presence > timedelta(seconds=5):
                last_presence = clock[0]
                presence.connections_refreshed({f"bench-{u.pk}": u.pk for u in users})
        for user in users:
            try:
                agent_state_set(agent=user, state="offline")
            except Exception:  # noqa: BLE001 - an agent still in after-call work stays
                stats["still_busy"] = stats.get("still_busy", 0) + 1
            presence.connection_closed(user.pk, f"bench-{user.pk}")

        # --- figures ---------------------------------------------------------------------------
        attempts = list(DialAttempt.objects.filter(campaign=campaign).values("agent_id", "call_id", "answered_at"))
        answered_rows = [a for a in attempts if a["answered_at"] is not None]
        waited = 0
        for attempt in answered_rows:
            call = Call.objects.filter(call_id=attempt["call_id"]).values("legs", "anomalies").first()
            legs = (call or {}).get("legs") or []
            connected = (
                AgentStateLog.objects.filter(agent_id=attempt["agent_id"], state="on_call", call_id=attempt["call_id"])
                .values_list("started_at", flat=True)
                .first()
            )
            if not legs or legs[0]["agent"] != attempt["agent_id"] or connected is None:
                waited += 1
            elif (connected - attempt["answered_at"]).total_seconds() > 2:
                waited += 1
        spent: dict[str, float] = {}
        for user in users:
            logs = list(
                AgentStateLog.objects.filter(agent=user).order_by("started_at", "pk").values("state", "started_at")
            )
            for this, nxt in zip(logs, logs[1:] + [{"started_at": end}], strict=True):
                stop = min(nxt["started_at"], end)
                seconds = max((stop - max(this["started_at"], start)).total_seconds(), 0.0)
                spent[this["state"]] = spent.get(this["state"], 0.0) + seconds
        shift = sum(v for k, v in spent.items() if k != "offline") or 1.0
        return {
            "agents": agents,
            "answer_rate": answer_rate,
            "virtual_minutes": minutes,
            "dials": len(attempts),
            "answered": len(answered_rows),
            "occupancy": (spent.get("on_call", 0.0) + spent.get("acw", 0.0)) / shift,
            "reserved_share": spent.get("ringing", 0.0) / shift,
            "idle_share": spent.get("ready", 0.0) / shift,
            "waited_over_2s": waited,
            "outcome_errors": stats["outcome_errors"],
            "switch_dials": switch.stats["dials"],
            "duplicates_ignored": switch.stats["duplicates"],
        }


def _child() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result = pacing_hour(AGENTS, ANSWER_RATE)
    print("RESULT " + json.dumps(result))


def _run_child(database_url: str, *, agents: int, answer_rate: float) -> dict[str, Any]:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="contactcenter.settings.test",
        BENCH_OUTBOUND_AGENTS=str(agents),
        BENCH_OUTBOUND_ANSWER_RATE=str(answer_rate),
    )
    env.pop("REDIS_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", "from bench.outbound_pacing import _child; _child()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((line for line in out.stdout.splitlines() if line.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"pacing hour failed: {out.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def pacing_rows(*, agents: int = AGENTS, answer_rate: float = ANSWER_RATE) -> list[dict]:
    import time

    started = time.monotonic()
    if os.environ.get("BENCH_OUTBOUND_SQLITE") == "1":
        with tempfile.TemporaryDirectory() as tmp:
            result = _run_child(f"sqlite:///{tmp}/pacing.sqlite3", agents=agents, answer_rate=answer_rate)
    else:
        from bench.pg import throwaway_database

        with throwaway_database("bench_outbound_pacing") as url:
            result = _run_child(url, agents=agents, answer_rate=answer_rate)
    elapsed = time.monotonic() - started
    note = (
        f"{result['agents']} agents, answer rate {result['answer_rate']:.0%}: {result['dials']} dials, "
        f"{result['answered']} answered in a virtual hour ({elapsed:.0f} s real); reserved "
        f"{result['reserved_share']:.0%}, idle {result['idle_share']:.0%}"
    )
    return [
        {
            "name": "outbound: progressive hour, agent occupancy",
            "value": 100 * result["occupancy"],
            "unit": "%",
            "baseline": 0.0,
            "ratio": 0.0,
            "note": note,
        },
        {
            "name": "outbound: answered customers waiting > 2 s",
            "value": float(result["waited_over_2s"]),
            "unit": "calls",
            "baseline": 0.0,
            "ratio": 0.0,
            "note": f"goal 0 of {result['answered']} answered",
        },
    ]


if __name__ == "__main__":
    from bench.__main__ import print_table

    print_table(pacing_rows())
