"""A missing or broken DATABASE_URL gives one clear line at start-up, not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment["DJANGO_SETTINGS_MODULE"] = "contactcenter.settings.local"
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_malformed_database_url_is_a_clear_configuration_error():
    result = manage("check", DATABASE_URL="nosuchdb://what")
    assert result.returncode == 2
    assert "Configuration error: DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_a_clear_connection_error():
    result = manage("migrate", "--check", DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing")
    assert result.returncode == 2
    assert "Cannot connect to the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_without_secret_key_says_what_is_missing():
    env = {"DJANGO_SETTINGS_MODULE": "contactcenter.settings.production", "DJANGO_SECRET_KEY": ""}
    result = manage("check", **env)
    assert result.returncode == 2
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
