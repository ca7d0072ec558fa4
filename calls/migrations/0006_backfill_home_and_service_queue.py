"""Existing calls: home queue = the queue before any overflow — the call's queue, or its first
queue when it overflowed; service queue = the home queue. (New events rebuild a call exactly.)"""

from django.db import migrations
from django.db.models import F


def backfill(apps, schema_editor):
    Call = apps.get_model("calls", "Call")
    Call.objects.filter(overflowed_at__isnull=True).update(home_queue=F("queue"), service_queue=F("queue"))
    Call.objects.filter(overflowed_at__isnull=False).update(home_queue=F("entry_queue"), service_queue=F("entry_queue"))


class Migration(migrations.Migration):
    dependencies = [("calls", "0005_call_home_and_service_queue")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
