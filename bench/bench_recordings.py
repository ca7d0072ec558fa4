"""Call recordings under load (issue 17).

1. Upload and Range playback, 20 concurrent streams, through the real server: the embedded
   default (SQLite, uvicorn) or, when ``DATABASE_URL`` is set, full mode (a throw-away
   PostgreSQL database, gunicorn). Uploads: ``POST /api/recordings/`` (multipart, switch token,
   each a distinct call) against a plain upload view on the same server that only saves the file
   (Django's upload handling, no probe, hash, chain or audit). Playback: each stream walks a
   recording in 64 KiB ``Range`` requests as a browser's media element does, through
   ``/api/recordings/{id}/audio/`` (token auth, access check, playback audit, storage API) against
   a plain Range file view (no auth, no database) on the same file in the same run, alternating
   windows. Ratio = recordings ÷ plain.
2. Search: the recordings page (``/recordings/``, session auth, template) over
   ``BENCH_REC_ROWS`` (default 1,000,000) recording rows and as many calls, bulk-inserted with
   ``generate_series`` on a throw-away PostgreSQL database; p95 per query shape, goal < 150 ms.
3. ``verify_recordings`` (``integrity.verify``) over ``BENCH_REC_FILES`` (default 10,000) files
   of ``BENCH_REC_FILE_KB`` KiB, in MB/s, against ``sha256sum`` over the same files.

Sizes: ``BENCH_REC_ROWS``, ``BENCH_REC_FILES``, ``BENCH_REC_FILE_KB``, ``BENCH_REC_SECONDS``
(per window, default 6), ``BENCH_REC_STREAMS`` (20), ``BENCH_REC_REQUESTS`` (40 per search),
``BENCH_REC_PARTS`` (``stream,search,verify``).

Run: ``make bench`` or ``.venv/bin/python -m bench bench_recordings``.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.http import ROOT, free_port, gunicorn, percentile, stop, use_fast_hashers, uvicorn, wait_for

ROWS = int(os.environ.get("BENCH_REC_ROWS", "1000000"))
FILES = int(os.environ.get("BENCH_REC_FILES", "10000"))
FILE_KB = int(os.environ.get("BENCH_REC_FILE_KB", "16"))
SECONDS = float(os.environ.get("BENCH_REC_SECONDS", "6"))
STREAMS = int(os.environ.get("BENCH_REC_STREAMS", "20"))
REQUESTS = int(os.environ.get("BENCH_REC_REQUESTS", "40"))
PARTS = set(os.environ.get("BENCH_REC_PARTS", "stream,search,verify").split(","))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", str((os.cpu_count() or 2) * 2)))
CHUNK = 64 * 1024
CLIP_S = 60  # the streamed recording: a minute of 8 kHz 16-bit mono (≈ 940 KiB)
GOAL_SEARCH_P95_MS = 150.0
STATIC_PATH = "/bench/static/clip.wav"
PLAIN_UPLOAD_PATH = "/bench/upload/"
DISPOSITIONS = ("resolved", "consultation", "complaint", "suggestion", "loss_report", "other")
MASKED_JSON = json.dumps([{"start_ms": 20000, "end_ms": 26000, "reason": "password"}])


def run() -> list[dict]:
    rows: list[dict] = []
    if "stream" in PARTS or "verify" in PARTS:
        rows += _in_mode(_stream_and_verify)
    if "search" in PARTS:
        rows += _search()
    return rows


# --- the wiring -----------------------------------------------------------------------------------


def _full_mode() -> bool:
    return bool(os.environ.get("DATABASE_URL"))


def _in_mode(body) -> list[dict]:
    """Run ``body(env, mode)`` on a fresh database of the current mode."""
    work = Path(tempfile.mkdtemp(prefix="bench-rec-"))
    try:
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="contactcenter.settings.base",
            LOG_LEVEL="WARNING",
            AXES_ENABLED="false",
            RECORDINGS_ROOT=str(work / "recordings"),
            BENCH_REC_WORK=str(work),
            DB_POOL_MAX="4",
        )
        env.pop("REDIS_URL", None)
        if _full_mode():
            from bench.pg import throwaway_database

            with throwaway_database("cc_bench_rec") as url:
                env["DATABASE_URL"] = url
                return body(env, "full")
        env["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
        return body(env, "embedded")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _child(env: dict, *args: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_recordings", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _wav(seconds: float, *, seed: int = 1) -> bytes:
    """A WAV (8 kHz, 16-bit, mono) of speech-like noise bursts."""
    import numpy as np

    rng = np.random.default_rng(seed)
    frames = int(8000 * seconds)
    envelope = (np.sin(np.arange(frames) / 8000 * math.pi * 0.7) ** 2) * 12_000
    samples = (rng.standard_normal(frames) * envelope).clip(-32_000, 32_000).astype("<i2").tobytes()
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + len(samples))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16_000, 2, 16)
    )
    return header + b"data" + struct.pack("<I", len(samples)) + samples


def _stream_and_verify(env: dict, mode: str) -> list[dict]:
    rows: list[dict] = []
    work = Path(env["BENCH_REC_WORK"])
    if "stream" in PARTS:
        fixture = _child(env, "--setup-stream")
        port = free_port()
        server = (
            gunicorn("bench.bench_recordings:wsgi_application", port, env, WORKERS)
            if mode == "full"
            else uvicorn("bench.bench_recordings:asgi_application", port, env)
        )
        try:
            wait_for(port)
            result = asyncio.run(_measure_streams(port, fixture, work / "clip.wav"))
            result["playbacks"] = int(_child(env, "--count-playbacks", str(fixture["recording_id"]))["playbacks"])
        finally:
            stop(server)
        server_label = f"gunicorn {WORKERS} workers, PostgreSQL" if mode == "full" else "uvicorn, SQLite"
        rows += [
            {
                "name": f"recording upload ({STREAMS} streams, {mode})",
                "value": result["upload_mb_s"],
                "unit": "MB/s",
                "baseline": result["plain_upload_mb_s"],
                "ratio": result["upload_mb_s"] / result["plain_upload_mb_s"] if result["plain_upload_mb_s"] else 0.0,
                "note": f"{result['uploads_s']:.1f} uploads/s of {result['clip_kb']} KiB; "
                "baseline: a plain upload view "
                f"(save only), same server; {server_label}; errors {result['upload_errors']}",
            },
            {
                "name": f"Range playback ({STREAMS} streams, 64 KiB, {mode})",
                "value": result["play_mb_s"],
                "unit": "MB/s",
                "baseline": result["static_mb_s"],
                "ratio": result["play_mb_s"] / result["static_mb_s"] if result["static_mb_s"] else 0.0,
                "note": f"{result['play_rps']:.0f} req/s, p95 {result['play_p95_ms']:.0f} ms; "
                f"baseline: plain Range file view {result['static_rps']:.0f} req/s; "
                f"audited playbacks {result['playbacks']}; errors {result['play_errors']}",
            },
        ]
    if "verify" in PARTS:
        result = _child(env, "--verify")
        rows.append(
            {
                "name": f"verify_recordings, {result['files']:,} files × {FILE_KB} KiB ({mode})",
                "value": result["verify_mb_s"],
                "unit": "MB/s",
                "baseline": result["sha256sum_mb_s"],
                "ratio": result["verify_mb_s"] / result["sha256sum_mb_s"] if result["sha256sum_mb_s"] else 0.0,
                "note": f"{result['verify_s']:.2f} s, {'OK' if result['ok'] else 'FAILED'}; baseline: sha256sum on the "
                f"same files {result['sha256sum_s']:.2f} s (page cache warm for both)",
            }
        )
    return rows


# --- part 1: the server's URLconf and the load --------------------------------------------------


def _bench_urlpatterns() -> list:
    import re

    from django.core.files.storage import FileSystemStorage
    from django.http import HttpResponse, JsonResponse
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    work = Path(os.environ["BENCH_REC_WORK"])
    static_file = work / "clip.wav"
    uploads = FileSystemStorage(location=str(work / "plain-uploads"))
    byte_range = re.compile(r"bytes=(\d+)-(\d*)$")

    def plain_static(request):
        """A plain Range file view: no auth, no database — the floor of serving these bytes."""
        size = static_file.stat().st_size
        match = byte_range.match(request.headers.get("Range", ""))
        start, end = (int(match.group(1)), int(match.group(2) or size - 1)) if match else (0, size - 1)
        end = min(end, size - 1)
        with static_file.open("rb") as handle:
            handle.seek(start)
            body = handle.read(end - start + 1)
        response = HttpResponse(body, status=206 if match else 200, content_type="audio/wav")
        if match:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Accept-Ranges"] = "bytes"
        return response

    @csrf_exempt
    def plain_upload(request):
        upload = request.FILES["file"]
        name = uploads.save("u.wav", upload)
        uploads.delete(name)
        return JsonResponse({"size": upload.size}, status=201)

    return [
        path(STATIC_PATH.strip("/"), plain_static),
        path(PLAIN_UPLOAD_PATH.strip("/") + "/", plain_upload),
        path("", include("contactcenter.urls")),
    ]


_cache: dict[str, object] = {}


def _wsgi():
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.bench_recordings"
    use_fast_hashers()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _asgi():
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.bench_recordings"
    use_fast_hashers()
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


def __getattr__(name: str):
    # PEP 562: servers import these lazily, so importing this module for ``make bench`` needs no settings.
    if name == "wsgi_application":
        return _cache.setdefault(name, _wsgi())
    if name == "asgi_application":
        return _cache.setdefault(name, _asgi())
    if name == "urlpatterns":
        return _cache.setdefault(name, _bench_urlpatterns())
    raise AttributeError(name)


async def _http(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, int, float]:
    """One request on its own connection → (status, body bytes, ms)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{key}: {value}\r\n" for key, value in headers.items()) + "\r\n"
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode() + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    elapsed = (time.perf_counter() - started) * 1000
    status = int(raw[9:12]) if len(raw) > 12 else 0
    split = raw.find(b"\r\n\r\n")
    return status, (len(raw) - split - 4) if split >= 0 else 0, elapsed


