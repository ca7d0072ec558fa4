"""Who may do what to which work order, in which state — one function per question, used by the
services (which raise the refusal), the API (whose permission classes use the role tuples) and the
pages (which offer exactly what would be accepted: ``available_actions``). A page never re-derives
one of these rules.

Each ``*_refusal`` answers ``None`` when the action is allowed now, else the domain error the
service raises, checked in the order the service checks: the role, then the unit (unit staff act
only on their unit's work orders; another unit's is ``TicketNotFound``), then the state
(``models.TRANSITIONS`` and ``STATE_GUARDS``), then the rules of the work order's money and
extensions. What depends on the request's input (the unit chosen, the days asked, the file sent)
is the service's to check.

The money rule (DESIGN.md §4, docs/work-orders.md "Adjustments"): a work order whose category
carries money and whose unit confirmed an amount owes that amount to the customer until the
adjustment is posted or waived (with a reason) by the analyst or the director. While it is owed the
work order cannot be closed, withdrawn or merged away, and a satisfied callback leaves it
``awaiting_adjustment`` instead of closing it.
"""

from __future__ import annotations

from django.conf import settings

from core.errors import DomainError, Forbidden
from org.roles import Role
from org.scoping import user_role

from . import errors
from .models import (
    ADJUSTMENT_CATEGORIES,
    STATE_GUARDS,
    TERMINAL_STATES,
    TRANSITIONS,
    AdjustmentStatus,
    ExtensionStatus,
    Ticket,
    TicketExtension,
)

# --- who: the roles of each action (the API's permission classes use the same tuples) ------------

READERS = (Role.DIRECTOR, Role.ANALYST, Role.TEAM_LEAD, Role.AGENT, Role.UNIT_STAFF)
LIST_READERS = (Role.ANALYST, Role.DIRECTOR, Role.TEAM_LEAD, Role.AGENT)
EXPORTERS = (Role.ANALYST, Role.DIRECTOR, Role.TEAM_LEAD, Role.UNIT_STAFF)
RECORDERS = (Role.AGENT, Role.TEAM_LEAD, Role.ANALYST)
DISPATCHERS = (Role.ANALYST, Role.AGENT, Role.TEAM_LEAD)
UNIT_HANDLERS = (Role.UNIT_STAFF,)  # accept and reply: the unit's own work
REVIEWERS = (Role.ANALYST, Role.DIRECTOR)
CALLERS = (Role.AGENT, Role.TEAM_LEAD, Role.ANALYST)
CLOSERS = (Role.ANALYST, Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR)
EXTENSION_REQUESTERS = (Role.UNIT_STAFF, Role.ANALYST, Role.DIRECTOR)
# Stage 1 (to 30 days) is approved by the center; stage 2 (+30 days) needs head-office approval,
# given by the director on the head office's behalf.
EXTENSION_APPROVERS = {1: (Role.ANALYST, Role.DIRECTOR), 2: (Role.DIRECTOR,)}
EXTENSION_DECIDERS = tuple(dict.fromkeys(role for roles in EXTENSION_APPROVERS.values() for role in roles))
PAUSERS = (Role.UNIT_STAFF, Role.ANALYST)
ATTACHERS = (Role.UNIT_STAFF, Role.ANALYST, Role.AGENT, Role.TEAM_LEAD)
ADJUSTMENT_POSTERS = (Role.ANALYST,)
ADJUSTMENT_APPROVERS = (Role.DIRECTOR,)
ADJUSTMENT_WAIVERS = (Role.ANALYST, Role.DIRECTOR)
CUSTOMER_LINKERS = (Role.AGENT, Role.TEAM_LEAD, Role.ANALYST)
CALENDAR_VIEWERS = (Role.MAINTAINER, Role.ANALYST, Role.DIRECTOR)
CALENDAR_EDITORS = (Role.MAINTAINER,)

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


def pending_extension(ticket: Ticket) -> TicketExtension | None:
    """The extension request waiting for a decision (at most one; the page's prefetch serves it)."""
    return next((e for e in ticket.extensions.all() if e.status == ExtensionStatus.PENDING), None)


# --- the parts every refusal is made of ------------------------------------------------------------


def role_refusal(user, roles) -> DomainError | None:
    """The role part alone: services ask it first, before they read their input or lock a row."""
    return None if user_role(user) in roles else Forbidden()


def _unit_refusal(user, ticket: Ticket) -> DomainError | None:
    """Unit staff act only on their unit's work orders; another unit's does not exist for them."""
    if user_role(user) == Role.UNIT_STAFF and ticket.unit_id != user.profile.unit_id:
        return errors.TicketNotFound()
    return None


