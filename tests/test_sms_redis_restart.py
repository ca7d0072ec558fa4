"""Each SMS once when Redis restarts (issue 15): the broker is lost with the delivery tasks queued
in it and with a worker in the middle of a batch; the outbox rows in PostgreSQL are the truth, the
sweep hands the rows no task got to the worker again once Redis is back, and a row left ``sending``
is reconciled by the gateway's query, never posted twice.

Redis here is a server of the test's own (no persistence: a restart loses every queued task), a
real Celery worker and the sweep run as processes against it, and the HTTP gateway posts to a
provider in the test that counts the posts of each row."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection

from notifications.models import SmsEvent, SmsOutbox

ROOT = Path(__file__).resolve().parent.parent
SECRET = "restart-secret"
ROWS = 24

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class CountingProvider(BaseHTTPRequestHandler):
    """An SMS provider that takes a while per message and counts the posts of each row id."""

    posts: Counter = Counter()
    taken: dict[str, str] = {}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: dict | None = None) -> None:
        payload = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers["Idempotency-Key"]
        time.sleep(0.15)  # slow enough for Redis to die in the middle of a batch
        with self.lock:
            self.posts[key] += 1
            self.taken.setdefault(key, f"p-{key}")
        self._answer(202, {"message_id": self.taken[key]})

    def do_GET(self):
        key = self.path.rsplit("/", 1)[-1]
        if key in self.taken:
            return self._answer(200, {"message_id": self.taken[key]})
        return self._answer(404)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # the killed worker's post: nobody to answer
        pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    def __init__(self, directory: Path) -> None:
        self.port, self.directory, self.process = _free_port(), directory, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as link:
                    link.sendall(b"PING\r\n")
                    if link.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """Gone at once, with everything queued in it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode:
        pytest.skip("redis-server is not installed")
    redis = OwnRedis(tmp_path)
    redis.start()
    yield redis
    if redis.process is not None and redis.process.poll() is None:
        redis.kill()


@pytest.fixture
def provider():
    CountingProvider.posts, CountingProvider.taken = Counter(), {}
    server = QuietServer(("127.0.0.1", 0), CountingProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _env(redis: OwnRedis, provider_url: str) -> dict[str, str]:
    params = connection.settings_dict
    host = f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
    database = f"postgres://{params['USER'] or 'postgres'}@{host}/{params['NAME']}"
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="contactcenter.settings.local",
        DATABASE_URL=database,
        REDIS_URL=redis.url,
        SMS_GATEWAY="http",
        SMS_HTTP_URL=provider_url,
        SMS_HTTP_SECRET=SECRET,
        SMS_SENDING_STALE_S="2",
        SMS_BATCH="4",
    )


def _manage(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode()


def _worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "contactcenter", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        _out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
    return err.decode(errors="replace")[-2000:]


def _statuses() -> Counter:
    return Counter(SmsOutbox.objects.values_list("status", flat=True))


def test_a_redis_restart_loses_the_queued_tasks_but_no_message_and_sends_none_twice(own_redis, provider):
    # Rows as the transfer function writes them (no task yet), then their tasks queued in Redis.
    rows = [
        SmsOutbox.objects.create(phone=f"139{index:08d}", kind=SmsOutbox.Kind.SERVICE, text=f"【农合银行】通知{index}")
        for index in range(ROWS)
    ]
    ids = [row.pk for row in rows]
    env = _env(own_redis, provider)
    _manage(env, f"from notifications.delivery import schedule\nfor i in range(0, {ROWS}, 4): schedule({ids}[i:i + 4])")

    worker = _worker(env)
    try:
        # The worker works through the queue; Redis dies in the middle of it, with tasks still queued
        # and one batch in the worker's hands (claimed rows it is posting).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(CountingProvider.posts.values()) < 3:
            time.sleep(0.02)
        assert sum(CountingProvider.posts.values()) >= 3, _stop(worker)
        # The node loses power: Redis and the worker die together, the worker between posts.
        own_redis.kill()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        time.sleep(0.5)  # the provider finishes the post in flight
        lost = _statuses()
        assert lost[SmsOutbox.Status.PENDING] > 0, lost  # their tasks died with Redis
        assert lost[SmsOutbox.Status.SENDING] > 0, lost  # claimed, some posted, none marked
        own_redis.start()  # empty: every queued task is gone
        worker = _worker(env)

        # Beat's sweep (run here as beat would, every few seconds) finds the waiting rows and the
        # rows left ``sending``; the worker, reconnected, delivers them.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _statuses()[SmsOutbox.Status.SENT] < ROWS:
            _manage(env, "from notifications.delivery import sweep\nsweep()")
            time.sleep(1.0)
        assert _statuses() == {SmsOutbox.Status.SENT: ROWS}, (_statuses(), _stop(worker))
    finally:
        _stop(worker)

    # Every message reached the provider, and each was posted once: after the restart the rows the
    # dead worker had posted were asked for, not posted again; those it had not, posted once.
    assert sorted(CountingProvider.posts) == sorted(str(pk) for pk in ids)
    assert set(CountingProvider.posts.values()) == {1}, CountingProvider.posts
    sent_events = Counter(SmsEvent.objects.filter(status=SmsOutbox.Status.SENT).values_list("message_id", flat=True))
    assert sent_events == dict.fromkeys(ids, 1)
    assert {row.gateway_id for row in SmsOutbox.objects.all()} == {f"p-{pk}" for pk in ids}
