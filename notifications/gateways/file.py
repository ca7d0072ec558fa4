"""The file gateway (the default; embedded mode): each message a JSON file under
``SMS_FILE_DIR`` (``var/sms/``), named by the outbox row's id — so it is written once whatever
happens (a second send of the same row finds its file and answers the same) and ``query`` can
always tell whether it was taken."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.utils import timezone

from .base import GatewayError, OutgoingSms, Submitted


class FileGateway:
    name = "file"
    can_query = True  # the row's file is there or not

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, message: OutgoingSms) -> Path:
        return self.directory / f"{message.id}.json"

    def send(self, message: OutgoingSms) -> Submitted:
        path = self._path(message)
        if path.exists():  # taken before (a retry after a crash): the same answer, no second file
            return Submitted(gateway_id=f"file-{message.id}")
        body = {"id": message.id, "phone": message.phone, "text": message.text, "at": timezone.now().isoformat()}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, path)  # atomic: the file is whole or absent
        except OSError as exc:
            raise GatewayError(f"cannot write {path.name}: {exc.strerror}") from exc
        return Submitted(gateway_id=f"file-{message.id}")

    def query(self, message: OutgoingSms) -> Submitted | None:
        return Submitted(gateway_id=f"file-{message.id}") if self._path(message).exists() else None
