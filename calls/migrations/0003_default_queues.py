"""The queues the default IVR menu transfers to (DESIGN.md §6): general, card, complaint.
Editable afterwards in the admin; removing this migration's rows is left to the maintainer."""

from django.db import migrations

QUEUES = [
    # code, name, English name, position, overflow to, overflow after (s), callback offer after (s)
    ("general", "综合业务", "General service", 10, None, None, 90),
    ("card", "银行卡业务", "Cards", 20, "general", 45, 120),
    ("complaint", "投诉与建议", "Complaints and suggestions", 30, "general", 60, 120),
]


def create(apps, schema_editor):
    Queue = apps.get_model("calls", "Queue")
    for code, name, name_en, position, _overflow, _after, callback_after in QUEUES:
        Queue.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "position": position,
                "callback_offer_after_s": callback_after,
            },
        )
    for code, *_rest, overflow, after, _callback in QUEUES:
        if overflow:
            Queue.objects.filter(code=code, overflow_queue__isnull=True).update(
                overflow_queue=Queue.objects.get(code=overflow), overflow_after_s=after
            )


class Migration(migrations.Migration):
    dependencies = [("calls", "0002_call_events_append_only")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
