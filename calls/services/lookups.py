"""Per-process look-ups of the call flow: queue ids by code (queues change rarely) and agents'
user ids by username (every ringing and answered CTI event names one), and a call by its id."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.contrib.auth import get_user_model

from core import rows

from .. import errors
from ..models import Call, Queue

User = get_user_model()


# --- queue lookups (queues change rarely; a short per-process cache) ------------------------------

_queue_cache: dict[str, Any] = {"at": 0.0, "by_code": {}, "by_id": {}}
_queue_cache_lock = threading.Lock()
QUEUE_CACHE_S = 10.0


def queues_by_code(*, refresh: bool = False) -> dict[str, int]:
    with _queue_cache_lock:
        if refresh or time.monotonic() - _queue_cache["at"] > QUEUE_CACHE_S:
            rows = list(Queue.objects.values_list("code", "id"))
            _queue_cache["by_code"] = dict(rows)
            _queue_cache["by_id"] = {pk: code for code, pk in rows}
            _queue_cache["at"] = time.monotonic()
        return _queue_cache["by_code"]


def queue_cache_clear(**_kwargs: Any) -> None:
    """Forget the queue ids (connected to ``Queue`` saves and deletes)."""
    with _queue_cache_lock:
        _queue_cache["at"] = 0.0


def queue_id_for(code: str) -> int | None:
    """The id of queue ``code`` (re-reading the table once when the code is new to this process)."""
    if not code:
        return None
    pk = queues_by_code().get(code)
    if pk is None:
        pk = queues_by_code(refresh=True).get(code)
    return pk


def queue_code_for(pk: int | None) -> str:
    if pk is None:
        return ""
    queues_by_code()
    code = _queue_cache["by_id"].get(pk)
    if code is None:
        queues_by_code(refresh=True)
        code = _queue_cache["by_id"].get(pk, "")
    return code


# --- agents' ids by username (a CTI event names its agent; a short per-process cache) -------------

_agent_ids: dict[str, tuple[int, float]] = {}
AGENT_CACHE_S = 30.0
AGENT_CACHE_MAX = 5000


def agent_ids_for(usernames: set[str]) -> dict[str, int]:
    """The user ids of the known ``usernames`` (unknown ones left out). A name seen in the last
    ``AGENT_CACHE_S`` seconds is not read again (every ringing and answered event names one);
    a user saved or deleted in this process is forgotten at once (``agent_cache_clear``), other
    processes forget it within the window. Unknown names are never cached: a new agent is found
    at their first event."""
    if not usernames:
        return {}
    now = time.monotonic()
    found: dict[str, int] = {}
    missing = set()
    for name in usernames:
        cached = _agent_ids.get(name)
        if cached is not None and now - cached[1] < AGENT_CACHE_S:
            found[name] = cached[0]
        else:
            missing.add(name)
    if not missing:
        return found
    if len(missing) == 1:
        # One name (a single CTI event): one prepared statement (``core.rows``).
        (name,) = missing
        table = rows._quote(User._meta.db_table)
        row = rows.select_one(User, f"{table}.{rows._quote('username')} = %s", [name])
        read = {name: row[0].pk} if row else {}
    else:
        read = dict(User.objects.filter(username__in=missing).values_list("username", "pk"))
    if len(_agent_ids) + len(read) > AGENT_CACHE_MAX:
        _agent_ids.clear()
    for name, pk in read.items():
        _agent_ids[name] = (pk, now)
    return {**found, **read}


def agent_cache_clear(**_kwargs: Any) -> None:
    """Forget the agents' ids (connected to user saves and deletes)."""
    _agent_ids.clear()


def call_by_id(call_id: str) -> Call:
    call = Call.objects.filter(call_id=call_id).first()
    if call is None:
        raise errors.CallNotFound()
    return call
