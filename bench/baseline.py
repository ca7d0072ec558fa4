"""The floor an HTTP write can reach on this server, shared by the benchmarks: a DRF view behind
the same token authentication as the switch's APIs that runs one single-row UPDATE in a
transaction (every IVR step and every CTI event must persist something, so that is the floor).

A benchmark's setup creates the table (``create_counter_table``), its URLconf puts
``baseline_urlpatterns()`` in front of the project's, and its load generator runs
``baseline_loop`` in the same run as the measured requests (alternating windows: this shared
machine's speed drifts within minutes).
"""

from __future__ import annotations

import random
import time

from bench.http import Http

COUNTER_ROWS = 1000
BASELINE_PATH = "/bench/baseline/"


def create_counter_table(rows: int = COUNTER_ROWS) -> None:
    """In a bench setup process, on the throw-away database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_counter (id integer PRIMARY KEY, n bigint NOT NULL DEFAULT 0)")
        cursor.execute("INSERT INTO bench_counter (id) SELECT generate_series(1, %s)", [rows])


def baseline_urlpatterns() -> list:
    """``[path("bench/baseline/", ...)]``; the role allowed is the switch's."""
    from django.db import connection, transaction
    from django.urls import path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from org.permissions import roles_allowed
    from org.roles import Role

    class BaselineApi(APIView):
        """One single-row UPDATE in a transaction, behind the same token auth as the switch's APIs."""

        permission_classes = [roles_allowed(Role.SWITCH)]

        def post(self, request):
            row = int(request.data.get("row", 1))
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("UPDATE bench_counter SET n = n + 1 WHERE id = %s", [row])
            return Response({"ok": True})

    return [path(BASELINE_PATH.strip("/") + "/", BaselineApi.as_view())]


async def baseline_loop(client: Http, deadline: float, rows: int = COUNTER_ROWS) -> int:
    """Baseline requests on one connection until ``deadline`` → how many."""
    count = 0
    while time.monotonic() < deadline:
        await client.post(BASELINE_PATH, {"row": random.randint(1, rows)})  # noqa: S311 - load, not secrets
        count += 1
    return count
