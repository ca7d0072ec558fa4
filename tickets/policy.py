"""Who may do what to a work order's money and customer, in which state — one function per
question, used by the services (which raise the refusal), the API and the pages (which only offer
what would be accepted). A page never re-derives one of these rules.

The money rule (DESIGN.md §4, docs/work-orders.md "Adjustments"): a work order whose category
carries money and whose unit confirmed an amount owes that amount to the customer until the
adjustment is posted or waived (with a reason) by the analyst or the director. While it is owed the
work order cannot be closed, withdrawn or merged away, and a satisfied callback leaves it
``awaiting_adjustment`` instead of closing it.
"""

from __future__ import annotations

from django.conf import settings

from contactcenter.errors import DomainError, Forbidden
from org.roles import Role
from org.scoping import user_role

from . import errors
from .models import ADJUSTMENT_CATEGORIES, STATE_GUARDS, TERMINAL_STATES, TRANSITIONS, AdjustmentStatus, Ticket

ADJUSTMENT_POSTERS = (Role.ANALYST,)
ADJUSTMENT_APPROVERS = (Role.DIRECTOR,)
ADJUSTMENT_WAIVERS = (Role.ANALYST, Role.DIRECTOR)
CUSTOMER_LINKERS = (Role.AGENT, Role.TEAM_LEAD, Role.ANALYST)
CLOSERS = (Role.ANALYST, Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR)

# What ``adjustment_status`` answers (also in the API's ``adjustment_status`` field).
NO_MONEY = "none"
OWED = "owed"
PENDING_APPROVAL = "pending_approval"
POSTED = "posted"
WAIVED = "waived"


def _adjustment(ticket: Ticket):
    # Reverse one-to-one: the related-object-missing error is an AttributeError too.
    return getattr(ticket, "adjustment", None)


def carries_money(ticket: Ticket) -> bool:
    return ticket.category in ADJUSTMENT_CATEGORIES


def adjustment_status(ticket: Ticket) -> str:
    """``none`` (nothing confirmed), ``owed``, ``pending_approval``, ``posted`` or ``waived``."""
    if not carries_money(ticket) or ticket.adjustment_confirmed_fen is None:
        return NO_MONEY
    adjustment = _adjustment(ticket)
    if adjustment is not None and adjustment.status == AdjustmentStatus.POSTED:
        return POSTED
    if ticket.adjustment_waived_at is not None:
        return WAIVED
    if adjustment is not None and adjustment.status == AdjustmentStatus.PENDING_APPROVAL:
        return PENDING_APPROVAL
    return OWED


def money_owed(ticket: Ticket) -> bool:
    """The unit confirmed an amount that is neither posted nor waived (a pending approval is owed)."""
    return adjustment_status(ticket) in (OWED, PENDING_APPROVAL)


def needs_director_approval(amount_fen: int | None) -> bool:
    return amount_fen is not None and amount_fen > settings.TICKETS_ADJUSTMENT_APPROVAL_FEN


# --- refusals: ``None`` when allowed, else the domain error the service raises --------------------


def _state_refusal(ticket: Ticket, guard: str) -> DomainError | None:
    if ticket.state not in STATE_GUARDS[guard]:
        return errors.InvalidTransition(details={"state": ticket.state, "action": guard})
    return None


def _settle_refusal(ticket: Ticket) -> DomainError | None:
    """Why the confirmed amount cannot be settled (posted or waived) now, whoever asks."""
    if not carries_money(ticket):
        return errors.AdjustmentNotApplicable()
    if (refusal := _state_refusal(ticket, "adjust")) is not None:
        return refusal
    status = adjustment_status(ticket)
    if status == NO_MONEY:
        return errors.AdjustmentNotConfirmed()
    if status in (POSTED, WAIVED):
        return errors.AdjustmentSettled()
    if status == PENDING_APPROVAL:
        return errors.AdjustmentPendingApproval()
    return None


def adjustment_post_refusal(user, ticket: Ticket) -> DomainError | None:
    """Why ``user`` may not post (or ask approval for) the confirmed amount now."""
    if user_role(user) not in ADJUSTMENT_POSTERS:
        return Forbidden()
    if (refusal := _settle_refusal(ticket)) is not None:
        return refusal
    if ticket.customer_id is None:
        return errors.CustomerRequired()
    return None


def adjustment_decide_refusal(user, ticket: Ticket) -> DomainError | None:
    """Why ``user`` may not approve or reject the pending adjustment now."""
    if user_role(user) not in ADJUSTMENT_APPROVERS:
        return Forbidden()
    if (refusal := _state_refusal(ticket, "adjust")) is not None:
        return refusal
    if adjustment_status(ticket) != PENDING_APPROVAL:
        return errors.AdjustmentNotPending()
    return None


def adjustment_waive_refusal(user, ticket: Ticket) -> DomainError | None:
    """Why ``user`` may not waive the confirmed amount now (a pending approval is decided first)."""
    if user_role(user) not in ADJUSTMENT_WAIVERS:
        return Forbidden()
    return _settle_refusal(ticket)


def customer_link_refusal(user, ticket: Ticket) -> DomainError | None:
    """Why ``user`` may not link (or change) the work order's customer now."""
    if user_role(user) not in CUSTOMER_LINKERS:
        return Forbidden()
    if ticket.state in TERMINAL_STATES:
        return errors.InvalidTransition(details={"state": ticket.state, "action": "link_customer"})
    adjustment = _adjustment(ticket)
    if adjustment is not None and adjustment.status in (AdjustmentStatus.POSTED, AdjustmentStatus.PENDING_APPROVAL):
        return errors.CustomerFixed()
    return None


def close_refusal(user, ticket: Ticket) -> DomainError | None:
    """Why ``user`` may not close the work order now."""
    if user_role(user) not in CLOSERS:
        return Forbidden()
    if ticket.state not in TRANSITIONS["close"]:
        return errors.InvalidTransition(details={"state": ticket.state, "action": "close"})
    if money_owed(ticket):
        return errors.AdjustmentOutstanding()
    return None


def drop_refusal(ticket: Ticket) -> DomainError | None:
    """Withdrawing or merging a work order away must not drop money owed to the customer."""
    if money_owed(ticket):
        return errors.AdjustmentOutstanding()
    return None


def can_post_adjustment(user, ticket: Ticket) -> bool:
    return adjustment_post_refusal(user, ticket) is None


def can_decide_adjustment(user, ticket: Ticket) -> bool:
    return adjustment_decide_refusal(user, ticket) is None


def can_waive_adjustment(user, ticket: Ticket) -> bool:
    return adjustment_waive_refusal(user, ticket) is None


def can_link_customer(user, ticket: Ticket) -> bool:
    return customer_link_refusal(user, ticket) is None


def can_close(user, ticket: Ticket) -> bool:
    return close_refusal(user, ticket) is None
