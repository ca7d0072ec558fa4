"""Attachments: evidence goes in, programs and oversized files do not (4xx with a code, nothing
stored), and files are only ever served through the scoped view."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from org.roles import Role
from tickets.models import State, TicketAttachment

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _upload(client, ticket, name, content, content_type="application/octet-stream"):
    return client.post(
        f"/api/tickets/{ticket.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type)},
        format="multipart",
    )


def test_unit_uploads_evidence_and_downloads_it(api_for, staff, make_ticket, attachment_root):
    ticket = make_ticket(State.DISPATCHED)
    client = api_for(staff["unit_staff_b01"])
    response = _upload(client, ticket, "回单.pdf", PDF, "application/pdf")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["original_name"] == "回单.pdf" and body["size"] == len(PDF)
    download = client.get(body["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert "attachment;" in download["Content-Disposition"] and download["X-Content-Type-Options"] == "nosniff"
    stored = TicketAttachment.objects.get()
    assert str(attachment_root) in stored.file.path and "回单" not in stored.file.name  # random name on disk
    assert client.get(f"/api/tickets/{ticket.pk}/attachments/").json()["count"] == 1


@pytest.mark.parametrize(
    ("name", "content", "status", "code"),
    [
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 100, 400, "attachment_executable"),
        ("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100, 400, "attachment_executable"),  # a PE named .pdf
        ("photo.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, 400, "attachment_executable"),
        ("notes.txt", b"#!/bin/sh\nrm -rf /\n", 400, "attachment_executable"),
        ("page.txt", b"<html><script>alert(1)</script>", 400, "attachment_executable"),
        ("run.sh", b"echo hello\n", 400, "attachment_type_not_allowed"),
        ("macro.js", b"var a = 1;", 400, "attachment_type_not_allowed"),
        ("fake.pdf", b"just text", 400, "attachment_type_not_allowed"),  # content does not match
        ("noextension", b"data", 400, "attachment_type_not_allowed"),
        ("empty.pdf", b"", 400, "attachment_empty"),
    ],
)
def test_refused_files(api_for, staff, make_ticket, name, content, status, code):
    ticket = make_ticket(State.DISPATCHED)
    response = _upload(api_for(staff["unit_staff_b01"]), ticket, name, content)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert not TicketAttachment.objects.exists()


def test_oversized_file_is_413(api_for, staff, make_ticket, settings):
    settings.TICKETS_ATTACHMENT_MAX_BYTES = 1024
    ticket = make_ticket(State.DISPATCHED)
    response = _upload(api_for(staff["unit_staff_b01"]), ticket, "big.png", PNG + b"\x00" * 2048)
    assert response.status_code == 413 and response.json()["error"]["code"] == "attachment_too_large"
    assert not TicketAttachment.objects.exists()


def test_missing_file_is_400(api_for, staff, make_ticket):
    ticket = make_ticket(State.DISPATCHED)
    response = api_for(staff["unit_staff_b01"]).post(f"/api/tickets/{ticket.pk}/attachments/", {}, format="multipart")
    assert response.status_code == 400


def test_no_attachments_on_a_closed_work_order(api_for, staff, make_ticket):
    ticket = make_ticket(State.CLOSED)
    response = _upload(api_for(staff[Role.ANALYST]), ticket, "a.png", PNG)
    assert response.status_code == 409 and response.json()["error"]["code"] == "invalid_transition"


def test_page_upload(client_for, staff, make_ticket):
    ticket = make_ticket(State.IN_PROGRESS)
    client = client_for(staff["unit_staff_b01"])
    response = client.post(
        f"/tickets/{ticket.pk}/do/attach/", {"file": SimpleUploadedFile("a.png", PNG, "image/png")}, follow=True
    )
    assert response.status_code == 200 and TicketAttachment.objects.count() == 1
    attachment = TicketAttachment.objects.get()
    assert client.get(f"/tickets/{ticket.pk}/attachments/{attachment.pk}/").status_code == 200
    refused = client.post(
        f"/tickets/{ticket.pk}/do/attach/", {"file": SimpleUploadedFile("a.exe", b"MZ" + b"\x00" * 10)}, follow=True
    )
    assert TicketAttachment.objects.count() == 1 and "未做任何更改" in refused.content.decode()
