"""Seed the working-day calendar from the ``chinese-calendar`` package for every year it knows.

Later package releases are picked up with ``python manage.py tickets_calendar_sync``; years the
maintainer edited are never overwritten.
"""

from django.db import migrations
from django.utils import timezone


def seed(apps, schema_editor):
    from tickets.calendar import package_days, package_years

    CalendarYear = apps.get_model("tickets", "CalendarYear")
    CalendarDay = apps.get_model("tickets", "CalendarDay")
    for year in package_years():
        if CalendarYear.objects.filter(year=year).exists():
            continue
        CalendarDay.objects.bulk_create(
            [
                CalendarDay(date=day, is_working_day=working, name=name, source="package")
                for day, working, name in package_days(year)
            ],
            ignore_conflicts=True,
        )
        CalendarYear.objects.create(year=year, complete=True, source="package", updated_at=timezone.now())


def unseed(apps, schema_editor):
    apps.get_model("tickets", "CalendarDay").objects.filter(source="package").delete()
    apps.get_model("tickets", "CalendarYear").objects.filter(source="package").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_ticketevent_append_only_trigger"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
