"""What banking needs from the call side, plugged in by calls (``calls/apps.py``).

An agent changes a customer's 短信通 only on their own call in hand with an identified caller
(``POST /api/banking/accounts/{id}/sms-notice/``). Calls sit above banking, so banking asks
through this port instead of importing calls. ``register`` is called once at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CallFacts:
    """One call as an agent's banking request sees it."""

    call_id: str
    agent_id: int | None  # the agent holding the call now
    in_hand: bool  # connected, or ended and still in after-call work
    customer_id: int | None  # the customer identified on the call
    identified_by: str  # "ivr" (verified in the IVR), "agent" (linked by the agent), "" (not identified)
    is_test: bool  # the IVR simulator's test call: never changes banking state (DESIGN.md §5)


_call_facts: list[Callable[[str], CallFacts | None]] = []


def register(*, call_facts: Callable[[str], CallFacts | None]) -> None:
    """``call_facts(call_id)`` → the call's facts, ``None`` for an unknown call."""
    _call_facts[:] = [call_facts]


def call_facts(call_id: str) -> CallFacts | None:
    """The facts of call ``call_id``; ``None`` for no call id, an unknown call, or no call side."""
    if not call_id or not _call_facts:
        return None
    return _call_facts[0](call_id)
