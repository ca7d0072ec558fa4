from django.db import migrations

from audit.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("calls", "0001_queues_calls_events")]

    operations = [append_only_trigger("calls_callevent")]
