"""``GET /healthz``: database and Redis checks for the reverse proxy and the maintainer's page."""

import logging
import time

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


@never_cache
def healthz(request):
    report = system_health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
