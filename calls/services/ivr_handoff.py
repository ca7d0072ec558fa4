"""The IVR's hand-off: a caller the IVR transferred to an agent queue is queued and routed
(``ivr.signals.call_transferred_to_agent``), and the IVR simulator's caller hangs up a test call."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from core.db import retry_on_conflict

from .. import errors
from ..locks import lock_call
from ..models import Call, CallState, EventSource, EventType
from .events import NewEvent, ensure_calls, new_id, record
from .lookups import call_by_id, queue_id_for

logger = logging.getLogger(__name__)


def _ivr_started_at(call_id: str) -> datetime | None:
    from django.apps import apps

    ivr_call = apps.get_model("ivr", "IvrCall")
    return ivr_call.objects.filter(call_id=call_id).values_list("started_at", flat=True).first()


def call_enqueue_from_ivr(
    *,
    call_id: str,
    ani: str = "",
    dnis: str = "",
    queue: str = "",
    verified: bool = False,
    customer_id: int | None = None,
    account_id: int | None = None,
    path: list[str] | None = None,
    is_test: bool = False,
    **_ignored: Any,
) -> Call:
    """The IVR handed the caller to agent queue ``queue``: open or update the call, queue it and
    route it (an agent gets ``call.offered`` with the screen-pop). Idempotent per call and queue.
    ``is_test``: a call of the IVR simulator, routed the same way and marked as a test call
    (``Call.is_test``: shown on the screen-pop, left out of every KPI).

    An unknown queue falls back to ``CALLS_DEFAULT_QUEUE`` (logged). Called on commit of the
    IVR's transaction by the receiver of ``ivr.signals.call_transferred_to_agent``.
    """
    now = timezone.now()
    if queue_id_for(queue) is None:
        logger.warning("IVR call %s: unknown queue %r, using %s", call_id, queue, settings.CALLS_DEFAULT_QUEUE)
        queue = settings.CALLS_DEFAULT_QUEUE
        if queue_id_for(queue) is None:
            raise errors.UnknownQueue()
    test = {"test": True} if is_test else {}
    context = {
        "ani": str(ani or "")[:255],
        "dnis": str(dnis or "")[:255],
        "direction": "inbound",
        "verified": bool(verified),
        "path": [str(step) for step in (path or [])],
        "customer_id": customer_id if verified else None,
        "account_id": account_id if verified else None,
        **test,
    }
    events = [
        NewEvent(
            event_id=f"ivr:{call_id}:offered",
            call_id=call_id,
            type=EventType.OFFERED,
            ts=_ivr_started_at(call_id) or now,
            source=EventSource.IVR,
            data={"ani": context["ani"], "dnis": context["dnis"], "direction": "inbound", **test},
        ),
        NewEvent(
            event_id=f"ivr:{call_id}:queued:{queue}",
            call_id=call_id,
            type=EventType.QUEUED,
            ts=now,
            source=EventSource.IVR,
            queue=queue,
            data=context,
        ),
    ]
    pk = ensure_calls({call_id})[call_id]
    call, _inserted = record(pk, events, now=now)
    return call


def on_ivr_transfer(sender: object = None, **kwargs: Any) -> None:
    """Receiver of ``ivr.signals.call_transferred_to_agent`` (sent on the IVR's commit). A failure
    here must not turn the IVR's answer to the switch into an error: it is logged, and the
    switch's own CTI ``queued`` event queues the call anyway."""
    try:
        call_enqueue_from_ivr(**kwargs)
    except Exception:
        logger.exception("IVR transfer of call %s could not be queued", kwargs.get("call_id"))


def _test_call_owner_id(call_id: str) -> int | None:
    """Who started IVR test call ``call_id`` in the simulator (``None``: no such test call)."""
    from django.apps import apps

    ivr_call = apps.get_model("ivr", "IvrCall")
    return ivr_call.objects.filter(call_id=call_id, is_test=True).values_list("started_by_id", flat=True).first()


@retry_on_conflict
def call_tester_hangup(*, call_id: str, tester: AbstractBaseUser | AnonymousUser) -> Call:
    """The IVR simulator's caller hangs up a test call after the IVR handed it to a queue, where a
    switch would report the end with a CTI ``ended`` event: waiting, ringing or connected, the
    call ends (the agent who talked goes to after-call work). Only the tester who placed the call
    can; any other call, real ones included, is ``call_not_found``. Ending it again is harmless."""
    owner = _test_call_owner_id(call_id)
    if owner is None or owner != getattr(tester, "pk", None):
        raise errors.CallNotFound()
    now = timezone.now()
    with transaction.atomic():
        call = cast(Call, lock_call(call_by_id(call_id).pk))  # just read: the row exists
        if not call.is_test:
            raise errors.CallNotFound()
        if call.state == CallState.ENDED:
            return call
        event = NewEvent(
            event_id=new_id("sim"),
            call_id=call.call_id,
            type=EventType.ENDED,
            ts=now,
            source=EventSource.SYSTEM,
            data={"reason": "caller_hangup"},
        )
        call, _ids = record(call.pk, [event], now=now)
        return call
