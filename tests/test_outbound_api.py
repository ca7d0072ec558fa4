"""``/api/outbound/`` and the campaign pages: roles, the error envelope and its codes, a list
upload through the API, start/pause from the page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from calls.outbound.models import Campaign, CampaignContact, CampaignStatus, DoNotCall
from org.roles import Role
from tests.factories import make_staff
from tests.outbound_helpers import make_campaign, make_contact, make_queue

pytestmark = pytest.mark.django_db

BODY = {
    "code": "wm-api",
    "name": "理财产品推介",
    "kind": "marketing",
    "mode": "preview",
    "queue": None,
    "window_start": "09:30",
    "window_end": "18:00",
    "date_from": "2026-12-01",
    "date_to": "2099-12-31",
    "max_attempts": 3,
    "retry_minutes": {"busy": 15},
}


@pytest.fixture
def users():
    return {role: make_staff(role, username=f"u-{role}") for role in (Role.TEAM_LEAD, Role.DIRECTOR, Role.AGENT)}


@pytest.fixture(autouse=True)
def import_dir(tmp_path, settings):
    settings.OUTBOUND_IMPORT_DIR = str(tmp_path / "imports")


def _body(**changes):
    return {**BODY, "queue": make_queue().code, **changes}


def test_team_lead_creates_starts_and_pauses_a_campaign(api_for, users):
    api = api_for(users[Role.TEAM_LEAD])
    response = api.post("/api/outbound/campaigns/", _body(), format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert response.json()["status"] == "draft"
    assert api.post(f"/api/outbound/campaigns/{pk}/start/").json()["status"] == "running"
    assert api.post(f"/api/outbound/campaigns/{pk}/pause/").json()["status"] == "paused"
    response = api.post(f"/api/outbound/campaigns/{pk}/pause/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_campaign_state"
    detail = api.get(f"/api/outbound/campaigns/{pk}/").json()
    assert detail["progress"]["contacts"] == 0
    response = api.patch(f"/api/outbound/campaigns/{pk}/", {"max_attempts": 4}, format="json")
    assert response.status_code == 200 and response.json()["max_attempts"] == 4


def test_director_reads_but_does_not_write(api_for, users):
    campaign = make_campaign()
    api = api_for(users[Role.DIRECTOR])
    assert api.get("/api/outbound/campaigns/").status_code == 200
    assert api.get(f"/api/outbound/campaigns/{campaign.pk}/figures/").status_code == 200
    response = api.post(f"/api/outbound/campaigns/{campaign.pk}/pause/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert api.post("/api/outbound/campaigns/", _body(), format="json").status_code == 403


def test_agents_see_no_campaign_list(api_for, users):
    assert api_for(users[Role.AGENT]).get("/api/outbound/campaigns/").status_code == 403


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"date_to": "2020-01-01"}, 422, "invalid_dates"),
        ({"window_end": "08:00"}, 422, "invalid_window"),
        ({"queue": "nope"}, 422, "unknown_queue"),
        ({"retry_minutes": {"weird": 3}}, 400, "invalid_input"),
        ({"surprise": 1}, 400, "unknown_field"),
        ({"kind": "bogus"}, 400, "invalid_input"),
    ],
)
def test_bad_campaign_bodies_answer_with_a_code(api_for, users, changes, status, code):
    body = _body(**changes)
    if changes.get("queue") == "nope":
        body["queue"] = "nope"
    response = api_for(users[Role.TEAM_LEAD]).post("/api/outbound/campaigns/", body, format="json")
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_unknown_campaign_is_404_with_a_code(api_for, users):
    response = api_for(users[Role.TEAM_LEAD]).get("/api/outbound/campaigns/999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "campaign_not_found"


def test_upload_a_list_through_the_api(api_for, users):
    campaign = make_campaign()
    api = api_for(users[Role.TEAM_LEAD])
    content = "电话,姓名\r\n13811112222,张三\r\n1381111,坏号\r\n".encode("gb18030")
    response = api.post(
        f"/api/outbound/campaigns/{campaign.pk}/imports/",
        {"file": SimpleUploadedFile("名单.csv", content)},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job = response.json()
    # Eager Celery runs the import on commit: the job is done by the time it is read back.
    progress = api.get(f"/api/outbound/imports/{job['id']}/").json()
    if progress["status"] == "running":  # pytest's transaction: on_commit never ran; run it here
        from calls.outbound.imports import run_import

        run_import(job["id"])
        progress = api.get(f"/api/outbound/imports/{job['id']}/").json()
    assert (progress["status"], progress["rows_added"], progress["rows_invalid"]) == ("done", 1, 1)
    assert CampaignContact.objects.filter(campaign=campaign, phone="13811112222").exists()
    response = api.post(f"/api/outbound/campaigns/{campaign.pk}/imports/", {}, format="multipart")
    assert response.status_code == 422 and response.json()["error"]["code"] == "file_required"


def test_dnc_api(api_for, users):
    api = api_for(users[Role.TEAM_LEAD])
    response = api.post("/api/outbound/dnc/", {"phone": "139 0000 1234", "reason": "complaint"}, format="json")
    assert response.status_code == 201, response.content
    entry = response.json()
    assert entry["phone"] == "13900001234"
    again = api.post("/api/outbound/dnc/", {"phone": "13900001234", "reason": "complaint"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "dnc_already_listed"
    bad = api.post("/api/outbound/dnc/", {"phone": "12345", "reason": "complaint"}, format="json")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_phone"
    assert api.get("/api/outbound/dnc/?phone=139").json()["count"] == 1
    assert api.get("/api/outbound/dnc/?phone=abc").status_code == 400
    missing_note = api.post(f"/api/outbound/dnc/{entry['id']}/remove/", {}, format="json")
    assert missing_note.status_code == 400
    removed = api.post(f"/api/outbound/dnc/{entry['id']}/remove/", {"note": "客户要求恢复"}, format="json")
    assert removed.status_code == 200 and removed.json()["removed_at"]
    assert DoNotCall.objects.get(pk=entry["id"]).removal_note == "客户要求恢复"
    assert (
        api_for(users[Role.AGENT])
        .post("/api/outbound/dnc/", {"phone": "13900001235", "reason": "complaint"}, format="json")
        .status_code
        == 403
    )


def test_campaign_pages(client_for, users):
    campaign = make_campaign(status=CampaignStatus.DRAFT)
    make_contact(campaign)
    client = client_for(users[Role.TEAM_LEAD])
    assert client.get("/outbound/").status_code == 200
    page = client.get(f"/outbound/{campaign.pk}/")
    assert page.status_code == 200
    assert b"btn-start" in page.content
    client.post(f"/outbound/{campaign.pk}/", {"op": "start"})
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.RUNNING
    assert client.get("/outbound/dnc/").status_code == 200
    client.post("/outbound/dnc/", {"op": "add", "phone": "13900004321", "reason": "optout"})
    assert DoNotCall.objects.filter(phone="13900004321").exists()
    assert client.get("/outbound/999999/").status_code == 404
    director = client_for(users[Role.DIRECTOR])
    assert director.get(f"/outbound/{campaign.pk}/").status_code == 200
    assert director.post(f"/outbound/{campaign.pk}/", {"op": "pause"}).status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.RUNNING
