"""Test settings: the same mode switch as everywhere (DATABASE_URL / REDIS_URL), faster hashing."""

from .base import *  # noqa: F401,F403
from .base import DATABASES, USING_POSTGRES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
if USING_POSTGRES:
    # Tests open many short-lived connections from threads; a pool per test database is not needed.
    DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
WHITENOISE_AUTOREFRESH = True
