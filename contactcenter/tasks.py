"""Project-level tasks: a probe that proves a worker consumes from the broker."""

from celery import shared_task
from django.core.cache import cache


@shared_task(name="contactcenter.worker_probe", soft_time_limit=20, time_limit=30)
def worker_probe(token: str) -> str:
    """Write ``token`` to the cache under a known key and return it (used by health and tests)."""
    cache.set(f"worker-probe:{token}", "consumed", timeout=300)
    return token
