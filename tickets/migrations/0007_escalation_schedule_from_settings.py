"""The escalation sweep's schedule moves to ``CELERY_BEAT_SCHEDULE`` (``tickets-escalate``), the one
list of periodic tasks, which django-celery-beat writes into its tables when beat starts. Remove the
row ``0004_escalation_schedule`` created, or the sweep would be scheduled twice."""

from importlib import import_module

from django.db import migrations

OLD_NAME = import_module("tickets.migrations.0004_escalation_schedule").TASK_NAME
SETTINGS_NAME = "tickets-escalate"


def unschedule_old(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=OLD_NAME, task="tickets.escalate").delete()


def schedule_old(apps, schema_editor):
    # Back to the code before: it has no settings entry, so the row beat wrote from it goes too.
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SETTINGS_NAME).delete()
    import_module("tickets.migrations.0004_escalation_schedule").schedule(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_ticket_caller_number_from_calls"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(unschedule_old, schedule_old)]
