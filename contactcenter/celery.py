"""Celery application. Embedded default: tasks run in-process (``CELERY_TASK_ALWAYS_EAGER``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings.local")

# calls.recordings and calls.outbound are packages of the calls app, not apps: their tasks modules are named here.
app = Celery("contactcenter", include=["contactcenter.tasks", "calls.recordings.tasks", "calls.outbound.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
