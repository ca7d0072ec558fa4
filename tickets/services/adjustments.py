"""Adjustments (调账): the amount a unit confirmed, posted once to the customer's account through
the banking ledger, approved by the director above a threshold, or waived with a reason
(``policy`` holds the money rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from audit.services import audit_record

from .. import errors, policy
from ..events import ticket_event_record
from ..locks import lock_ticket
from ..models import AdjustmentStatus, State, Ticket, TicketAdjustment
from .common import clean_text, refuse, resolve_now
from .workflow import close_notice

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from banking.models import Account

ADJUSTMENT_MEMO = "工单{number}调账"  # ledger text, Chinese whatever the UI language


@dataclass(frozen=True)
class AdjustmentResult:
    adjustment: TicketAdjustment
    created: bool


def ticket_adjustment_post(
    *, ticket: Ticket, actor: User, account: Account | None = None, now: datetime | None = None
) -> AdjustmentResult:
    """Post the amount the unit confirmed to an account of the work order's customer, once per work
    order: the ticket row is locked, a second request finds the first adjustment and returns it;
    the ledger transaction carries the key ``ticket-adjustment:<id>`` as a second guard. An amount
    above ``TICKETS_ADJUSTMENT_APPROVAL_FEN`` is not posted but waits for the director
    (``pending_approval``). A work order awaiting its adjustment is closed by the posting."""
    refuse(policy.role_refusal(actor, policy.ADJUSTMENT_POSTERS))
    with transaction.atomic():
        return _adjustment_post(ticket=ticket, actor=actor, account=account, now=resolve_now(now))


def _adjustment_account(ticket: Ticket, account: Account | None) -> Account:
    account = account or ticket.account
    if account is None:
        raise errors.UnknownAccount("Choose the customer's account the adjustment goes to.")
    if account.is_internal or account.customer_id != ticket.customer_id:
        raise errors.UnknownAccount("The adjustment goes to an account of the work order's customer.")
    return account


def _adjustment_post(*, ticket: Ticket, actor: User, account: Account | None, now: datetime) -> AdjustmentResult:
    ticket = lock_ticket(ticket.pk)
    existing = TicketAdjustment.objects.filter(ticket=ticket).select_related("account", "transaction").first()
    if existing is not None and existing.status in (AdjustmentStatus.POSTED, AdjustmentStatus.PENDING_APPROVAL):
        return AdjustmentResult(existing, created=False)
    refuse(policy.adjustment_post_refusal(actor, ticket))
    account = _adjustment_account(ticket, account)
    amount = ticket.adjustment_confirmed_fen
    adjustment = existing or TicketAdjustment(ticket=ticket)
    adjustment.account, adjustment.amount_fen = account, amount
    adjustment.requested_by, adjustment.requested_at = actor, now
    adjustment.decided_by, adjustment.decided_at, adjustment.decision_note = None, None, ""
    if policy.needs_director_approval(amount):
        adjustment.status = AdjustmentStatus.PENDING_APPROVAL
        adjustment.save()
        details = {"amount_fen": amount, "account": account.pk}
        ticket_event_record(ticket=ticket, action="adjustment_request", actor=actor, after=details, at=now)
        audit_record(
            actor=actor, action="tickets.adjustment_request", obj=ticket, object_type="ticket", details=details
        )
        return AdjustmentResult(adjustment, created=True)
    _adjustment_book(ticket=ticket, adjustment=adjustment, actor=actor, now=now)
    return AdjustmentResult(adjustment, created=True)


def _adjustment_book(*, ticket: Ticket, adjustment: TicketAdjustment, actor: User, now: datetime) -> None:
    """Write the posting (on the locked ticket). A ledger refusal (account lost, frozen, closed)
    propagates: the transaction rolls back and the work order stays as it was, still owing."""
    from banking.services.accounts import internal_account
    from banking.services.ledger import ledger_post

    account, amount = adjustment.account, adjustment.amount_fen
    txn = ledger_post(
        kind="adjustment",
        lines=[(account, amount), (internal_account(settings.TICKETS_ADJUSTMENT_ACCOUNT), -amount)],
        idempotency_key=f"ticket-adjustment:{ticket.pk}",
        channel="agent",
        memo=ADJUSTMENT_MEMO.format(number=ticket.number),
        actor=actor,
        call_id=ticket.call_id,
    )
    adjustment.status, adjustment.transaction = AdjustmentStatus.POSTED, txn
    adjustment.posted_by, adjustment.posted_at = actor, now
    adjustment.save()
    if ticket.account_id is None:
        ticket.account = account
        ticket.save(update_fields=["account", "updated_at"])
    details = {"amount_fen": amount, "account": account.pk, "transaction": txn.pk}
    ticket_event_record(ticket=ticket, action="adjustment", actor=actor, after=details, at=now)
    audit_record(actor=actor, action="tickets.adjustment_post", obj=ticket, object_type="ticket", details=details)
    _close_when_settled(ticket, actor=actor, now=now)


def _close_when_settled(ticket: Ticket, *, actor: User, now: datetime) -> None:
    """A work order that only waited for its money closes once the money is posted or waived (the
    history's event just before says which)."""
    if ticket.state != State.AWAITING_ADJUSTMENT:
        return
    target = State.CLOSED
    ticket.state, ticket.closed_at, ticket.closed_by = target, now, actor
    sms_id = close_notice(ticket)
    ticket.save()
    ticket_event_record(
        ticket=ticket,
        action="close",
        actor=actor,
        before={"state": State.AWAITING_ADJUSTMENT},
        after={"state": target, "sms": sms_id},
        at=now,
    )


@transaction.atomic
def ticket_adjustment_decide(
    *, ticket: Ticket, actor: User, approve: bool, note: str = "", now: datetime | None = None
) -> TicketAdjustment:
    """The director approves (it is posted at once) or rejects (note required; the analyst may ask
    again, or waive) an adjustment above the approval threshold."""
    now = resolve_now(now)
    if not isinstance(approve, bool):
        raise errors.InvalidInput("approve: true or false.")
    note = clean_text(note, "note", required=not approve)
    ticket = lock_ticket(ticket.pk)
    refuse(policy.adjustment_decide_refusal(actor, ticket))
    adjustment = TicketAdjustment.objects.select_related("account").get(ticket=ticket)
    adjustment.decided_by, adjustment.decided_at, adjustment.decision_note = actor, now, note
    details = {"amount_fen": adjustment.amount_fen, "account": adjustment.account_id}
    if not approve:
        adjustment.status = AdjustmentStatus.REJECTED
        adjustment.save()
        ticket_event_record(ticket=ticket, action="adjustment_reject", actor=actor, after=details, note=note, at=now)
        audit_record(actor=actor, action="tickets.adjustment_reject", obj=ticket, object_type="ticket", details=details)
        return adjustment
    ticket_event_record(ticket=ticket, action="adjustment_approve", actor=actor, after=details, note=note, at=now)
    audit_record(actor=actor, action="tickets.adjustment_approve", obj=ticket, object_type="ticket", details=details)
    _adjustment_book(ticket=ticket, adjustment=adjustment, actor=actor, now=now)
    return adjustment


@transaction.atomic
def ticket_adjustment_waive(*, ticket: Ticket, actor: User, reason: str, now: datetime | None = None) -> Ticket:
    """The analyst or director decides the confirmed amount is not to be posted (paid another way,
    confirmed in error...), with a reason. A work order awaiting its adjustment is closed."""
    now = resolve_now(now)
    reason = clean_text(reason, "reason")
    ticket = lock_ticket(ticket.pk)
    refuse(policy.adjustment_waive_refusal(actor, ticket))
    ticket.adjustment_waived_at, ticket.adjustment_waived_by = now, actor
    ticket.adjustment_waiver_reason = reason
    ticket.save(
        update_fields=["adjustment_waived_at", "adjustment_waived_by", "adjustment_waiver_reason", "updated_at"]
    )
    details = {"amount_fen": ticket.adjustment_confirmed_fen}
    ticket_event_record(ticket=ticket, action="adjustment_waive", actor=actor, after=details, note=reason, at=now)
    audit_record(
        actor=actor,
        action="tickets.adjustment_waive",
        obj=ticket,
        object_type="ticket",
        details={**details, "reason": reason[:500]},
    )
    _close_when_settled(ticket, actor=actor, now=now)
    return ticket
