"""Pushes of a settlement batch's progress to its page (``banking.consumers``): the group name and
the one ``group_send`` helper. Banking sits below calls (import-linter), so it does not use
``calls.realtime``; the message has the same shape (``{"type": "relay", "payload": ...}``)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def batch_group(batch_id: int) -> str:
    return f"banking.batch.{int(batch_id)}"


def push(group: str, payload: dict[str, Any]) -> None:
    """Send ``payload`` to everyone watching; a failure is logged, never raised into the run (the
    page reloads the figures when its socket reconnects). Pushes are throttled by the caller (one
    a second at most), so a new event loop per call is cheap enough."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "relay", "payload": payload})
    except Exception:
        logger.exception("push to %s failed", group)
