"""The servers' entry points choose the settings their mode needs when none is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOW = "import contactcenter.wsgi; from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)"


def _settings_of_wsgi(**env: str) -> str:
    # A clean environment: no DJANGO_SETTINGS_MODULE unless given (pytest's own is not passed on).
    base = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", SHOW], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_gunicorn_serving_contactcenter_wsgi_unnamed_runs_production_settings():
    # The package imports the Celery app first, which used to set the demo's settings (DEBUG on)
    # as the default: a production server without DJANGO_SETTINGS_MODULE showed Django's debug
    # pages (the URLconf, settings, code) to anyone who asked for a missing page.
    full_stack = {
        "DJANGO_SECRET_KEY": "test-only",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",  # not connected to on import
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    assert _settings_of_wsgi(**full_stack) == "contactcenter.settings.production False"


@pytest.mark.parametrize("named", ["contactcenter.settings.local", "contactcenter.settings.test"])
def test_a_settings_module_named_in_the_environment_is_kept(named):
    assert _settings_of_wsgi(DJANGO_SETTINGS_MODULE=named).split()[0] == named
