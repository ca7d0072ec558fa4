"""Pushes to screens: group names, the one ``group_send`` helper and the wallboard's change
counter. A leaf: it imports no app's models, selectors or services.

One path from a database write to a screen: a service registers a push ``on_commit`` → after
commit the payload is built with the REST API's serializers (by the caller:
``calls.services.events`` for calls, ``calls.agents_side`` for agents' states and callbacks) →
``push`` → the group → the consumer relays it to the browser.

Agents get their own messages at once (group ``agent.<user id>``: ``call.offered``,
``call.updated``, ``call.withdrawn``, ``agent.state``, ``callbacks.changed``). The wallboard is
coalesced: writers only bump a change counter (``wallboard_changed``); the per-process ticker of
the websocket processes (``calls.dispatch.Ticker``) sends at most one snapshot per
``CALLS_WALLBOARD_INTERVAL_S`` to the ``wallboard`` group.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.cache import cache

logger = logging.getLogger(__name__)

WALLBOARD_GROUP = "wallboard"
VERSION_KEY = "calls:wallboard:version"
SENT_KEY = "calls:wallboard:sent"
SLOT_KEY = "calls:wallboard:slot:{slot}"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


def relay_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer message every consumer relays as is (``type`` names its handler)."""
    return {"type": "relay", "payload": payload}


PUSH_TIMEOUT_S = 5.0


def push(group: str, payload: dict[str, Any]) -> None:
    """Send ``payload`` to everyone in ``group``. Runs after commit: a failure is logged, never
    raised into the request that caused it (the desktop resyncs on reconnect).

    Outside an event loop (gunicorn's workers, Celery, commands) the send runs on this process's
    push loop (``_push_loop``): ``async_to_sync`` would start a new event loop per call, and
    channels_redis keeps its connections per loop, so every push paid a new Redis connection
    (about 10 ms, issue 12). Sync code that an ASGI server runs in its thread pool reaches the
    server's own loop with ``async_to_sync``, as does the in-memory layer (its queues belong to
    the loop of the consumers that read them)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = relay_message(payload)
    try:
        if isinstance(layer, InMemoryChannelLayer) or _under_event_loop():
            async_to_sync(layer.group_send)(group, message)
        else:
            future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _push_loop())
            future.result(timeout=PUSH_TIMEOUT_S)
    except Exception:
        logger.exception("push to %s failed", group)


def _under_event_loop() -> bool:
    """Whether this thread runs in an event loop or in the thread pool of one (ASGI)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # asgiref leaves the thread-local behind after the loop is gone: only a running one counts.
        if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
            return False
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
        return loop is not None and loop.is_running()
    return True


_push_loops: dict[int, asyncio.AbstractEventLoop] = {}
_push_loops_lock = threading.Lock()


def _push_loop() -> asyncio.AbstractEventLoop:
    """This process's push loop: one event loop on a daemon thread, started at the first push
    (per process id: a forked worker starts its own, the parent's thread did not survive the fork)."""
    pid = os.getpid()
    loop = _push_loops.get(pid)
    if loop is not None:
        return loop
    with _push_loops_lock:
        loop = _push_loops.get(pid)
        if loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="realtime-push", daemon=True).start()
            _push_loops.clear()
            _push_loops[pid] = loop
    return loop


# --- the wallboard's change counter ----------------------------------------------------------------


def wallboard_changed() -> None:
    """Count a change for the wallboard flusher (cheap: no message is sent here)."""
    try:
        from django.core.cache import caches
        from django.core.cache.backends.redis import RedisCache

        backend = caches["default"]
        if isinstance(backend, RedisCache):
            # One INCR (it creates the counter): Django's ``add`` + ``incr`` are three round trips
            # (SET NX, EXISTS, INCR) on every event. The value stays readable by ``cache.get``
            # (integers are stored as they are).
            key = backend.make_and_validate_key(VERSION_KEY)
            backend._cache.get_client(key, write=True).incr(key)  # type: ignore[attr-defined]  # private client, not in the stubs
        elif not cache.add(VERSION_KEY, 1, timeout=None):
            cache.incr(VERSION_KEY)
    except Exception:
        logger.exception("wallboard change counter failed")
