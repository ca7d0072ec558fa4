"""Schedule the routing sweep (``calls.sweep``: offer timeouts, overflow, callback offers,
forgotten after-call work) every second with django-celery-beat. The websocket processes run
the same sweep on their own ticker, so a stopped beat delays nothing by more than a second
while a desktop or wallboard is open."""

from django.db import migrations

TASK_NAME = "calls: routing sweep (offer timeouts, overflow, callbacks)"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _created = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "calls.sweep", "interval": every, "enabled": True, "expire_seconds": 5},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0003_default_queues"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
