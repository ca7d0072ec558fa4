"""Who may do what with risk alerts (one function per question; services, APIs and pages use them)."""

from __future__ import annotations

from org.roles import Role
from org.scoping import user_role

READERS = (Role.RISK_OFFICER, Role.DIRECTOR)
REPORTERS = (Role.AGENT, Role.TEAM_LEAD)


def can_read(user) -> bool:
    """The alerts, their evidence and the queried-account statistics: the risk officer and the director."""
    return user_role(user) in READERS


def can_work(user) -> bool:
    """Assign, comment, escalate, close: the same people who read them."""
    return user_role(user) in READERS


def can_raise(user) -> bool:
    """Raise an alert from a call: the agent (or team lead) holding it. They never read alerts."""
    return user_role(user) in REPORTERS