def _transition_refusal(ticket: Ticket, action: str) -> DomainError | None:
    if ticket.state not in TRANSITIONS[action]:
        return errors.InvalidTransition(
            f"Cannot {action.replace('_', ' ')} a work order that is {ticket.state}.",
            details={"state": ticket.state, "action": action},
        )
    return None


def _guard_refusal(ticket: Ticket, guard: str) -> DomainError | None:
    if ticket.state not in STATE_GUARDS[guard]:
        return errors.InvalidTransition(
            f"Cannot {guard} a work order that is {ticket.state}.", details={"state": ticket.state, "action": guard}
        )
    return None


def _first(*checks) -> DomainError | None:
    """The first refusal of ``checks`` (callables, so later ones run only when earlier ones pass)."""
    for check in checks:
        if (refusal := check()) is not None:
            return refusal
    return None


# --- the work order's flow -------------------------------------------------------------------------


def record_refusal(user) -> DomainError | None:
    """Why ``user`` may not record a contact (consultation, complaint, suggestion)."""
    return role_refusal(user, RECORDERS)


def dispatch_refusal(user, ticket: Ticket) -> DomainError | None:
    return _first(lambda: role_refusal(user, DISPATCHERS), lambda: _transition_refusal(ticket, "dispatch"))


def accept_refusal(user, ticket: Ticket) -> DomainError | None:
    return _first(
        lambda: role_refusal(user, UNIT_HANDLERS),
        lambda: _unit_refusal(user, ticket),
        lambda: _transition_refusal(ticket, "accept"),
    )


def reply_refusal(user, ticket: Ticket) -> DomainError | None:
    return _first(
        lambda: role_refusal(user, UNIT_HANDLERS),
        lambda: _unit_refusal(user, ticket),
        lambda: _transition_refusal(ticket, "reply"),
    )


def review_action(accepted: bool) -> str:
    return "review_accept" if accepted else "return"


def review_refusal(user, ticket: Ticket, *, accepted: bool) -> DomainError | None:
    """Accepting the unit's reply, or returning the work order for rework."""
    return _first(lambda: role_refusal(user, REVIEWERS), lambda: _transition_refusal(ticket, review_action(accepted)))


def callback_action(ticket: Ticket, satisfied: bool) -> str:
    if not satisfied:
        return "callback_not_satisfied"
    # Money still owed: the customer is satisfied, the work order waits for the posting.
    return "callback_satisfied_owed" if money_owed(ticket) else "callback_satisfied"


def callback_refusal(user, ticket: Ticket, *, satisfied: bool) -> DomainError | None:
    return _first(
        lambda: role_refusal(user, CALLERS), lambda: _transition_refusal(ticket, callback_action(ticket, satisfied))
    )


def close_refusal(user, ticket: Ticket) -> DomainError | None:
    """Why ``user`` may not close the work order now."""
    return _first(
        lambda: role_refusal(user, CLOSERS),
        lambda: _transition_refusal(ticket, "close"),
        lambda: errors.AdjustmentOutstanding() if money_owed(ticket) else None,
    )


def drop_refusal(ticket: Ticket) -> DomainError | None:
    """Withdrawing or merging a work order away must not drop money owed to the customer."""
    if money_owed(ticket):
        return errors.AdjustmentOutstanding()
    return None


def withdraw_refusal(user, ticket: Ticket) -> DomainError | None:
    return _first(
        lambda: role_refusal(user, DISPATCHERS),
        lambda: _transition_refusal(ticket, "withdraw"),
        lambda: drop_refusal(ticket),
    )


def merge_refusal(user, ticket: Ticket) -> DomainError | None:
    """Merging ``ticket`` away (the work order it goes into is the service's to check)."""
    return _first(
        lambda: role_refusal(user, DISPATCHERS),
        lambda: _transition_refusal(ticket, "merge"),
        lambda: drop_refusal(ticket),
    )


def chase_refusal(user, ticket: Ticket) -> DomainError | None:
    return _first(lambda: role_refusal(user, REVIEWERS), lambda: _guard_refusal(ticket, "chase"))


def attach_refusal(user, ticket: Ticket) -> DomainError | None:
    return _first(
        lambda: role_refusal(user, ATTACHERS),
        lambda: _unit_refusal(user, ticket),
        lambda: _guard_refusal(ticket, "attach"),
    )


# --- pauses and extensions -------------------------------------------------------------------------


