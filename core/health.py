"""``GET /healthz``: database and Redis checks for the reverse proxy and the maintainer's page."""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


def check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the kind is enough for the operator
        logger.warning("health: database check failed: %s", exc.__class__.__name__)
        return {"status": "error", "error": exc.__class__.__name__}
    return {
        "status": "ok",
        "vendor": connection.vendor,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


def check_redis() -> dict:
    if not settings.REDIS_URL:
        return {"status": "not_configured"}
    import redis

    started = time.perf_counter()
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=settings.HEALTHZ_TIMEOUT_S,
            socket_timeout=settings.HEALTHZ_TIMEOUT_S,
        )
        client.ping()
        client.close()
    except Exception as exc:  # connection refused, timeout, auth: all "down"
        logger.warning("health: redis check failed: %s", exc.__class__.__name__)
        return {"status": "error", "error": exc.__class__.__name__}
    return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}


def system_health() -> dict:
    checks = {"database": check_database(), "redis": check_redis()}
    healthy = all(check["status"] in {"ok", "not_configured"} for check in checks.values())
    return {
        "status": "ok" if healthy else "error",
        "mode": "full" if settings.FULL_STACK else "embedded",
        "checks": checks,
    }


# Apps add panels to the maintainer's health page without core importing them: a panel is a
# function returning ``{"title", "status": "ok|error|not_configured", "text"}``, registered from
# the app's ``ready()`` (the recordings' last integrity check: ``calls/apps.py``).
_panels: dict[str, Callable[[], dict]] = {}


def register_panel(name: str, panel: Callable[[], dict]) -> None:
    _panels[name] = panel


def health_panels() -> list[dict]:
    """The registered panels' reports; a failing panel shows as an error, never breaks the page."""
    reports = []
    for name, panel in _panels.items():
        try:
            reports.append({"name": name, **panel()})
        except Exception as exc:  # an app's panel failing must not take the health page down
            logger.warning("health: panel %s failed: %s", name, exc.__class__.__name__)
            reports.append({"name": name, "title": name, "status": "error", "text": exc.__class__.__name__})
    return reports


@never_cache
def healthz(request):
    report = system_health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
