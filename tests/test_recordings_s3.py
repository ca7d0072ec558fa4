"""Recordings in an S3-compatible store (django-storages' S3 backend), against a real S3 server the
test starts: moto's server mode on a local port. Upload, Range streaming and the integrity check
go through HTTP to it; tampering with the object is found."""

from __future__ import annotations

import hashlib
import socket

import pytest
from rest_framework.test import APIClient

from calls.recordings import integrity, storage
from calls.recordings.models import Recording
from org.roles import Role
from tests.factories import make_staff
from tests.recordings_helpers import make_call, upload, wav_pcm

moto_server = pytest.importorskip("moto.server", reason="moto[server] not installed (requirements-dev.txt)")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("storages.backends.s3")

pytestmark = pytest.mark.django_db
BUCKET = "cc-recordings-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_endpoint, settings, monkeypatch):
    from django.core.cache import cache

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "location": "recordings",
                "file_overwrite": False,
            },
        },
    }
    cache.clear()
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_store_stream_and_verify_through_s3(s3_storage):
    assert storage.is_s3()
    switch = APIClient()
    switch.force_authenticate(make_staff(Role.SWITCH))
    agent = make_staff(Role.AGENT)
    make_call("s3-1", agent=agent)
    data = wav_pcm(1.5)
    response = upload(switch, "s3-1", data)
    assert response.status_code == 201, response.content
    rec = Recording.objects.get(pk=response.json()["id"])
    key = f"recordings/{rec.storage_name}"
    stored = s3_storage.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == rec.sha256 == hashlib.sha256(data).hexdigest()

    player = APIClient()
    player.force_authenticate(agent)
    part = player.get(f"/api/recordings/{rec.pk}/audio/", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == data[100:200]
    suffix = player.get(f"/api/recordings/{rec.pk}/audio/", HTTP_RANGE="bytes=-64")
    assert b"".join(suffix.streaming_content) == data[-64:]

    check = integrity.verify()
    assert check.ok, check.problems
    assert (check.files, check.bytes) == (1, len(data))

    # Tamper with the object, add a stray one: both found.
    s3_storage.put_object(Bucket=BUCKET, Key=key, Body=data[:-1] + b"\x00")
    s3_storage.put_object(Bucket=BUCKET, Key="recordings/2020/stray.wav", Body=b"x")
    check = integrity.verify()
    assert sorted(p["kind"] for p in check.problems) == ["altered", "extra"]

    s3_storage.delete_object(Bucket=BUCKET, Key=key)
    check = integrity.verify()
    assert "missing" in {p["kind"] for p in check.problems}
