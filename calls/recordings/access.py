"""Who may hear, download and hold which recording: the one place (APIs, pages, QA use it).

| role | recordings they see (and may play) |
|---|---|
| agent | their own: the recording's agent is them |
| team lead, director, maintainer | all |
| unit (branch) staff | those whose call is attached to a work order of their unit |
| analyst | those whose call is attached to a work order (any unit) |
| risk officer | those whose call is linked to a risk alert, or whose customer is the subject of an open alert |
| switch, anyone else | none (the switch uploads; it reads nothing back but its own upload's answer) |

A recording outside the user's scope does not exist for them: 404, never 403 (as work orders
of another unit, ``org.scoping``). Downloading (a copy leaves the center) is for the director,
the maintainer and team leads; setting or clearing a legal hold for the director and the
maintainer.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from org.roles import Role
from org.scoping import user_role

from ..models import Recording

SEE_ALL = frozenset({Role.TEAM_LEAD, Role.DIRECTOR, Role.MAINTAINER})
READERS = frozenset({*SEE_ALL, Role.AGENT, Role.UNIT_STAFF, Role.ANALYST, Role.RISK_OFFICER})
DOWNLOADERS = frozenset({Role.DIRECTOR, Role.MAINTAINER, Role.TEAM_LEAD})
HOLDERS = frozenset({Role.DIRECTOR, Role.MAINTAINER})
UPLOADERS = frozenset({Role.SWITCH})


def _work_order_calls(user: Any) -> QuerySet:
    """Call ids of the work orders (contacts dispatched to a unit) ``user`` may see: tickets'
    own scoping decides (a unit's staff: their unit's)."""
    from tickets.selectors import ticket_list

    return ticket_list(user=user).filter(unit__isnull=False).exclude(call_id="").order_by().values("call_id")


def _risk_scope() -> Q:
    from banking.risk.selectors import alert_list

    alerts = alert_list().order_by()
    return Q(call__call_id__in=alerts.exclude(call_id="").values("call_id")) | Q(
        customer_id__in=alert_list(status="active").order_by().filter(customer__isnull=False).values("customer_id")
    )


def scope(user: Any) -> Q | None:
    """The filter of what ``user`` may see; ``None`` for nothing."""
    role = user_role(user)
    if role in SEE_ALL:
        return Q()
    if role == Role.AGENT:
        return Q(agent=user)
    if role in (Role.UNIT_STAFF, Role.ANALYST):
        return Q(call__call_id__in=_work_order_calls(user))
    if role == Role.RISK_OFFICER:
        return _risk_scope()
    return None


def visible(user: Any, queryset: QuerySet[Recording] | None = None) -> QuerySet[Recording]:
    queryset = Recording.objects.all() if queryset is None else queryset
    condition = scope(user)
    return queryset.none() if condition is None else queryset.filter(condition)


def can_see(user: Any, recording: Recording) -> bool:
    condition = scope(user)
    if condition is None:
        return False
    if not condition:  # Q(): everything
        return True
    return visible(user).filter(pk=recording.pk).exists()


def can_play(user: Any, recording: Recording) -> bool:
    return can_see(user, recording)


def can_download(user: Any, recording: Recording) -> bool:
    return user_role(user) in DOWNLOADERS and can_see(user, recording)


def can_hold(user: Any, recording: Recording) -> bool:
    return user_role(user) in HOLDERS and can_see(user, recording)


def can_upload(user: Any) -> bool:
    return user_role(user) in UPLOADERS


def visible_recordings(user: Any) -> QuerySet[Recording]:
    """``visible(user)``: the recordings the user may see (the pages' name for it)."""
    return visible(user)
