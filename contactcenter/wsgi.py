"""WSGI entry point: plain HTTP under gunicorn in full mode."""

import os

from django.core.wsgi import get_wsgi_application

from contactcenter import celery

if celery.SETTINGS_DEFAULTED:  # nobody named a settings module: this is a production server
    os.environ["DJANGO_SETTINGS_MODULE"] = "contactcenter.settings.production"

application = get_wsgi_application()