def _multipart(fields: dict[str, str], data: bytes) -> tuple[str, bytes]:
    boundary = f"bench{random.randrange(10**12)}"  # noqa: S311 - a boundary, not a secret
    out = io.BytesIO()
    for key, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n".encode()
    )
    out.write(data + f"\r\n--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", out.getvalue()


async def _window(streams: int, seconds: float, one) -> tuple[int, int, int, list[float]]:
    """``streams`` loops of ``one(stream, n) -> (status, bytes, ms)`` for ``seconds``
    → (requests, bytes, errors, latencies in ms)."""
    deadline = time.monotonic() + seconds
    totals = {"requests": 0, "bytes": 0, "errors": 0}
    latencies: list[float] = []

    async def loop(stream: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            status, size, ms = await one(stream, n)
            n += 1
            totals["requests"] += 1
            totals["bytes"] += size
            latencies.append(ms)
            if status >= 400 or status == 0:
                totals["errors"] += 1

    await asyncio.gather(*(loop(stream) for stream in range(streams)))
    return totals["requests"], totals["bytes"], totals["errors"], latencies


async def _measure_streams(port: int, fixture: dict, clip: Path) -> dict:
    data = clip.read_bytes()
    size = len(data)
    switch = {"Authorization": f"Token {fixture['switch_token']}"}
    lead = {"Authorization": f"Token {fixture['lead_token']}"}
    calls = iter(fixture["call_ids"])
    recording = fixture["recording_id"]
    audio_path = f"/api/recordings/{recording}/audio/"
    chunks = max(1, math.ceil(size / CHUNK))

    def ranged(path: str, auth: dict):
        async def one(stream: int, n: int):
            start = ((stream * 7 + n) % chunks) * CHUNK
            return await _http(port, "GET", path, {**auth, "Range": f"bytes={start}-{min(start + CHUNK, size) - 1}"})

        return one

    async def upload(stream: int, n: int):
        content_type, body = _multipart({"call_id": next(calls), "started_at": fixture["started_at"]}, data)
        return await _http(port, "POST", "/api/recordings/", {**switch, "Content-Type": content_type}, body)

    async def plain_upload(stream: int, n: int):
        content_type, body = _multipart({"call_id": "x"}, data)
        return await _http(port, "POST", PLAIN_UPLOAD_PATH, {"Content-Type": content_type}, body)

    # Warm up both paths, then alternate windows (this shared machine's speed drifts).
    await _window(4, 1.0, ranged(audio_path, lead))
    await _window(4, 1.0, ranged(STATIC_PATH, {}))
    play = {"requests": 0, "bytes": 0, "errors": 0, "seconds": 0.0, "latencies": []}
    static = {"requests": 0, "bytes": 0, "errors": 0, "seconds": 0.0, "latencies": []}
    for _round in range(2):
        for target, one in ((play, ranged(audio_path, lead)), (static, ranged(STATIC_PATH, {}))):
            started = time.monotonic()
            requests, total, errors, latencies = await _window(STREAMS, SECONDS / 2, one)
            target["seconds"] += time.monotonic() - started
            target["requests"] += requests
            target["bytes"] += total
            target["errors"] += errors
            target["latencies"] += latencies
    uploads = {"requests": 0, "bytes": 0, "errors": 0, "seconds": 0.0}
    plain = {"requests": 0, "bytes": 0, "errors": 0, "seconds": 0.0}
    for target, one in ((uploads, upload), (plain, plain_upload)):
        started = time.monotonic()
        requests, _total, errors, _lat = await _window(STREAMS, SECONDS / 2, one)
        target["seconds"] += time.monotonic() - started
        target["requests"] += requests
        target["bytes"] += requests * size
        target["errors"] += errors
    return {
        "clip_kb": size // 1024,
        "play_mb_s": play["bytes"] / play["seconds"] / 1e6,
        "play_rps": play["requests"] / play["seconds"],
        "play_p95_ms": percentile(play["latencies"], 0.95),
        "play_errors": play["errors"],
        "static_mb_s": static["bytes"] / static["seconds"] / 1e6,
        "static_rps": static["requests"] / static["seconds"],
        "upload_mb_s": (uploads["bytes"] - uploads["errors"] * size) / uploads["seconds"] / 1e6,
        "uploads_s": (uploads["requests"] - uploads["errors"]) / uploads["seconds"],
        "upload_errors": uploads["errors"],
        "plain_upload_mb_s": (plain["bytes"] - plain["errors"] * size) / plain["seconds"] / 1e6,
    }


def _setup_stream() -> dict:
    import django

    django.setup()
    use_fast_hashers()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from calls.models import Call
    from calls.recordings.services import recording_ingest
    from org.models import StaffProfile
    from org.roles import Role

    call_command("migrate", verbosity=0)
    work = Path(os.environ["BENCH_REC_WORK"])
    clip = work / "clip.wav"
    clip.write_bytes(_wav(CLIP_S))
    User = get_user_model()
    users = {}
    for username, role in (("switch", Role.SWITCH), ("lead1", Role.TEAM_LEAD), ("agent01", Role.AGENT)):
        users[username] = User.objects.create(username=username)
        StaffProfile.objects.create(user=users[username], role=role)
    started = timezone.now() - timedelta(hours=1)
    uploads = int(STREAMS * SECONDS * 20) + 200  # more calls than the upload window can use
    Call.objects.bulk_create(
        [
            Call(call_id=f"bench-up-{n}", agent=users["agent01"], started_at=started, answered_at=started)
            for n in range(uploads + 1)
        ],
        batch_size=2000,
    )
    with clip.open("rb") as handle:
        recording = recording_ingest(
            call_id=f"bench-up-{uploads}", started_at=started, content=File(handle, name="clip.wav")
        ).recording
    return {
        "switch_token": Token.objects.create(user=users["switch"]).key,
        "lead_token": Token.objects.create(user=users["lead1"]).key,
        "call_ids": [f"bench-up-{n}" for n in range(uploads)],
        "started_at": started.isoformat(),
        "recording_id": recording.pk,
    }


def _count_playbacks(recording: int) -> dict:
    import django

    django.setup()
    from audit.selectors import audit_event_list

    return {
        "playbacks": audit_event_list(
            filters={"object_type": "recording", "object_id": str(recording), "action": "recording.play"}
        ).count()
    }


# --- part 3: verify_recordings against sha256sum ------------------------------------------------


def _sha256sum(files: list[str]) -> None:
    """``sha256sum`` over ``files``, in batches as ``xargs`` would run it."""
    for start in range(0, len(files), 2000):
        subprocess.run(["sha256sum", *files[start : start + 2000]], check=True, stdout=subprocess.DEVNULL)  # noqa: S603, S607


def _verify() -> dict:
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from calls.models import Call
    from calls.recordings import integrity, storage
    from calls.recordings.models import Recording

    call_command("migrate", verbosity=0)
    root = Path(os.environ["RECORDINGS_ROOT"]) / "bench"
    root.mkdir(parents=True, exist_ok=True)
    started = timezone.now() - timedelta(days=1)
    calls = Call.objects.bulk_create(
        [Call(call_id=f"bench-verify-{n}", started_at=started) for n in range(FILES)], batch_size=2000
    )
    import hashlib

    rng = random.Random(17)
    last = Recording.objects.order_by("-seq").values_list("seq", "row_hash").first()
    seq, prev = last if last else (0, integrity.GENESIS)
    rows = []
    header = _wav(0)[:44]
    for n, call in enumerate(calls):
        body = header + rng.randbytes(FILE_KB * 1024 - 44)
        name = f"bench/{n:05d}.wav"
        (root / f"{n:05d}.wav").write_bytes(body)
        seq += 1
        row = Recording(
            call=call,
            started_at=started,
            duration_ms=(len(body) - 44) // 16,
            size=len(body),
            format="wav_pcm",
            sha256=hashlib.sha256(body).hexdigest(),
            storage_name=name,
            seq=seq,
            prev_hash=prev,
        )
        row.row_hash = integrity.digest_of(row)
        prev = row.row_hash
        rows.append(row)
    Recording.objects.bulk_create(rows, batch_size=2000)
    assert storage.exists(rows[0].storage_name)
    files = sorted(str(path) for path in Path(os.environ["RECORDINGS_ROOT"]).rglob("*") if path.is_file())
    total = sum(os.path.getsize(path) for path in files)
    # Warm the page cache for both (the first reader would pay the disk for the second).
    subprocess.run(["cat", *files[:1]], check=True, capture_output=True)
    clock = time.perf_counter()
    _sha256sum(files)
    sha256sum_s = time.perf_counter() - clock
    clock = time.perf_counter()
    check = integrity.verify(trigger="command")
    verify_s = time.perf_counter() - clock
    # sha256sum a second time: the first run warmed the cache for verify, this one is the fair pair.
    clock = time.perf_counter()
    _sha256sum(files)
    sha256sum_s = min(sha256sum_s, time.perf_counter() - clock)
    return {
        "files": len(files),
        "bytes": total,
        "ok": check.ok,
        "problems": len(check.problems),
        "verify_s": verify_s,
        "verify_mb_s": total / verify_s / 1e6,
        "sha256sum_s": sha256sum_s,
        "sha256sum_mb_s": total / sha256sum_s / 1e6,
    }


# --- part 2: the search over a million rows -----------------------------------------------------


def _search() -> list[dict]:
    from bench.pg import throwaway_database

    try:
        with throwaway_database("cc_bench_recsearch") as url:
            env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="contactcenter.settings.test")
            env.pop("REDIS_URL", None)
            result = _child(env, "--search")
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        return [
            {
                "name": "recordings search",
                "value": 0.0,
                "unit": "ms",
                "baseline": GOAL_SEARCH_P95_MS,
                "ratio": 0.0,
                "note": f"skipped: no PostgreSQL for the bench ({exc.__class__.__name__})",
            }
        ]
    rows = []
    for item in result["measurements"]:
        floor = item["name"].lstrip().startswith("floor")
        rows.append(
            {
                "name": item["name"],
                "value": item["p95_ms"],
                "unit": "ms",
                "baseline": GOAL_SEARCH_P95_MS,
                "ratio": item["p95_ms"] / GOAL_SEARCH_P95_MS,
                "note": f"this machine's floor in the same run; median {item['median_ms']:.1f} ms"
                if floor
                else f"p95 (goal < {GOAL_SEARCH_P95_MS:.0f}); median {item['median_ms']:.1f} ms; "
                f"{item['rows']} rows shown",
            }
        )
    rows.append(
        {
            "name": f"  data: {result['rows']:,} recordings and calls",
            "value": result["load_s"],
            "unit": "s",
            "baseline": 0.0,
            "ratio": 0.0,
            "note": "generate_series bulk insert + ANALYZE",
        }
    )
    return rows


def _sql_literal(field) -> str:
    """A constant SQL value for a NOT NULL column the bench does not care about (its model default)."""
    from django.db import models

    default = field.get_default()
    if isinstance(field, models.JSONField):
        return "'" + json.dumps(default if default is not None else []).replace("'", "''") + "'::jsonb"
    if isinstance(field, models.BooleanField):
        return "true" if default else "false"
    if isinstance(field, models.IntegerField | models.FloatField | models.DecimalField):
        return str(default or 0)
    if isinstance(field, models.DateTimeField):
        return "now()"
    return "'" + str(default or "").replace("'", "''") + "'"


def _insert_series(model, count: int, expressions: dict[str, str]) -> None:
    """``INSERT INTO <model> SELECT … FROM generate_series(1, count) AS g`` with ``expressions``
    (SQL over ``g``) for the columns that matter, NULL or the model default for the others."""
    from django.db import connection

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in expressions:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in expressions:
            values.append(expressions[field.column])
        elif field.null:
            values.append("NULL")
        else:
            values.append(_sql_literal(field))
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 - our own columns
        f"SELECT {', '.join(values)} FROM generate_series(1, {int(count)}) AS g"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _search_child() -> dict:
    import django

    django.setup()
    use_fast_hashers()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from calls.demo import ensure_default_queues
    from calls.models import Call
    from calls.recordings.models import Recording
    from org.models import StaffProfile
    from org.roles import Role

    call_command("migrate", verbosity=0)
    queues = ensure_default_queues()
    User = get_user_model()
    agents = []
    for n in range(1, 16):
        user = User.objects.create(username=f"agent{n:02d}")
        StaffProfile.objects.create(user=user, role=Role.AGENT)
        agents.append(user.pk)
    lead = User.objects.create(username="lead1")
    StaffProfile.objects.create(user=lead, role=Role.TEAM_LEAD)
    queue_ids = [queues[code].pk for code in ("general", "card", "complaint")]
    first_agent, agent_count = min(agents), len(agents)
    assert agents == list(range(first_agent, first_agent + agent_count))
    clock = time.monotonic()
    # Two years of recordings ending now, newest last; ``g`` is both the call's and the recording's number.
    span_s = 2 * 365 * 86_400
    at = f"(now() - make_interval(secs => {span_s} * (1 - g::float8 / {ROWS})))"
    _insert_series(
        Call,
        ROWS,
        {
            "call_id": "'R' || g",
            "ani": "'139' || lpad((g::bigint * 2654435761 % 100000000)::text, 8, '0')",
            "agent_id": f"{first_agent} + g % {agent_count}",
            "service_queue_id": f"(ARRAY{queue_ids})[1 + g % 3]",
            "queue_id": f"(ARRAY{queue_ids})[1 + g % 3]",
            "customer_id": "CASE WHEN g % 3 = 0 THEN 1 + g % 5000 END",
            "disposition": "(ARRAY[" + ",".join(f"'{code}'" for code in DISPOSITIONS) + "])[1 + (g / 7) % 6]",
            "started_at": at,
            "queued_at": at,
            "answered_at": at,
            "ended_at": f"{at} + interval '3 minutes'",
            "state": "'ended'",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM calls_call")
        first_call = cursor.fetchone()[0]
    _insert_series(
        Recording,
        ROWS,
        {
            "call_id": f"{first_call} - 1 + g",
            "agent_id": f"{first_agent} + g % {agent_count}",
            "customer_id": "CASE WHEN g % 3 = 0 THEN 1 + g % 5000 END",
            "started_at": at,
            "duration_ms": "60000 + g % 240000",
            "size": "480044 + g % 1000",
            "format": "'wav_alaw'",
            "sha256": "md5(g::text) || md5((g + 1)::text)",
            "storage_name": "'bench/' || g || '.wav'",
            "seq": "g",
            "prev_hash": "md5((g - 1)::text) || md5(g::text)",
            "row_hash": "md5(g::text) || md5((g - 1)::text)",
            "masked_segments": f"CASE WHEN g % 10 = 0 THEN '{MASKED_JSON}'::jsonb ELSE '[]'::jsonb END",
            "peaks": "'[]'::jsonb",
            "uploaded_at": at,
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE calls_call")
        cursor.execute("ANALYZE calls_recording")
    load_s = time.monotonic() - clock
    today = timezone.localdate()
    d = lambda days: (today - timedelta_days(days)).isoformat()  # noqa: E731
    agent = User.objects.get(username="agent05")
    shapes = [
        ("recordings page, last 7 days (lead)", lead, "/recordings/"),
        ("  agent + 30 days", lead, f"/recordings/?agent=agent07&date_from={d(30)}&date_to={d(0)}"),
        ("  customer, a year", lead, f"/recordings/?customer=42&date_from={d(365)}&date_to={d(0)}"),
        ("  caller number digits, one day", lead, f"/recordings/?caller=1390&date_from={d(3)}&date_to={d(3)}"),
        (
            "  queue + disposition, 30 days",
            lead,
            f"/recordings/?queue=card&disposition=complaint&date_from={d(30)}&date_to={d(0)}",
        ),
        ("  one call id", lead, f"/recordings/?call_id=R{ROWS // 2}&list=1"),
        ("  page 20 of a year", lead, f"/recordings/?date_from={d(365)}&date_to={d(0)}&page=20"),
        ("agent's own recordings, 90 days", agent, f"/recordings/?date_from={d(90)}&date_to={d(0)}"),
        ("  floor: GET /api/org/me/", lead, "/api/org/me/"),
    ]
    clients = []
    for name, user, path in shapes:
        client = Client()
        client.force_login(user)
        for _ in range(3):
            assert client.get(path).status_code == 200, path
        clients.append((name, client, path, []))
    for _ in range(REQUESTS):
        for _name, client, path, timings in clients:
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, path
    measurements = []
    for name, client, path, timings in clients:
        html = client.get(path).content.decode()
        measurements.append(
            {
                "name": name,
                "p95_ms": percentile(timings, 0.95),
                "median_ms": statistics.median(timings),
                "rows": html.count("<tr data-recording="),
            }
        )
    return {"measurements": measurements, "rows": ROWS, "load_s": load_s}


def timedelta_days(days: int):
    from datetime import timedelta

    return timedelta(days=days)


if __name__ == "__main__":
    if "--setup-stream" in sys.argv:
        print(json.dumps(_setup_stream()))
    elif "--count-playbacks" in sys.argv:
        print(json.dumps(_count_playbacks(int(sys.argv[-1]))))
    elif "--verify" in sys.argv:
        print(json.dumps(_verify()))
    elif "--search" in sys.argv:
        print(json.dumps(_search_child()))
    else:
        from bench.__main__ import print_table

        print_table(run())
