from django.db import migrations

from audit.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("agents", "0001_states_skills_callbacks")]

    operations = [append_only_trigger("agents_agentstatelog")]
