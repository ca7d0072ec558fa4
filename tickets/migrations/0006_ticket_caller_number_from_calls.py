"""Fill the caller's number of contacts recorded before it was kept, from the call they came in on
(``calls.Call.ani``). Contacts without a call, or whose call is unknown, stay blank."""

from django.db import migrations
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Left


def fill_from_calls(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    Call = apps.get_model("calls", "Call")
    ani = Call.objects.filter(call_id=OuterRef("call_id")).exclude(ani="").values("ani")[:1]
    # A call_id with no call row (or no ANI) stays blank.
    Ticket.objects.filter(caller_number="").exclude(call_id="").update(
        caller_number=Coalesce(Left(Subquery(ani), 255), Value(""))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0005_ticket_caller_number_adjustment_approval_waiver"),
        ("calls", "0001_queues_calls_events"),
    ]

    operations = [migrations.RunPython(fill_from_calls, migrations.RunPython.noop)]
