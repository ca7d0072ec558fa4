from django.db import migrations

from audit.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_contacts_work_orders_calendar"),
    ]

    operations = [
        append_only_trigger("tickets_ticketevent"),
    ]
