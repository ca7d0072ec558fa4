"""The one interface every SMS gateway implements (issue 15; docs/notifications.md).

The delivery task hands a gateway one outbox row at a time as an ``OutgoingSms`` and records
what it answers. A gateway never touches the database: it returns, or raises one of the two
errors below, and reports delivery receipts through the callback it was given.

Exactly once: ``OutgoingSms.id`` (the outbox row's id) is the idempotency key. A gateway that
can be asked "did you take message <id>?" answers ``query``; the delivery task calls it for a row
found in ``sending`` after a crash before it resends anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutgoingSms:
    id: int  # the outbox row: the idempotency key
    phone: str  # as stored (mainland mobile, 11 digits, or +86…)
    text: str  # already rendered and checked by the outbox's guard


@dataclass(frozen=True)
class Submitted:
    gateway_id: str  # the gateway's message id (SMPP message_id; of the first segment if split)
    segments: int = 1


@dataclass(frozen=True)
class Receipt:
    """A delivery report: ``state`` is ``delivered`` or ``failed`` (the gateway's own status in
    ``detail``)."""

    gateway_id: str
    state: str
    at: datetime
    detail: str = ""


class GatewayError(Exception):
    """The gateway could not take the message now (timeout, link down, throttled): retry later.
    Whether it took the message is unknown when ``maybe_sent`` is true (a timeout after the
    request went out): the row must be reconciled before any resend."""

    def __init__(self, message: str, *, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class GatewayRejected(Exception):
    """The gateway refused the message for good (invalid number, barred): do not retry."""


ReceiptCallback = Callable[[Receipt], None]


class Gateway(Protocol):
    name: str
    # Whether ``query`` can tell if the gateway took a message by its id. A gateway that cannot
    # (SMPP names messages by its own ids only) leaves a row whose send outcome is unknown to the
    # maintainer instead of resending it.
    can_query: bool

    def send(self, message: OutgoingSms) -> Submitted:
        """Submit the message once; raise ``GatewayError`` or ``GatewayRejected``."""
        ...

    def query(self, message: OutgoingSms) -> Submitted | None:
        """Did the gateway take this message (by its id)? ``None`` when it did not; raise
        ``GatewayError`` when it cannot tell now."""
        ...
