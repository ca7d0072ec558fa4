"""What the agents app needs from the call side, plugged in by calls (``calls/apps.py``).

Agents own their state and its rules; an agent's state change sometimes has to act on a call
(take back the offer ringing them, close forgotten after-call work), and the desktop shows the
calls at the agent's desk. Those belong to calls, which depends on agents — so agents asks
through this port instead of importing calls. ``register`` is called once at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CallSide:
    # Lock the call ``pk`` (``calls.locks``: calls before agents) → the call, or None.
    lock_call: Callable[[int], Any]
    # Take back the offer ringing ``agent_status``'s agent (keywords of
    # ``calls.services.routing.call_offer_withdraw``) → False when it no longer rings them.
    offer_withdraw: Callable[..., bool]
    # Close the after-call work of agent status ``status_pk`` (``status_pk=``, ``now=``).
    auto_wrapup: Callable[..., bool]
    # The agent's calls for their desk: (ringing or connected call as a screen-pop, call in
    # after-call work) as the REST API gives them; ``status`` is the agent's ``AgentStatus``.
    desk_calls: Callable[..., tuple[dict[str, Any] | None, dict[str, Any] | None]]
    # Run the routing sweep if it is due (the desktop's resync moves timed-out offers on).
    sweep_if_due: Callable[[], Any]
    # The desktop's choices from the call side: ``{"queues": [...], "dispositions": [...]}``.
    desktop_choices: Callable[[], dict[str, list[dict[str, str]]]]
    # An outbound dial reserved the agent (``ringing`` without a call: calls.outbound.dialer); a
    # state change of theirs gives that dial up (``status=`` the locked row, ``now=``).
    reservation_release: Callable[..., Any] | None = None


_side: list[CallSide] = []


def register(side: CallSide) -> None:
    _side[:] = [side]


def call_side() -> CallSide:
    if not _side:
        raise RuntimeError("The call side is not registered (calls/apps.py registers it at start-up).")
    return _side[0]
