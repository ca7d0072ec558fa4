"""Attachments: the evidence a unit or the center adds to a work order, checked for size, type (by
extension and by content) and refused when it is a program or a script."""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from .. import errors, policy
from ..events import ticket_event_record
from ..locks import lock_ticket
from ..models import Ticket, TicketAttachment
from .common import refuse, resolve_now

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Evidence a branch sends: documents, pictures, scans, sound. Anything else is refused.
ALLOWED_EXTENSIONS = frozenset(
    {".pdf", ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".txt", ".csv", ".doc", ".docx", ".xls"}
    | {".xlsx", ".wps", ".ofd", ".mp3", ".wav", ".amr", ".zip"}
)


# Magic bytes of programs and scripts (PE/DOS, ELF, Mach-O, Java class, shebang scripts, Windows
# shortcuts and HTML applications): refused whatever the file is called.
EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
    b"L\x00\x00\x00\x01\x14\x02\x00",
)


SCRIPT_MARKERS = (b"<script", b"<hta:", b"wscript.", b"powershell", b"<?php")


# Formats whose first bytes must match their extension.
EXPECTED_MAGIC = {
    ".pdf": (b"%PDF",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".zip": (b"PK\x03\x04",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
}


def _safe_name(name: str) -> str:
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    return name[-200:] or "file"


def attachment_check(*, name: str, head: bytes, size: int) -> str:
    """Refuse oversized, empty, executable or unexpected files; returns the cleaned file name."""
    name = _safe_name(name)
    if size > settings.TICKETS_ATTACHMENT_MAX_BYTES:
        raise errors.AttachmentTooLarge(
            f"The file is larger than {settings.TICKETS_ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB.",
            details={"max_bytes": settings.TICKETS_ATTACHMENT_MAX_BYTES},
        )
    if size == 0:
        raise errors.AttachmentEmpty()
    if head.startswith(EXECUTABLE_MAGIC) or any(marker in head[:4096].lower() for marker in SCRIPT_MARKERS):
        raise errors.AttachmentExecutable()
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if suffix not in ALLOWED_EXTENSIONS:
        raise errors.AttachmentNotAllowed(details={"allowed": sorted(ALLOWED_EXTENSIONS)})
    expected = EXPECTED_MAGIC.get(suffix)
    if expected and not head.startswith(expected):
        raise errors.AttachmentNotAllowed("The file's content does not match its extension.")
    return name


@transaction.atomic
def ticket_attachment_add(
    *, ticket: Ticket, actor: User, upload: UploadedFile, now: datetime | None = None
) -> TicketAttachment:
    refuse(policy.role_refusal(actor, policy.ATTACHERS))
    now = resolve_now(now)
    upload.seek(0)
    head = upload.read(8192)
    name = attachment_check(name=upload.name or "", head=head, size=upload.size or 0)
    ticket = lock_ticket(ticket.pk)
    refuse(policy.attach_refusal(actor, ticket))
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    attachment = TicketAttachment(
        ticket=ticket,
        original_name=name,
        content_type=content_type,
        size=upload.size or 0,  # never 0 here: attachment_check refused an empty file
        sha256=digest.hexdigest(),
        uploaded_by=actor,
        uploaded_at=now,
    )
    # Stored under a random name: the original name is only shown, never used as a path.
    suffix = name.rsplit(".", 1)[-1].lower()
    attachment.file.save(f"{ticket.pk}-{digest.hexdigest()[:16]}.{suffix}", upload, save=False)
    attachment.save()
    ticket_event_record(
        ticket=ticket,
        action="attach",
        actor=actor,
        after={"attachment": attachment.pk, "name": name, "size": attachment.size},
        at=now,
    )
    return attachment
