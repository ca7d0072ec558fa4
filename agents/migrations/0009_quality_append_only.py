from django.db import migrations

from audit.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("agents", "0008_quality")]

    operations = [
        append_only_trigger("agents_scorecardversion"),
        append_only_trigger("agents_criterionscore"),
        append_only_trigger("agents_evaluationcomment"),
    ]
