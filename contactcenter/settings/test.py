"""Test settings: the same mode switch as everywhere (DATABASE_URL / REDIS_URL), faster hashing."""

from .base import *  # noqa: F401,F403
from .base import DATABASES, USING_POSTGRES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
if USING_POSTGRES:
    # Tests open many short-lived connections from threads; a pool per test database is not needed.
    DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
WHITENOISE_AUTOREFRESH = True

# Recordings the tests store go to a directory of their own (never the developer's var/recordings,
# which verify_recordings would then report as stray files), removed when the run ends. Set in the
# environment, so the servers a test starts (uvicorn, gunicorn) read the same files; an explicit
# RECORDINGS_ROOT (scripts/schemathesis_run.py sets one) wins.
import atexit  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

from .base import RECORDINGS_S3_BUCKET, STORAGES  # noqa: E402

if not os.environ.get("RECORDINGS_ROOT"):
    os.environ["RECORDINGS_ROOT"] = tempfile.mkdtemp(prefix="cc-test-recordings-")
    atexit.register(shutil.rmtree, os.environ["RECORDINGS_ROOT"], ignore_errors=True)
RECORDINGS_ROOT = os.environ["RECORDINGS_ROOT"]
if not RECORDINGS_S3_BUCKET:
    STORAGES["recordings"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": RECORDINGS_ROOT},
    }
