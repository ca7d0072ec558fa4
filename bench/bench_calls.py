"""Calls and agents under load, on PostgreSQL and the Redis channel layer (issue 5).

1. CTI ingestion: events/s sustained through ``POST /api/cti/events/`` under gunicorn (sync
   workers, as production serves plain HTTP): batches of 200 events (25 calls × 8 events, each
   batch in shuffled order, historical timestamps) from 8 connections; goal ≥ 1,000 events/s.
   Single-event requests (as switches send them: Asterisk ``CURL()``, FreeSWITCH event hooks)
   from 8 connections — the same calls as the batches (historical timestamps, each call's eight
   events in shuffled order, so no agent moves and no call is routed) — in alternating windows
   with the one-row UPDATE view of ``bench/baseline.py`` on the same server; goal ≥ 400 events/s
   and ≥ 70 % of the baseline. The note gives the answers that failed by status and code, and
   the CPU per request of the server's workers and of PostgreSQL for both (steadier than the
   throughput on a shared machine). ``BENCH_PARTS=single`` runs only this part.
2. Screen-pop latency, 50 agents connected to ``/ws/agent/`` (uvicorn) and ready: from the
   switch's transfer request to the ``call.offered`` message at the agent's socket (the caller
   first logs in through the IVR API, so the pop carries a verified customer's accounts and
   transactions). Until the IVR sends ``call_transferred_to_agent``, the switch's CTI ``queued``
   event that follows the IVR's transfer action is what queues the call; the latency then covers
   both requests. Goal p95 < 200 ms; baseline: a bare channels_redis ``group_send`` to 50 sockets
   of a trivial consumer on the same server, measured in the same run.
3. Wallboard staleness under 100 CTI events/s (live calls into a queue nobody serves): every
   0.5 s a probe call is queued in its own queue; staleness is the time from the probe's POST
   returning to the first wallboard message that counts it. Goal < 1 s; the note gives the
   wallboard messages per second (coalesced: at most ~2).

Run: ``make bench`` or ``.venv/bin/python -m bench bench_calls`` (needs PostgreSQL at
``BENCH_ADMIN_URL`` and Redis at ``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/13``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.baseline import baseline_loop, baseline_urlpatterns, create_counter_table
from bench.http import (
    ROOT,
    Http,
    cpu_seconds,
    free_port,
    gunicorn,
    percentile,
    phone_banking_cards,
    stop,
    use_fast_hashers,
    uvicorn,
    wait_for,
)

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", str((os.cpu_count() or 2) * 2)))
AGENTS = 50
CUSTOMERS = 20
PIN = "246810"
BATCH_CALLS = 25
CONNECTIONS = 8
POPS = int(os.environ.get("BENCH_POPS", "150"))
POP_RATE = float(os.environ.get("BENCH_POP_RATE", "2"))  # calls per second (≈60× the founding peak hour)
EVENTS_PER_S = 100
GOAL_EVENTS_PER_S = 1000.0
GOAL_POP_P95_MS = 200.0
GOAL_STALENESS_S = 1.0
GOAL_SINGLE_EVENTS_PER_S = 400.0
GOAL_SINGLE_RATIO = 0.70
SINGLE_ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
# Which parts to run (``BENCH_PARTS=single`` while working on the single-event path): all by default.
PARTS = set(os.environ.get("BENCH_PARTS", "batch,single,pop,wallboard").split(","))


_server: dict[str, int] = {}  # the gunicorn master's pid: the CPU its workers use per request


def run() -> list[dict]:
    from bench.pg import throwaway_database

    with throwaway_database("cc_bench_calls") as url:
        env = dict(
            os.environ,
            DATABASE_URL=url,
            REDIS_URL=REDIS,
            CHANNELS_PREFIX=f"bench{os.getpid()}",
            CACHE_PREFIX=f"bench{os.getpid()}",
            DJANGO_SETTINGS_MODULE="contactcenter.settings.base",
            LOG_LEVEL="WARNING",
            AXES_ENABLED="false",
            DB_POOL_MAX="4",
        )
        setup = subprocess.run(
            [sys.executable, "-m", "bench.bench_calls", "--setup"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        fixture = json.loads(setup.strip().splitlines()[-1])
        http_port, ws_port = free_port(), free_port()
        http = gunicorn("bench.bench_calls:wsgi_application", http_port, env, GUNICORN_WORKERS)
        _server["pid"] = http.pid
        ws = uvicorn("bench.bench_calls:asgi_application", ws_port, env)
        try:
            wait_for(http_port)
            wait_for(ws_port)
            results = asyncio.run(_measure_all(http_port, ws_port, fixture, env))
        finally:
            stop(http, ws)
    return _rows(results)


def _rows(r: dict) -> list[dict]:
    rows = []
    if "ingest" in r:
        ingest = r["ingest"]
        rows.append(
            {
                "name": f"CTI ingestion, batches of {BATCH_CALLS * 8} ({CONNECTIONS} conns)",
                "value": ingest["events_per_s"],
                "unit": "ev/s",
                "baseline": GOAL_EVENTS_PER_S,
                "ratio": ingest["events_per_s"] / GOAL_EVENTS_PER_S,
                "note": f"goal ≥ {GOAL_EVENTS_PER_S:.0f}/s (baseline = goal); p99 per batch {ingest['p99_ms']:.0f} ms; "
                f"{ingest['calls']} calls, {ingest['rejected']} refused, errors {ingest['errors']}",
            }
        )
    if "ingest_single" in r:
        single = r["ingest_single"]
        cpu = single["cpu_ms"]
        rows.append(
            {
                "name": f"CTI ingestion, one event per request ({CONNECTIONS} conns)",
                "value": single["events_per_s"],
                "unit": "ev/s",
                "baseline": single["baseline_rps"],
                "ratio": single["events_per_s"] / single["baseline_rps"] if single["baseline_rps"] else float("nan"),
                "note": f"goal ≥ {GOAL_SINGLE_EVENTS_PER_S:.0f}/s and ≥ {GOAL_SINGLE_RATIO:.0%} of baseline "
                f"(1-row UPDATE view, same run, alternating windows); p99 {single['p99_ms']:.0f} ms "
                f"(baseline {single['baseline_p99_ms']:.0f} ms); {single['calls']} calls, "
                f"{single['rejected']} refused, errors {single['errors']}{_failures(single['failures'])} "
                f"(baseline {single['baseline_errors']}); "
                f"CPU ms per request, server + PostgreSQL: {cpu['single']['server']:.2f} + "
                f"{cpu['single']['postgres']:.2f} (baseline {cpu['baseline']['server']:.2f} + "
                f"{cpu['baseline']['postgres']:.2f})",
            }
        )
    if "pop" in r:
        pop, bare = r["pop"], r["bare"]
        rows += [
            {
                "name": f"Screen-pop latency p95 ({AGENTS} agents on Redis)",
                "value": pop["p95_ms"],
                "unit": "ms",
                "baseline": bare["p95_ms"],
                "ratio": pop["p95_ms"] / bare["p95_ms"] if bare["p95_ms"] else float("nan"),
                "note": f"goal < {GOAL_POP_P95_MS:.0f} ms; median {pop['median_ms']:.0f}, p99 {pop['p99_ms']:.0f} ms; "
                f"{pop['n']} pops ({pop['path']}), missed {pop['missed']}; baseline = bare group_send p95",
            },
            {
                "name": f"  bare channels_redis group_send to {AGENTS} sockets p99",
                "value": bare["p99_ms"],
                "unit": "ms",
                "baseline": bare["p99_ms"],
                "ratio": 1.0,
                "note": f"median {bare['median_ms']:.1f} ms over {bare['n']} messages × {AGENTS} sockets",
            },
        ]
    if "wallboard" in r:
        wall = r["wallboard"]
        rows.append(
            {
                "name": f"Wallboard staleness p95 under {EVENTS_PER_S} events/s",
                "value": wall["p95_s"] * 1000,
                "unit": "ms",
                "baseline": GOAL_STALENESS_S * 1000,
                "ratio": wall["p95_s"] / GOAL_STALENESS_S,
                "note": f"goal < {GOAL_STALENESS_S * 1000:.0f} ms (baseline = goal); "
                f"max {wall['max_s'] * 1000:.0f} ms; "
                f"{wall['messages_per_s']:.1f} wallboard messages/s; {wall['events_per_s']:.0f} events/s sent; "
                f"{wall['probes']} probes",
            }
        )
    return rows


def _failures(failures: dict[str, int]) -> str:
    return " (" + ", ".join(f"{key} ×{count}" for key, count in sorted(failures.items())) + ")" if failures else ""


# --- HTTP and websocket clients ----------------------------------------------------------------------


async def _socket(port: int, path: str):
    import websockets

    return await websockets.connect(f"ws://127.0.0.1:{port}{path}", origin="http://127.0.0.1", max_size=2**22)


# --- 1. CTI ingestion ---------------------------------------------------------------------------------


def _call_events(call_id: str, t0: datetime, agent: str, rng: random.Random) -> list[dict]:
    def ev(n, type_, seconds, **extra):
        return {
            "event_id": f"{call_id}-{n}",
            "call_id": call_id,
            "type": type_,
            "ts": (t0 + timedelta(seconds=seconds)).isoformat(),
            **extra,
        }

    wait = rng.uniform(2, 40)
    talk = rng.uniform(60, 300)
    return [
        ev(1, "offered", 0, ani=f"139{rng.randrange(10**8):08d}", dnis="96123"),
        ev(2, "queued", 30, queue="general"),
        ev(3, "ringing", 30 + wait - 3, agent=agent),
        ev(4, "answered", 30 + wait, agent=agent),
        ev(5, "held", 60 + wait),
        ev(6, "retrieved", 80 + wait),
        ev(7, "ended", 30 + wait + talk),
        ev(8, "wrapup", 60 + wait + talk),
    ]


async def _ingest_loop(client: Http, deadline: float, agents: list[str], prefix: str, batch_calls: int) -> dict:
    rng = random.Random(prefix)
    sent = accepted = rejected = calls = 0
    failures: dict[str, int] = {}
    base = datetime.now(UTC) - timedelta(days=2)
    while time.monotonic() < deadline:
        batch = []
        for _ in range(batch_calls):
            calls += 1
            batch += _call_events(f"{prefix}-{calls}", base + timedelta(seconds=calls * 7), rng.choice(agents), rng)
        rng.shuffle(batch)
        body = batch if batch_calls > 1 or len(batch) > 1 else batch[0]
        if batch_calls == 1:
            for item in batch:
                status, result = await client.request("POST", "/api/cti/events/", item)
                if status != 200:  # which answers failed, for the note
                    code = (result.get("error") or {}).get("code", "")
                    failures[f"{status} {code}".strip()] = failures.get(f"{status} {code}".strip(), 0) + 1
                accepted += result.get("accepted", 0)
                rejected += result.get("rejected", 0)
                sent += 1
            continue
        result = await client.post("/api/cti/events/", body)
        accepted += result.get("accepted", 0)
        rejected += result.get("rejected", 0)
        sent += len(batch)
    return {"sent": sent, "accepted": accepted, "rejected": rejected, "calls": calls, "failures": failures}


async def _ingest(port: int, fixture: dict, *, batch_calls: int, seconds: float, tag: str) -> dict:
    clients = [Http(port, fixture["switch"]) for _ in range(CONNECTIONS)]
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    counts = await asyncio.gather(
        *(
            _ingest_loop(c, deadline, fixture["agents_for_history"], f"{tag}-{i}", batch_calls)
            for i, c in enumerate(clients)
        )
    )
    elapsed = time.monotonic() - started
    latencies = [v for c in clients for v in c.latencies]
    return {
        "events_per_s": sum(c["accepted"] for c in counts) / elapsed,
        "elapsed": elapsed,
        "latencies": latencies,
        "p99_ms": percentile(latencies, 0.99),
        "calls": sum(c["calls"] for c in counts),
        "rejected": sum(c["rejected"] for c in counts),
        "errors": sum(c.errors for c in clients),
        "failures": _merged(c["failures"] for c in counts),
    }


def _merged(parts) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for key, count in part.items():
            total[key] = total.get(key, 0) + count
    return total


async def _ingest_single(port: int, fixture: dict, *, seconds: float) -> dict:
    """One event per request (as switches send them) and the one-row UPDATE baseline view, in
    alternating windows (B S S B ...) of ``seconds / SINGLE_ROUNDS`` each."""
    window = seconds / SINGLE_ROUNDS
    single = {"accepted": 0, "elapsed": 0.0, "latencies": [], "calls": 0, "rejected": 0, "errors": 0, "failures": {}}
    base = {"requests": 0, "elapsed": 0.0, "latencies": [], "errors": 0}
    cpu = {kind: {"server": 0.0, "postgres": 0.0} for kind in ("single", "baseline")}
    for number in range(SINGLE_ROUNDS):
        order = ("baseline", "single") if number % 2 == 0 else ("single", "baseline")
        for kind in order:
            before = cpu_seconds(_server["pid"]) if _server else None
            if kind == "single":
                part = await _ingest(port, fixture, batch_calls=1, seconds=window, tag=f"single{number}")
                single["accepted"] += part["events_per_s"] * part["elapsed"]
                single["elapsed"] += part["elapsed"]
                single["latencies"] += part["latencies"]
                for key in ("calls", "rejected", "errors"):
                    single[key] += part[key]
                single["failures"] = _merged([single["failures"], part["failures"]])
            else:
                clients = [Http(port, fixture["switch"]) for _ in range(CONNECTIONS)]
                started = time.monotonic()
                counts = await asyncio.gather(*(baseline_loop(c, started + window) for c in clients))
                base["elapsed"] += time.monotonic() - started
                base["requests"] += sum(counts)
                base["latencies"] += [v for c in clients for v in c.latencies]
                base["errors"] += sum(c.errors for c in clients)
            if before is not None:
                after = cpu_seconds(_server["pid"])
                for side in ("server", "postgres"):
                    cpu[kind][side] += after[side] - before[side]
    requests = {"single": max(single["accepted"], 1), "baseline": max(base["requests"], 1)}
    return {
        "events_per_s": single["accepted"] / single["elapsed"],
        "p99_ms": percentile(single["latencies"], 0.99),
        "calls": single["calls"],
        "rejected": single["rejected"],
        "errors": single["errors"],
        "failures": single["failures"],
        "baseline_rps": base["requests"] / base["elapsed"],
        "baseline_p99_ms": percentile(base["latencies"], 0.99),
        "baseline_errors": base["errors"],
        # CPU ms per request of the server's workers and of PostgreSQL (this machine's: other
        # work on it counts too), per kind: steadier than throughput on a shared machine.
        "cpu_ms": {kind: {side: v * 1000 / requests[kind] for side, v in sides.items()} for kind, sides in cpu.items()},
    }


# --- 2. screen-pop latency ----------------------------------------------------------------------------


async def _collect(sock, inbox: asyncio.Queue) -> None:
    try:
        async for raw in sock:
            await inbox.put((time.perf_counter(), json.loads(raw)))
    except Exception:  # noqa: BLE001 - the socket closed at the end of the run
        return


async def _screen_pops(http_port: int, ws_port: int, fixture: dict) -> dict:
    switch = Http(http_port, fixture["switch"])
    agents = fixture["agents"]
    sockets, inboxes, readers = {}, {}, []
    for username, token in agents.items():
        sock = await _socket(ws_port, f"/ws/agent/?token={token}")
        inbox: asyncio.Queue = asyncio.Queue()
        sockets[username], inboxes[username] = sock, inbox
        readers.append(asyncio.create_task(_collect(sock, inbox)))
    for token in agents.values():
        await Http(http_port, token).post("/api/agents/me/state/", {"state": "ready"})
    await asyncio.sleep(1)
    for inbox in inboxes.values():
        while not inbox.empty():
            inbox.get_nowait()

    waiting: dict[str, asyncio.Future] = {}

    async def route_messages(username: str) -> None:
        inbox = inboxes[username]
        while True:
            at, message = await inbox.get()
            if message.get("type") == "call.offered" and message["call_id"] in waiting:
                future = waiting.pop(message["call_id"])
                if not future.done():
                    future.set_result((at, username, message))

    routers = [asyncio.create_task(route_messages(u)) for u in agents]
    latencies: list[float] = []
    missed = 0
    signal_wired = fixture["signal_wired"]

    async def one_call(n: int) -> None:
        nonlocal missed
        call_id = f"pop-{n}"
        card = fixture["cards"][n % len(fixture["cards"])]
        await switch.post("/api/ivr/calls/", {"call_id": call_id, "ani": "13900000000", "dnis": "96123"})
        for seq, digits in enumerate(["1", card, PIN], start=1):
            await switch.post(f"/api/ivr/calls/{call_id}/events/", {"seq": seq, "type": "digits", "digits": digits})
        future = asyncio.get_running_loop().create_future()
        waiting[call_id] = future
        started = time.perf_counter()
        answer = await switch.post(f"/api/ivr/calls/{call_id}/events/", {"seq": 4, "type": "digits", "digits": "0"})
        if not signal_wired:
            queue = (answer.get("actions") or [{}])[-1].get("queue", "general")
            now = datetime.now(UTC).isoformat()
            await switch.post(
                "/api/cti/events/",
                [
                    {"event_id": f"{call_id}-o", "call_id": call_id, "type": "offered", "ts": now},
                    {"event_id": f"{call_id}-q", "call_id": call_id, "type": "queued", "ts": now, "queue": queue},
                ],
            )
        try:
            at, username, message = await asyncio.wait_for(future, timeout=10)
        except TimeoutError:
            missed += 1
            waiting.pop(call_id, None)
            return
        latencies.append((at - started) * 1000)
        if not message.get("customer"):
            missed += 1
        agent = Http(http_port, agents[username])
        for action in ("answer", "hangup"):
            await agent.post(f"/api/calls/{call_id}/{action}/")
        await agent.post(f"/api/calls/{call_id}/wrapup/", {"disposition": "resolved"})

    tasks = []
    for n in range(POPS):
        tasks.append(asyncio.create_task(one_call(n)))
        await asyncio.sleep(1 / POP_RATE)
    await asyncio.gather(*tasks)
    for task in routers + readers:
        task.cancel()
    for sock in sockets.values():
        await sock.close()
    return {
        "n": len(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "median_ms": statistics.median(latencies) if latencies else float("nan"),
        "missed": missed,
        "path": "IVR transfer" if signal_wired else "IVR transfer + CTI queued",
    }


async def _bare_group_send(ws_port: int, env: dict) -> dict:
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[env["REDIS_URL"]], prefix=env["CHANNELS_PREFIX"])
    sockets, inboxes, readers = [], [], []
    for _ in range(AGENTS):
        sock = await _socket(ws_port, "/ws/bench/")
        inbox: asyncio.Queue = asyncio.Queue()
        sockets.append(sock)
        inboxes.append(inbox)
        readers.append(asyncio.create_task(_collect(sock, inbox)))
    await asyncio.sleep(1)
    latencies: list[float] = []
    for n in range(POPS):
        sent = time.perf_counter()
        await layer.group_send("bench", {"type": "bench.message", "n": n})
        for inbox in inboxes:
            try:
                at, _message = await asyncio.wait_for(inbox.get(), timeout=5)
                latencies.append((at - sent) * 1000)
            except TimeoutError:
                pass
        await asyncio.sleep(1 / POP_RATE)
    for task in readers:
        task.cancel()
    for sock in sockets:
        await sock.close()
    return {
        "n": POPS,
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "median_ms": statistics.median(latencies) if latencies else float("nan"),
    }


# --- 3. wallboard staleness ---------------------------------------------------------------------------


async def _wallboard(http_port: int, ws_port: int, fixture: dict, seconds: float) -> dict:
    sock = await _socket(ws_port, f"/ws/wallboard/?token={fixture['lead']}")
    inbox: asyncio.Queue = asyncio.Queue()
    reader = asyncio.create_task(_collect(sock, inbox))
    await inbox.get()  # the snapshot on connect
    switch = Http(http_port, fixture["switch"])
    deadline = time.monotonic() + seconds
    probes: list[float] = []  # when the n-th probe's POST returned
    sent = 0

    async def load() -> None:
        nonlocal sent
        n = 0
        per_tick = EVENTS_PER_S // 10
        while time.monotonic() < deadline:
            tick = time.monotonic()
            batch = []
            now = datetime.now(UTC)
            for _ in range(per_tick // 2):
                n += 1
                call_id = f"load-{n}"
                batch.append(
                    {
                        "event_id": f"{call_id}-q",
                        "call_id": call_id,
                        "type": "queued",
                        "ts": now.isoformat(),
                        "queue": "load",
                    }
                )
                if n > 20:
                    old = f"load-{n - 20}"
                    batch.append({"event_id": f"{old}-e", "call_id": old, "type": "ended", "ts": now.isoformat()})
            await switch.post("/api/cti/events/", batch)
            sent += len(batch)
            await asyncio.sleep(max(0.1 - (time.monotonic() - tick), 0))

    async def probe() -> None:
        n = 0
        while time.monotonic() < deadline - 1:
            n += 1
            call_id = f"probe-{n}"
            await switch.post(
                "/api/cti/events/",
                {
                    "event_id": f"{call_id}-q",
                    "call_id": call_id,
                    "type": "queued",
                    "ts": datetime.now(UTC).isoformat(),
                    "queue": "probe",
                },
            )
            probes.append(time.perf_counter())
            await asyncio.sleep(0.5)

    started = time.monotonic()
    await asyncio.gather(load(), probe())
    await asyncio.sleep(2)
    elapsed = time.monotonic() - started
    reader.cancel()
    await sock.close()
    messages = []
    while not inbox.empty():
        messages.append(inbox.get_nowait())
    staleness = []
    seen = 0
    for at, message in messages:
        if message.get("type") != "wallboard":
            continue
        waiting = next((q["waiting"] for q in message["queues"] if q["code"] == "probe"), 0)
        while seen < waiting and seen < len(probes):
            staleness.append(max(at - probes[seen], 0.0))
            seen += 1
    return {
        "p95_s": percentile(staleness, 0.95),
        "max_s": max(staleness) if staleness else float("nan"),
        "messages_per_s": sum(1 for _at, m in messages if m.get("type") == "wallboard") / elapsed,
        "events_per_s": sent / (elapsed - 2),
        "probes": len(probes),
    }


async def _measure_all(http_port: int, ws_port: int, fixture: dict, env: dict) -> dict:
    results = {}
    await _ingest(http_port, fixture, batch_calls=BATCH_CALLS, seconds=2, tag="warm")
    if "batch" in PARTS:
        results["ingest"] = await _ingest(http_port, fixture, batch_calls=BATCH_CALLS, seconds=SECONDS, tag="batch")
    if "single" in PARTS:
        results["ingest_single"] = await _ingest_single(http_port, fixture, seconds=SECONDS)
    if "pop" in PARTS:
        results["bare"] = await _bare_group_send(ws_port, env)
        results["pop"] = await _screen_pops(http_port, ws_port, fixture)
    if "wallboard" in PARTS:
        results["wallboard"] = await _wallboard(http_port, ws_port, fixture, SECONDS)
    return results


# --- the servers: this module is also the WSGI and ASGI application they serve ------------------------


def _wsgi():
    import django
    from django.conf import settings

    django.setup()
    # The bench URLconf adds the baseline view in front of the project's URLs.
    settings.ROOT_URLCONF = "bench.bench_calls"
    use_fast_hashers()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _asgi():
    import django
    from django.core.asgi import get_asgi_application

    django.setup()
    use_fast_hashers()
    http = get_asgi_application()
    from channels.generic.websocket import AsyncJsonWebsocketConsumer
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import path

    from contactcenter.routing import websocket_urlpatterns
    from contactcenter.ws_auth import SessionOrTokenAuthMiddleware

    class BareConsumer(AsyncJsonWebsocketConsumer):
        """The baseline: join a group, relay what it gets; no auth, no database."""

        async def connect(self):
            await self.channel_layer.group_add("bench", self.channel_name)
            await self.accept()

        async def bench_message(self, message):
            await self.send_json(message)

    routes = [*websocket_urlpatterns, path("ws/bench/", BareConsumer.as_asgi())]
    return ProtocolTypeRouter({"http": http, "websocket": SessionOrTokenAuthMiddleware(URLRouter(routes))})


_cache: dict = {}


def __getattr__(name: str):
    # PEP 562: the servers import ``wsgi_application`` / ``asgi_application`` lazily, so that
    # importing this module for ``make bench`` needs no Django settings.
    if name == "wsgi_application":
        _cache.setdefault(name, _wsgi())
        return _cache[name]
    if name == "asgi_application":
        _cache.setdefault(name, _asgi())
        return _cache[name]
    if name == "urlpatterns":
        from django.urls import include, path

        _cache.setdefault(name, [*baseline_urlpatterns(), path("", include("contactcenter.urls"))])
        return _cache[name]
    raise AttributeError(name)


# --- setup (child process on the throw-away database) --------------------------------------------------


def _setup() -> None:
    import django

    django.setup()
    use_fast_hashers()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from agents.models import AgentSkill, AgentState, AgentStatus
    from calls.demo import ensure_default_queues
    from calls.models import Queue
    from ivr.demo import seed_default_menu
    from org.models import StaffProfile
    from org.roles import Role

    call_command("migrate", verbosity=0)
    create_counter_table()
    seed_default_menu()
    queues = ensure_default_queues()
    for code in ("load", "probe"):
        Queue.objects.create(code=code, name=code, name_en=code, position=90, callback_offer_after_s=None)
    users = get_user_model()

    def staff(username: str, role: str):
        user = users.objects.create_user(username)
        StaffProfile.objects.create(user=user, role=role, extension=f"8{users.objects.count():03d}")
        return user, Token.objects.create(user=user).key

    _switch, switch_token = staff("bench-switch", Role.SWITCH)
    _lead, lead_token = staff("bench-lead", Role.TEAM_LEAD)
    agents = {}
    now = datetime.now(UTC)
    for n in range(1, AGENTS + 1):
        user, token = staff(f"bench-agent{n:02d}", Role.AGENT)
        AgentSkill.objects.create(agent=user, queue=queues["general"], level=3)
        AgentStatus.objects.create(user=user, state=AgentState.OFFLINE, since=now)
        agents[user.username] = token
    history_agents = []
    for n in range(1, 11):
        user, _token = staff(f"bench-history{n:02d}", Role.AGENT)
        history_agents.append(user.username)
    cards = phone_banking_cards(CUSTOMERS, PIN)
    try:
        import ivr.signals  # noqa: F401

        signal_wired = True
    except ImportError:
        signal_wired = False
    print(
        json.dumps(
            {  # noqa: T201
                "switch": switch_token,
                "lead": lead_token,
                "agents": agents,
                "agents_for_history": history_agents,
                "cards": cards,
                "signal_wired": signal_wired,
            }
        )
    )


if __name__ == "__main__":
    if "--setup" in sys.argv:
        sys.path.insert(0, str(ROOT))
        _setup()
    else:
        from bench.__main__ import print_table

        print_table(run())
