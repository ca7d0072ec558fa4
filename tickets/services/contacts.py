"""Contacts: a consultation, complaint or suggestion recorded (state ``new``), and linked to its
customer once the caller is identified."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record

from .. import call_port, errors, policy
from ..events import snapshot, ticket_event_record
from ..locks import lock_ticket
from ..models import TERMINAL_STATES, Category, ContactKind, Ticket
from .common import clean_text, refuse, resolve_now

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from banking.models import Account, Customer

# A client clock slightly ahead of ours is not a complaint "from the future".
RECEIVED_CLOCK_TOLERANCE = timedelta(minutes=2)


@transaction.atomic
def ticket_create(
    *,
    actor: User,
    kind: str,
    category: str,
    description: str,
    customer: Customer | None = None,
    account: Account | None = None,
    call_id: str = "",
    caller_number: str = "",
    received_at: datetime | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Record a consultation, complaint or suggestion (state ``new``). The caller's number is the
    call's (ANI) whenever the call is known; ``caller_number`` is for contacts without a call."""
    refuse(policy.record_refusal(actor))
    now = resolve_now(now)
    if kind not in ContactKind.values:
        raise errors.InvalidInput("Unknown kind of contact.", code="unknown_kind")
    if category not in Category.values:
        raise errors.InvalidInput("Unknown category.", code="unknown_category")
    description = clean_text(description, "description")
    if received_at is None:
        received_at = now
    elif timezone.is_naive(received_at):
        raise errors.InvalidInput("received_at: give a time with its UTC offset.")
    if received_at > now + RECEIVED_CLOCK_TOLERANCE:
        raise errors.ReceivedInFuture()
    received_at = min(received_at, now)
    if account is not None:
        if account.is_internal or (customer is not None and account.customer_id != customer.pk):
            raise errors.UnknownAccount()
        customer = customer or account.customer
    call_id = str(call_id or "")[:128]
    caller_number = (call_port.caller_number_of(call_id) or str(caller_number or "").strip())[:255]
    ticket = Ticket.objects.create(
        kind=kind,
        category=category,
        description=description,
        customer=customer,
        account=account,
        call_id=call_id,
        caller_number=caller_number,
        received_at=received_at,
        created_at=now,
        created_by=actor,
    )
    ticket_event_record(
        ticket=ticket,
        action="create",
        actor=actor,
        after={
            **snapshot(ticket, ["state", "kind", "category", "received_at", "caller_number"]),
            "customer": str(customer) if customer is not None else None,
        },
        at=now,
    )
    return ticket


@transaction.atomic
def ticket_customer_link(
    *, ticket: Ticket, actor: User, customer: Customer | None, call_id: str = "", now: datetime | None = None
) -> Ticket:
    """Link the contact to its customer (an unknown caller identified, or the wrong one corrected).
    The account concerned is kept only when it is the new customer's. Refused once an adjustment is
    posted or waiting for approval (the money goes to that customer's account)."""
    now = resolve_now(now)
    ticket = lock_ticket(ticket.pk)
    refuse(policy.customer_link_refusal(actor, ticket))
    if customer is None:
        raise errors.UnknownCustomer()
    if ticket.customer_id == customer.pk:
        return ticket
    before_id = ticket.customer_id
    before = {"customer": str(ticket.customer) if before_id else None}
    ticket.customer = customer
    if ticket.account is not None and ticket.account.customer_id != customer.pk:
        ticket.account = None
    ticket.save(update_fields=["customer", "account", "updated_at"])
    ticket_event_record(
        ticket=ticket,
        action="customer_link",
        actor=actor,
        before=before,
        after={"customer": str(customer)},
        note=f"call {call_id}" if call_id else "",
        at=now,
    )
    audit_record(
        actor=actor,
        action="tickets.customer_link",
        obj=ticket,
        object_type="ticket",
        details={"customer": customer.pk, "before": before_id, "call_id": call_id},
    )
    return ticket


def tickets_customer_link_for_call(*, actor: User, call_id: str, customer: Customer) -> list[Ticket]:
    """For "this is the caller" on the desktop: the contacts already recorded for the call and not
    linked to this customer yet are linked (each audited); closed or withdrawn ones are left alone."""
    linked: list[Ticket] = []
    if not call_id:
        return linked
    for ticket in Ticket.objects.filter(call_id=call_id).exclude(state__in=sorted(TERMINAL_STATES)).order_by("pk"):
        if ticket.customer_id != customer.pk:
            linked.append(ticket_customer_link(ticket=ticket, actor=actor, customer=customer, call_id=call_id))
    return linked
