from datetime import time

from django.db import migrations

DEFAULTS = [
    ("D", "Day", time(8, 0), time(20, 0), False),
    ("N", "Night", time(20, 0), time(8, 0), True),
]


def add_defaults(apps, schema_editor):
    ShiftTemplate = apps.get_model("agents", "ShiftTemplate")
    for code, name, start, end, night in DEFAULTS:
        ShiftTemplate.objects.get_or_create(
            code=code, defaults={"name": name, "start": start, "end": end, "night": night}
        )


def remove_defaults(apps, schema_editor):
    apps.get_model("agents", "ShiftTemplate").objects.filter(code__in=[d[0] for d in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("agents", "0005_wfm_rosters")]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]