def pause_refusal(user, ticket: Ticket) -> DomainError | None:
    return _first(
        lambda: role_refusal(user, PAUSERS),
        lambda: _unit_refusal(user, ticket),
        lambda: _guard_refusal(ticket, "pause"),
        lambda: errors.AlreadyPaused() if ticket.paused_at is not None else None,
    )


def resume_refusal(user, ticket: Ticket) -> DomainError | None:
    return _first(
        lambda: role_refusal(user, PAUSERS),
        lambda: _unit_refusal(user, ticket),
        lambda: _guard_refusal(ticket, "resume"),
        lambda: errors.NotPaused() if ticket.paused_at is None else None,
    )


def extension_request_refusal(user, ticket: Ticket) -> DomainError | None:
    """Asking for more time (how many days is the service's to check against the stage's cap)."""
    return _first(
        lambda: role_refusal(user, EXTENSION_REQUESTERS),
        lambda: _unit_refusal(user, ticket),
        lambda: _guard_refusal(ticket, "extend"),
        lambda: errors.ExtensionPending() if pending_extension(ticket) is not None else None,
        lambda: errors.ExtensionLimitReached() if len(ticket.extension_days) >= 2 else None,
    )


def extension_approvable_by(user, stage: int) -> bool:
    """A request by someone who may approve its stage is approved at once."""
    return user_role(user) in EXTENSION_APPROVERS[stage]


def extension_decider_refusal(user, stage: int) -> DomainError | None:
    """The role part of deciding an extension of ``stage``."""
    if user_role(user) not in EXTENSION_DECIDERS:
        return Forbidden()
    if not extension_approvable_by(user, stage):
        return errors.HeadOfficeApprovalRequired()
    return None


def extension_decide_refusal(user, ticket: Ticket, extension: TicketExtension, *, approve: bool):
    """Approving (only while the unit still works on it) or rejecting a pending extension."""
    return _first(
        lambda: extension_decider_refusal(user, extension.stage),
        lambda: errors.ExtensionNotPending() if extension.status != ExtensionStatus.PENDING else None,
        lambda: _guard_refusal(ticket, "extend") if approve else None,
    )


# --- the money and the customer --------------------------------------------------------------------


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


def can_post_adjustment(user, ticket: Ticket) -> bool:
    return adjustment_post_refusal(user, ticket) is None


def calendar_edit_refusal(user) -> DomainError | None:
    """The maintainer edits the working-day calendar (pages and admin alike)."""
    return role_refusal(user, CALENDAR_EDITORS)


# --- what the work-order page offers ---------------------------------------------------------------


def _extension_decision_refusal(user, ticket: Ticket, *, approve: bool) -> DomainError | None:
    extension = pending_extension(ticket)
    if extension is None:
        return errors.ExtensionNotPending()
    return extension_decide_refusal(user, ticket, extension, approve=approve)


# Page action → its refusal. ``review`` is the accept-or-return form, ``return`` the return-only one
# (a reply already accepted may still go back to the unit); ``callback`` offers satisfied and not;
# ``decide`` rejects the pending extension, ``approve_extension`` approves it.
PAGE_ACTION_RULES = {
    "dispatch": dispatch_refusal,
    "accept": accept_refusal,
    "reply": reply_refusal,
    "review": lambda user, ticket: review_refusal(user, ticket, accepted=True),
    "return": lambda user, ticket: review_refusal(user, ticket, accepted=False),
    "callback": lambda user, ticket: (
        callback_refusal(user, ticket, satisfied=True) or callback_refusal(user, ticket, satisfied=False)
    ),
    "close": close_refusal,
    "withdraw": withdraw_refusal,
    "merge": merge_refusal,
    "chase": chase_refusal,
    "attach": attach_refusal,
    "pause": pause_refusal,
    "resume": resume_refusal,
    "extend": extension_request_refusal,
    "decide": lambda user, ticket: _extension_decision_refusal(user, ticket, approve=False),
    "approve_extension": lambda user, ticket: _extension_decision_refusal(user, ticket, approve=True),
    "adjust": adjustment_post_refusal,
    "decide_adjustment": adjustment_decide_refusal,
    "waive": adjustment_waive_refusal,
    "link_customer": customer_link_refusal,
}


def available_actions(user, ticket: Ticket) -> set[str]:
    """The forms the work-order page offers ``user`` now: those the services would accept (given
    valid input). ``tickets/tests/test_policy.py`` walks every role, state and action to check the two agree."""
    return {action for action, refusal in PAGE_ACTION_RULES.items() if refusal(user, ticket) is None}
