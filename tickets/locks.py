"""The one place tickets take row locks (``SELECT ... FOR UPDATE``), in primary-key order.

Lock order across apps: ticket rows first, then whatever a banking service locks (accounts). The
banking app never locks a ticket, so the two orders cannot form a cycle.
"""

from __future__ import annotations

from .errors import TicketNotFound
from .models import Ticket


def lock_ticket(ticket_id: int) -> Ticket:
    """Lock one ticket row and return it fresh. Must run inside a transaction."""
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        raise TicketNotFound()
    return ticket


def lock_tickets(*ids: int) -> dict[int, Ticket]:
    wanted = sorted(set(ids))
    rows = list(Ticket.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))
    if len(rows) != len(wanted):
        raise TicketNotFound()
    return {row.pk: row for row in rows}
