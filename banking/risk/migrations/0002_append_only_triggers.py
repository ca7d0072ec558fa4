from django.db import migrations

from audit.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_auditevent_append_only_trigger"),
        ("risk", "0001_alerts_evidence_watermarks"),
    ]

    operations = [
        append_only_trigger("risk_alertevidence"),
        append_only_trigger("risk_alertlog"),
        append_only_trigger("risk_ivrobservation"),
    ]
