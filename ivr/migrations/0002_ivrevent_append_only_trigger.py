from django.db import migrations

from audit.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_auditevent_append_only_trigger"),
        ("ivr", "0001_menu_versions_calls_and_announcements"),
    ]

    operations = [append_only_trigger("ivr_ivrevent")]
