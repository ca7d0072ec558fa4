"""Test helpers of the calls and agents tests (fixtures: ``calls.tests.fixtures``)."""

from __future__ import annotations

import itertools
from datetime import datetime

from agents.models import AgentStatus

_ids = itertools.count(1)


def next_id() -> int:
    return next(_ids)


def event(call_id: str, type_: str, ts: datetime, **extra) -> dict:
    body = {
        "event_id": extra.pop("event_id", f"e-{next(_ids)}"),
        "call_id": call_id,
        "type": type_,
        "ts": ts.isoformat(),
    }
    body.update(extra)
    return body


def status_of(user) -> AgentStatus:
    return AgentStatus.objects.select_related("call").get(user=user)


def websocket_communicator_class():
    """``channels.testing.WebsocketCommunicator``. The ``channels.testing`` package also imports
    its live-server helper, which needs daphne (not installed: uvicorn serves websockets here); a
    placeholder module stands in for ``daphne.testing`` when daphne is absent."""
    import importlib.util
    import sys
    import types

    # (The placeholder has no spec: look it up only while no placeholder is installed.)
    if "daphne.testing" not in sys.modules and importlib.util.find_spec("daphne") is None:
        daphne = types.ModuleType("daphne")
        testing = types.ModuleType("daphne.testing")
        testing.DaphneProcess = type("DaphneProcess", (), {})
        daphne.testing = testing
        sys.modules.setdefault("daphne", daphne)
        sys.modules.setdefault("daphne.testing", testing)
    from channels.testing import WebsocketCommunicator

    return WebsocketCommunicator
