"""Pushes of a settlement batch's progress to its page (``banking.consumers``): the group name and
the one ``group_send`` helper. Banking sits below calls (import-linter), so it does not use
``calls.realtime``; the message has the same shape (``{"type": "relay", "payload": ...}``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)


def batch_group(batch_id: int) -> str:
    return f"banking.batch.{int(batch_id)}"


PUSH_TIMEOUT_S = 5.0


def push(group: str, payload: dict[str, Any]) -> None:
    """Send ``payload`` to everyone watching; a failure is logged, never raised into the run (the
    page reloads the figures when its socket reconnects). Pushes are throttled by the caller (one
    a second at most).

    On Redis the send runs on a loop of its own in a thread of its own: ``async_to_sync`` from a
    pooled thread may find a loop another caller left behind in asgiref's thread-local and wait on
    it forever (a batch's run must never hang on its progress). The in-memory layer (the embedded
    default) is reached with ``async_to_sync``: its queues belong to the consumers' loop."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "relay", "payload": payload}
    try:
        if isinstance(layer, InMemoryChannelLayer):
            async_to_sync(layer.group_send)(group, message)
            return
        failure: list[BaseException] = []

        def send() -> None:
            try:
                asyncio.run(asyncio.wait_for(layer.group_send(group, message), PUSH_TIMEOUT_S))
            except BaseException as exc:  # reported below, in the caller's thread
                failure.append(exc)

        sender = threading.Thread(target=send, name="batch-progress-push", daemon=True)
        sender.start()
        sender.join(PUSH_TIMEOUT_S + 1)
        if sender.is_alive():
            raise TimeoutError(f"push to {group} took longer than {PUSH_TIMEOUT_S} s")
        if failure:
            raise failure[0]
    except Exception:
        logger.exception("push to %s failed", group)
