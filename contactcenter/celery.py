"""Celery application. Embedded default: tasks run in-process (``CELERY_TASK_ALWAYS_EAGER``)."""

import os

from celery import Celery

# The package imports this module first, whatever the entry point: the settings default set here
# (the embedded demo's, for ``celery -A contactcenter`` run bare) would otherwise also be the
# WSGI server's, and gunicorn would serve ``contactcenter.wsgi`` with DEBUG on. ``wsgi.py``
# replaces a default that was only ours (``SETTINGS_DEFAULTED``) with production's.
SETTINGS_DEFAULTED = "DJANGO_SETTINGS_MODULE" not in os.environ
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings.local")

# calls.recordings and calls.outbound are packages of the calls app, not apps: their tasks modules are named here.
app = Celery("contactcenter", include=["contactcenter.tasks", "calls.recordings.tasks", "calls.outbound.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
