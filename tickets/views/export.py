"""The list as CSV: what the user may see, with the list's filters, streamed and audited."""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from org.models import Unit
from org.permissions import role_required

from .. import forms, policy, selectors
from .lists import filters_from


class _Echo:
    def write(self, value):
        return value


@role_required(*policy.EXPORTERS)
def export_csv(request):
    """The list as CSV (what the user may see, with the list's filters); streamed."""
    units = Unit.objects.filter(is_active=True)
    form = forms.ListFilterForm(request.GET or None, units=units)
    queryset = selectors.ticket_list(user=request.user, filters=filters_from(form))
    now = timezone.now()
    writer = csv.writer(_Echo())
    header = [
        _("No."),
        _("Kind"),
        _("Category"),
        _("State"),
        _("Unit"),
        _("Received"),
        _("Due"),
        _("Estimated"),
        _("Overdue"),
        _("Replied at"),
        _("Satisfied"),
        _("Closed at"),
    ]

    def when(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    def rows():
        yield writer.writerow(header)
        for ticket in queryset.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    ticket.number,
                    ticket.get_kind_display(),
                    ticket.get_category_display(),
                    ticket.get_state_display(),
                    ticket.unit.code if ticket.unit_id else "",
                    when(ticket.received_at),
                    when(ticket.due_at),
                    "1" if ticket.due_estimated else "",
                    "1" if ticket.is_overdue(now) else "",
                    when(ticket.replied_at),
                    "" if ticket.satisfied is None else ("1" if ticket.satisfied else "0"),
                    when(ticket.closed_at),
                ]
            )

    audit_record(
        actor=request.user,
        action="tickets.export",
        object_type="ticket",
        details={"query": request.GET.urlencode()[:500]},
        request=request,
    )
    response = StreamingHttpResponse(("\ufeff" if index == 0 else "") + row for index, row in enumerate(rows()))
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = f'attachment; filename="work-orders-{timezone.localdate(now):%Y%m%d}.csv"'
    return response
