"""Row locks of the agents app: ``AgentStatus`` rows, in primary-key order.

The global lock order is ``calls.locks``'s: calls first, then agents. A service of this app that
starts from an agent and must touch the agent's call reads the call id without a lock, has the
call side lock that call (``agents.call_port``), then locks the agent here and re-checks that the
agent still holds it.
"""

from __future__ import annotations

from .models import AgentStatus


def lock_agents(*pks: int) -> dict[int, AgentStatus]:
    """Lock agent status rows (by ``AgentStatus`` pk) in primary-key order; take after calls."""
    wanted = sorted({pk for pk in pks if pk is not None})
    if not wanted:
        return {}
    rows = AgentStatus.objects.select_for_update(of=("self",)).select_related("user").filter(pk__in=wanted)
    return {row.pk: row for row in rows.order_by("pk")}
