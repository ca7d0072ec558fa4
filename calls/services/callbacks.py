"""A waiting caller accepts the callback the queue offered: agents open the task
(``agents.services.callback_request``), the call ends with reason ``callback``."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import Callback
from agents.selectors import callback_open_for_call
from agents.services import callback_request
from core.api.telephony import ani_digits
from core.db import retry_on_conflict

from .. import errors
from ..locks import lock_call
from ..models import Call, CallState, EventSource, EventType
from .events import NewEvent, record

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@retry_on_conflict
def call_callback_accept(
    *, call_id: str, phone: str = "", actor: AbstractBaseUser | AnonymousUser | None = None
) -> Callback:
    """The waiting caller accepted the callback offer: a callback task is opened for the call's
    queue and the call ends (reason ``callback``). Accepting twice returns the same task."""
    now = timezone.now()
    with transaction.atomic():
        existing = Call.objects.filter(call_id=call_id).first()
        if existing is None:
            raise errors.CallNotFound()
        call = cast(Call, lock_call(existing.pk))  # just read: the row exists
        if call.is_test:  # only the switch accepts callbacks, and a test call is not its call
            raise errors.CallNotFound()
        open_callback = callback_open_for_call(call.pk)
        if open_callback is not None:
            return open_callback
        if call.state != CallState.QUEUED or call.callback_offered_at is None:
            raise errors.NoCallbackOffer()
        callback = callback_request(
            call=call,
            phone=(phone or ani_digits(call.ani))[:32],  # a sip:/tel: ANI: the number to dial back
            customer_id=call.customer_id,
            queue_id=cast(int, call.queue_id or call.entry_queue_id),  # a queued call has a queue
            due_at=now,
            created_by=cast("User | None", actor if getattr(actor, "is_authenticated", False) else None),
            note=_("The caller accepted a callback after waiting in the queue."),
        )
        event = NewEvent(
            event_id=f"sys:{call.call_id}:callback",
            call_id=call.call_id,
            type=EventType.ENDED,
            ts=now,
            source=EventSource.SYSTEM,
            data={"reason": "callback"},
        )
        record(call.pk, [event], now=now)
        return callback
