"""Who sits at a desktop: the live ``/ws/agent/`` connections of each agent.

A desktop's socket registers itself when it connects (``connection_opened``), every
``AGENTS_PRESENCE_HEARTBEAT_S`` the websocket process refreshes its sockets
(``connections_refreshed``, from the per-process ticker), and a socket that closes removes
itself (``connection_closed``). Each entry expires ``PRESENCE_TTL_FACTOR`` heartbeats after its
last refresh, so a websocket process that was killed leaves no ghost connection behind: its
agents are disconnected at most that long after its last heartbeat.

Per agent the store keeps the set of live connections and the last time one was seen
(``last_seen``: a refresh, or the close of the last one). The sweep
(``agents.services.agents_disconnected_sweep``) sets an agent whose connections have all been
gone for ``AGENTS_DISCONNECT_OFFLINE_S`` offline (reason ``disconnected``); routing offers calls
only to agents with a live connection; a team lead cannot set an agent without one to ready.

Where it lives: full mode (``REDIS_URL``), Redis, shared by every process — a sorted set per
agent (member: the connection, score: its expiry) and a hash of last-seen times. Embedded
default: the process's cache, which is right because the embedded server serves every
websocket from one process. An agent this store never saw connect (e.g. driven through the API
by another process in the embedded default) is never offered a call, and is not set offline
by the sweep either: only a desktop that was there and went away is "disconnected".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

PRESENCE_TTL_FACTOR = 3
SEEN_TTL_S = 7 * 24 * 3600


def _clock() -> float:
    """Wall-clock seconds (shared by every process; tests move it)."""
    return time.time()


def _ttl() -> float:
    return float(settings.AGENTS_PRESENCE_HEARTBEAT_S) * PRESENCE_TTL_FACTOR


class _RedisStore:
    def __init__(self, url: str, prefix: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5)
        self.prefix = f"{prefix}:agents:presence"
        self.seen_key = f"{self.prefix}:seen"

    def _key(self, user_id: int) -> str:
        return f"{self.prefix}:{user_id}"

    def opened(self, user_id: int, conn: str, now: float) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(self._key(user_id), {conn: now + _ttl()})
        pipe.expire(self._key(user_id), int(_ttl()) + 5)
        pipe.hset(self.seen_key, str(user_id), now)
        pipe.expire(self.seen_key, SEEN_TTL_S)
        pipe.execute()

    def refreshed(self, conns: dict[str, int], now: float) -> None:
        if not conns:
            return
        pipe = self.client.pipeline(transaction=False)
        for conn, user_id in conns.items():
            pipe.zadd(self._key(user_id), {conn: now + _ttl()})
            pipe.expire(self._key(user_id), int(_ttl()) + 5)
        pipe.hset(self.seen_key, mapping={str(user_id): now for user_id in set(conns.values())})
        pipe.expire(self.seen_key, SEEN_TTL_S)
        pipe.execute()

    def closed(self, user_id: int, conn: str, now: float) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(self._key(user_id), conn)
        pipe.hset(self.seen_key, str(user_id), now)
        pipe.execute()

    def connected(self, user_ids: list[int], now: float) -> set[int]:
        pipe = self.client.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.zcount(self._key(user_id), now, "+inf")
        return {user_id for user_id, n in zip(user_ids, pipe.execute(), strict=True) if n}

    def last_seen(self, user_ids: list[int], now: float) -> dict[int, float]:
        """The last time each agent had a live connection (agents never seen are left out)."""
        if not user_ids:
            return {}
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self.seen_key, [str(user_id) for user_id in user_ids])
        for user_id in user_ids:
            pipe.zrange(self._key(user_id), -1, -1, withscores=True)
        seen, *newest = pipe.execute()
        out = {}
        for user_id, value, top in zip(user_ids, seen, newest, strict=True):
            if value is None:
                continue
            last = float(value)
            if top:  # an entry that expired unrefreshed (its process died): seen until its last refresh
                last = max(last, min(top[0][1], now) - _ttl())
            out[user_id] = last
        return out

    def reset(self) -> None:
        keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=500))
        if keys:
            self.client.delete(*keys)


class _CacheStore:
    """The embedded default: one cache entry, changed under a process lock (locmem is per process)."""

    KEY = "agents:presence"
    lock = threading.Lock()

    def _load(self) -> dict:
        return cache.get(self.KEY) or {"conns": {}, "seen": {}}

    def _save(self, data: dict) -> None:
        cache.set(self.KEY, data, timeout=SEEN_TTL_S)

    def opened(self, user_id: int, conn: str, now: float) -> None:
        with self.lock:
            data = self._load()
            data["conns"].setdefault(user_id, {})[conn] = now + _ttl()
            data["seen"][user_id] = now
            self._save(data)

    def refreshed(self, conns: dict[str, int], now: float) -> None:
        if not conns:
            return
        with self.lock:
            data = self._load()
            for conn, user_id in conns.items():
                data["conns"].setdefault(user_id, {})[conn] = now + _ttl()
                data["seen"][user_id] = now
            self._save(data)

    def closed(self, user_id: int, conn: str, now: float) -> None:
        with self.lock:
            data = self._load()
            data["conns"].get(user_id, {}).pop(conn, None)
            data["seen"][user_id] = now
            self._save(data)

    def connected(self, user_ids: list[int], now: float) -> set[int]:
        conns = self._load()["conns"]
        return {uid for uid in user_ids if any(exp >= now for exp in conns.get(uid, {}).values())}

    def last_seen(self, user_ids: list[int], now: float) -> dict[int, float]:
        data = self._load()
        out = {}
        for user_id in user_ids:
            if user_id not in data["seen"]:
                continue
            last = data["seen"][user_id]
            expiries = data["conns"].get(user_id, {}).values()
            if expiries:
                last = max(last, min(max(expiries), now) - _ttl())
            out[user_id] = last
        return out

    def reset(self) -> None:
        with self.lock:
            cache.delete(self.KEY)


_stores: dict[str, object] = {}
_stores_lock = threading.Lock()


def _store():
    url = settings.REDIS_URL
    key = url or "cache"
    store = _stores.get(key)
    if store is None:
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                if url:
                    prefix = settings.CACHES["default"].get("KEY_PREFIX") or "cc"
                    store = _RedisStore(url, prefix)
                else:
                    store = _CacheStore()
                _stores[key] = store
    return store


def connection_opened(user_id: int, conn: str) -> None:
    """A desktop socket ``conn`` (its channel name) of agent ``user_id`` connected."""
    _store().opened(user_id, conn, _clock())


def connections_refreshed(conns: dict[str, int]) -> None:
    """Heartbeat of a websocket process: ``{conn: user_id}`` of its live desktop sockets."""
    _store().refreshed(conns, _clock())


def connection_closed(user_id: int, conn: str) -> None:
    _store().closed(user_id, conn, _clock())


def connected(user_ids: Iterable[int]) -> set[int]:
    """The agents among ``user_ids`` with at least one live desktop connection."""
    wanted = sorted(set(user_ids))
    return _store().connected(wanted, _clock()) if wanted else set()


def is_connected(user_id: int) -> bool:
    return user_id in connected([user_id])


def disconnected_for(user_ids: Iterable[int]) -> dict[int, float]:
    """Seconds since each agent's last live connection, for the agents among ``user_ids`` that
    had one and have none now (agents connected now, or never seen, are left out)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    now = _clock()
    store = _store()
    live = store.connected(wanted, now)
    return {uid: max(now - seen, 0.0) for uid, seen in store.last_seen(wanted, now).items() if uid not in live}


def presence_reset() -> None:
    """Forget every connection (tests)."""
    _store().reset()
