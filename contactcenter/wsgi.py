"""WSGI entry point: plain HTTP under gunicorn in full mode."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings.production")

application = get_wsgi_application()
