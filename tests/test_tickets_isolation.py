"""Isolation matrix of the work orders: every unit-staff user against every work-order endpoint
and page with another unit's ids gets a 404 (never a 403 that would confirm the id exists), and
no list, search or export shows another unit's work order."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from org.roles import Role
from tickets.models import Category, Ticket
from tickets.services.attachments import ticket_attachment_add
from tickets.services.contacts import ticket_create
from tickets.services.extensions import ticket_extension_request
from tickets.services.workflow import ticket_dispatch

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

API_POSTS = [
    ("dispatch", {"unit": "B03"}),
    ("accept", {}),
    ("reply", {"result": "x", "resolved": True}),
    ("review", {"accepted": True}),
    ("extend", {"days": 3, "reason": "x"}),
    ("pause", {"reason": "x"}),
    ("resume", {}),
    ("callback", {"satisfied": True}),
    ("close", {}),
    ("withdraw", {"reason": "x"}),
    ("merge", {"into": 1}),
    ("chase", {}),
    ("adjustment", {}),
]
PAGE_ACTIONS = [
    "dispatch",
    "accept",
    "reply",
    "review",
    "extend",
    "decide",
    "pause",
    "resume",
    "callback",
    "close",
    "withdraw",
    "merge",
    "chase",
    "attach",
    "adjust",
]


@pytest.fixture
def world(staff, settings, tmp_path):
    """Per unit (B01, B02): a dispatched mis-posting work order with an attachment and a pending
    extension request."""
    settings.TICKETS_ATTACHMENT_ROOT = tmp_path
    out = {}
    for code, member in (("B01", "unit_staff_b01"), ("B02", "unit_staff_b02")):
        ticket = ticket_create(
            actor=staff[Role.AGENT], kind="complaint", category=Category.ATM_MISPOST, description=f"{code}的投诉"
        )
        ticket = ticket_dispatch(ticket=ticket, actor=staff[Role.ANALYST], unit_code=code)
        attachment = ticket_attachment_add(
            ticket=ticket, actor=staff[member], upload=SimpleUploadedFile("凭条.pdf", PDF, "application/pdf")
        )
        extension = ticket_extension_request(ticket=ticket, actor=staff[member], days=2, reason="调查")
        out[code] = {"ticket": ticket, "attachment": attachment, "extension": extension}
    return out


MATRIX = [("unit_staff_b01", "B02"), ("unit_staff_b02", "B01")]


def _assert_404(response, what):
    assert response.status_code == 404, f"{what}: {response.status_code}"


@pytest.mark.parametrize(("member", "foreign"), MATRIX)
def test_every_api_endpoint_with_another_units_ids_is_404(api_for, staff, world, member, foreign):
    client = api_for(staff[member])
    objects = world[foreign]
    ticket_id = objects["ticket"].pk
    before = Ticket.objects.filter(pk=ticket_id).values().get()
    base = f"/api/tickets/{ticket_id}"
    for path in (
        f"{base}/",
        f"{base}/history/",
        f"{base}/attachments/",
        f"{base}/attachments/{objects['attachment'].pk}/",
    ):
        response = client.get(path)
        _assert_404(response, path)
        assert response.json()["error"]["code"] == "not_found"
    for action, body in API_POSTS:
        _assert_404(client.post(f"{base}/{action}/", body, format="json"), action)
    for decision in ("approve", "reject"):
        path = f"{base}/extensions/{objects['extension'].pk}/{decision}/"
        _assert_404(client.post(path, {}, format="json"), path)
    upload = SimpleUploadedFile("x.pdf", PDF, "application/pdf")
    _assert_404(client.post(f"{base}/attachments/", {"file": upload}, format="multipart"), "upload")
    # an own ticket id with another unit's attachment / extension id
    own = world["B01" if foreign == "B02" else "B02"]
    own_base = f"/api/tickets/{own['ticket'].pk}"
    _assert_404(client.get(f"{own_base}/attachments/{objects['attachment'].pk}/"), "cross attachment")
    _assert_404(client.post(f"{own_base}/extensions/{objects['extension'].pk}/approve/", {}, format="json"), "x-ext")
    assert Ticket.objects.filter(pk=ticket_id).values().get() == before


@pytest.mark.parametrize(("member", "foreign"), MATRIX)
def test_every_page_with_another_units_ids_is_404(client_for, staff, world, member, foreign):
    client = client_for(staff[member])
    objects = world[foreign]
    ticket_id = objects["ticket"].pk
    before = Ticket.objects.filter(pk=ticket_id).values().get()
    _assert_404(client.get(f"/tickets/{ticket_id}/"), "detail")
    _assert_404(client.get(f"/tickets/{ticket_id}/attachments/{objects['attachment'].pk}/"), "attachment")
    for action in PAGE_ACTIONS:
        data = {"result": "x", "resolved": "true", "reason": "x", "days": "2", "unit": "B03", "satisfied": "true"}
        data.update({"extension": objects["extension"].pk, "approve": "true", "into": ticket_id, "accepted": "true"})
        _assert_404(client.post(f"/tickets/{ticket_id}/do/{action}/", data), action)
    own = world["B01" if foreign == "B02" else "B02"]
    _assert_404(client.get(f"/tickets/{own['ticket'].pk}/attachments/{objects['attachment'].pk}/"), "cross")
    assert Ticket.objects.filter(pk=ticket_id).values().get() == before


@pytest.mark.parametrize(("member", "foreign"), MATRIX)
def test_lists_search_and_exports_never_show_another_unit(api_for, client_for, staff, world, member, foreign):
    foreign_ticket = world[foreign]["ticket"]
    api = api_for(staff[member])
    for query in ("", f"?q={foreign_ticket.pk}", f"?unit={foreign}", "?q=投诉", "?state=dispatched"):
        ids = {row["id"] for row in api.get(f"/api/tickets/{query}").json()["results"]}
        assert foreign_ticket.pk not in ids, query
    page = client_for(staff[member])
    inbox = page.get("/tickets/inbox/").content.decode()
    assert f"/tickets/{foreign_ticket.pk}/" not in inbox and f"{foreign}的投诉" not in inbox
    export = b"".join(page.get("/tickets/export.csv").streaming_content).decode()
    assert foreign_ticket.number not in export
    assert page.get("/tickets/").status_code == 403  # the analyst's list is not for unit staff


def test_unit_staff_do_see_their_own(api_for, staff, world):
    own = world["B01"]["ticket"]
    client = api_for(staff["unit_staff_b01"])
    assert client.get(f"/api/tickets/{own.pk}/").status_code == 200
    assert client.get(f"/api/tickets/{own.pk}/attachments/{world['B01']['attachment'].pk}/").status_code == 200
    assert {row["id"] for row in client.get("/api/tickets/").json()["results"]} == {own.pk}
