"""The calls app's side of the agents app (connected in ``calls/apps.py``).

Agents never import calls: they announce changes (``agents.signals``) and ask for what only the
call side can do through ``agents.call_port``. Here calls answers both: it pushes an agent's new
state and the callbacks' changes to the screens, requests a routing pass when an agent may now
take a call, and plugs in the call-side functions the agents app needs.
"""

from __future__ import annotations

from typing import Any

from agents.call_port import CallSide
from agents.selectors import agent_state_payload, callback_subscribers

from . import dispatch, realtime
from .locks import lock_call
from .models import Disposition
from .outbound import dialer
from .selectors import call_get, queue_list, screen_pop
from .serializers import CallDetailSerializer
from .services.events import routing_request
from .services.routing import call_auto_wrapup, call_offer_withdraw


def on_agent_changed(sender: Any = None, *, user_id: int, routable: bool = False, **_kwargs: Any) -> None:
    """Receiver of ``agents.signals.agent_changed`` (after commit): the agent's desk gets their
    state, the wallboard counts a change; a ready agent or new skills may take a waiting call."""
    realtime.push(realtime.agent_group(user_id), agent_state_payload(user_id))
    realtime.wallboard_changed()
    if routable:
        routing_request()


def on_callbacks_changed(sender: Any = None, **_kwargs: Any) -> None:
    """Receiver of ``agents.signals.callbacks_changed`` (after commit): the wallboard and the
    desks of agents on shift reload their callbacks list."""
    realtime.push(realtime.WALLBOARD_GROUP, {"type": "callbacks.changed"})
    for user_id in callback_subscribers():
        realtime.push(realtime.agent_group(user_id), {"type": "callbacks.changed"})


def desk_calls(status, *, user) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The call ringing or connected at the agent's desk (its screen-pop) and the call in
    after-call work (as ``GET /api/calls/{id}/`` gives it)."""
    current = screen_pop(call_get(status.call.call_id), for_user=user) if status.call_id else None
    acw = CallDetailSerializer(call_get(status.acw_call.call_id)).data if status.acw_call_id else None
    return current, acw


def desktop_choices() -> dict[str, list[dict[str, str]]]:
    """The desktop's transfer queues and wrap-up dispositions (``auto`` is the system's)."""
    return {
        "queues": [{"value": q.code, "label": q.display_name} for q in queue_list()],
        "dispositions": [
            {"value": value, "label": str(label)} for value, label in Disposition.choices if value != Disposition.AUTO
        ],
    }


CALL_SIDE = CallSide(
    lock_call=lock_call,
    offer_withdraw=call_offer_withdraw,
    auto_wrapup=call_auto_wrapup,
    desk_calls=desk_calls,
    sweep_if_due=dispatch.sweep_if_due,
    desktop_choices=desktop_choices,
    reservation_release=dialer.reservation_release,
)
