"""What beat schedules when it starts: django-celery-beat's ``DatabaseScheduler`` writes the
``CELERY_BEAT_SCHEDULE`` entries into its tables at start-up and then runs what those tables hold."""

from __future__ import annotations


def periodic_tasks_at_beat_start() -> list:
    """Start a database scheduler the way ``celery beat`` does and return every periodic task in its
    tables afterwards (enabled or not), with the interval loaded.

    The scheduler closes "old" connections between reads, which inside a test's transaction would
    close the test's own connection: that call is made a no-op here."""
    from unittest import mock

    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from contactcenter.celery import app

    with mock.patch("django_celery_beat.schedulers.close_old_connections"):
        DatabaseScheduler(app=app, lazy=False)
    return list(PeriodicTask.objects.select_related("interval").order_by("name"))
