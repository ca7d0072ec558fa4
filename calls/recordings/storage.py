"""Where recording files sit: the named storage ``"recordings"`` (``STORAGES`` in settings).

Embedded default: a ``FileSystemStorage`` under ``RECORDINGS_ROOT`` (``var/recordings``), outside
``MEDIA_ROOT`` so ``/media/`` never serves a recording; full mode may use any S3-compatible store
through django-storages (``RECORDINGS_S3_BUCKET`` …). Everything here goes through Django's storage
API, except reading a byte range of an S3 object: django-storages' ``S3File`` downloads the whole
object before the first read, so ranges and hashing read the object's body as a stream instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import Storage, storages

STORAGE_ALIAS = "recordings"
CHUNK = 256 * 1024
EXTENSIONS = {"wav_pcm": "wav", "wav_alaw": "wav", "wav_ulaw": "wav", "ogg_opus": "opus", "mp3": "mp3"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def recording_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def is_s3(storage: Storage | None = None) -> bool:
    storage = storage or recording_storage()
    return hasattr(storage, "bucket") and hasattr(storage, "_normalize_name")


def name_for(*, call_id: str, started_at: datetime, sha256: str, fmt: str) -> str:
    """``2026/12/02/<call id, safe characters only>-<sha256 prefix>.<ext>``: the call id as the
    switch named it is only a hint for a human reading a listing; the hash makes it unique."""
    safe_call = _UNSAFE.sub("_", call_id)[:80] or "call"
    return f"{started_at:%Y/%m/%d}/{safe_call}-{sha256[:20]}.{EXTENSIONS.get(fmt, 'bin')}"


def save(name: str, content: File) -> str:
    """Store ``content`` (streamed by the backend in chunks; a temporary upload is moved) under
    ``name`` or a free variant of it; the name it got."""
    content.seek(0)
    return recording_storage().save(name, content)


def delete(name: str) -> None:
    recording_storage().delete(name)


def exists(name: str) -> bool:
    return recording_storage().exists(name)


def size(name: str) -> int:
    return recording_storage().size(name)


def _s3_object(name: str) -> Any:
    from storages.utils import clean_name

    storage = recording_storage()
    return storage.bucket.Object(storage._normalize_name(clean_name(name)))  # type: ignore[attr-defined]


def iter_bytes(name: str, start: int = 0, end: int | None = None, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The bytes ``start``…``end`` (inclusive; ``None``: to the end) of a stored file, in chunks.
    The file is opened before this returns: a missing one raises ``FileNotFoundError`` here, not
    in the middle of a response."""
    if is_s3():
        from botocore.exceptions import ClientError

        byte_range = f"bytes={start}-" + ("" if end is None else str(end))
        try:
            body = _s3_object(name).get(Range=byte_range)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise FileNotFoundError(name) from exc
            raise
        return _s3_chunks(body, chunk_size)
    handle: IO[bytes] = recording_storage().open(name, "rb")
    handle.seek(start)
    return _file_chunks(handle, None if end is None else end - start + 1, chunk_size)


def _s3_chunks(body: Any, chunk_size: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def _file_chunks(handle: IO[bytes], remaining: int | None, chunk_size: int) -> Iterator[bytes]:
    try:
        while remaining is None or remaining > 0:
            data = handle.read(chunk_size if remaining is None else min(chunk_size, remaining))
            if not data:
                break
            if remaining is not None:
                remaining -= len(data)
            yield data
    finally:
        handle.close()


def all_names() -> Iterator[str]:
    """Every file in the storage (the integrity check's "extra file" search)."""
    if is_s3():
        storage = recording_storage()
        prefix = storage._normalize_name("")  # type: ignore[attr-defined]
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        for item in storage.bucket.objects.filter(Prefix=prefix):  # type: ignore[attr-defined]
            yield item.key[len(prefix) :]
        return
    storage = recording_storage()
    try:
        yield from _walk(storage, "")
    except FileNotFoundError:  # nothing stored yet: the directory is created by the first save
        return


def _walk(storage: Storage, path: str) -> Iterator[str]:
    directories, files = storage.listdir(path)
    for file_name in files:
        yield f"{path}/{file_name}" if path else file_name
    for directory in directories:
        yield from _walk(storage, f"{path}/{directory}" if path else directory)
