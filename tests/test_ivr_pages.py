"""IVR pages: the simulator and its session endpoints (same engine as the switch), the menu
editor, announcements and statistics, by role."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from ivr.models import Announcement, IvrCall, MenuVersion, Prompt
from ivr.tests.helpers import prompts
from org.roles import Role

pytestmark = pytest.mark.django_db
pytest_plugins = ["ivr.tests.fixtures"]


@pytest.mark.parametrize(
    ("who", "status"),
    [(Role.MAINTAINER, 200), (Role.TEAM_LEAD, 200), (Role.AGENT, 200), (Role.DIRECTOR, 403), (Role.ANALYST, 403)],
)
def test_simulator_page_by_role(client_for, staff, ivr_menu, who, status):
    response = client_for(staff[who]).get("/ivr/simulator/")
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "语音导航模拟器" in html and 'data-key="*"' in html and "ivr/simulator.js" in html


def test_the_simulator_places_a_test_call_through_the_engine(client_for, staff, ivr_menu, customer):
    from ivr.tests.helpers import PHONE_PIN

    client = client_for(staff[Role.AGENT])
    started = client.post("/api/ivr/simulator/calls/", {}, content_type="application/json")
    assert started.status_code == 201
    body = started.json()
    call_id = body["call_id"]
    assert prompts(body["actions"]) == ["welcome", "main_menu"]
    assert body["state"]["node"] == "main" and body["state"]["next_seq"] == 1 and body["state"]["version"] == 1

    def press(seq, digits):
        response = client.post(
            f"/api/ivr/simulator/calls/{call_id}/events/",
            {"seq": seq, "type": "digits", "digits": digits},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        return response.json()

    press(1, "1"), press(2, customer.card.number)
    state = press(3, PHONE_PIN)["state"]
    assert state["verified"] and state["node"] == "account_menu"
    balance = press(4, "1")
    assert balance["actions"][0]["data"] == {"balance": "50000.00"}
    call = IvrCall.objects.get(call_id=call_id)
    assert call.is_test and call.started_by == staff[Role.AGENT]


def test_simulator_calls_are_private_to_their_user_and_the_switch_api_needs_a_switch(client_for, staff, ivr_menu):
    agent = client_for(staff[Role.AGENT])
    call_id = agent.post("/api/ivr/simulator/calls/", {}, content_type="application/json").json()["call_id"]
    agent.logout()
    lead = client_for(staff[Role.TEAM_LEAD])
    response = lead.post(
        f"/api/ivr/simulator/calls/{call_id}/events/", {"seq": 1, "type": "timeout"}, content_type="application/json"
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "call_not_found"
    # Session users cannot use the switch endpoints.
    response = lead.post("/api/ivr/calls/", {"call_id": "x1"}, content_type="application/json")
    assert response.status_code == 403


def test_only_the_maintainer_previews_a_draft(client_for, staff, ivr_menu):
    from ivr.services import menu_version_copy, prompt_set

    draft = menu_version_copy(version=ivr_menu)
    prompt_set(version=draft, key="welcome", text="草稿欢迎词。")
    agent = client_for(staff[Role.AGENT])
    response = agent.post("/api/ivr/simulator/calls/", {"version": draft.pk}, content_type="application/json")
    assert response.status_code == 403
    agent.logout()
    maintainer = client_for(staff[Role.MAINTAINER])
    body = maintainer.post("/api/ivr/simulator/calls/", {"version": draft.pk}, content_type="application/json").json()
    assert body["actions"][0]["text"] == "草稿欢迎词。" and body["state"]["version_status"] == "draft"
    html = maintainer.get(f"/ivr/simulator/?version={draft.pk}").content.decode()
    assert f'<option value="{draft.pk}" selected>' in html


def test_simulator_test_calls_are_left_out_of_the_statistics(client_for, staff, ivr_menu):
    from ivr.selectors import ivr_statistics

    client_for(staff[Role.AGENT]).post("/api/ivr/simulator/calls/", {}, content_type="application/json")
    today = timezone.localdate()
    assert ivr_statistics(today, today)["calls"] == 0


def test_menu_editor_pages_are_for_the_maintainer(client_for, staff, ivr_menu):
    for who in (Role.AGENT, Role.TEAM_LEAD, Role.DIRECTOR):
        client = client_for(staff[who])
        assert client.get("/ivr/menus/").status_code == 403
        assert client.get(f"/ivr/menus/{ivr_menu.pk}/").status_code == 403
        assert client.get("/ivr/announcements/").status_code == 403
        client.logout()
    client = client_for(staff[Role.MAINTAINER])
    html = client.get("/ivr/menus/").content.decode()
    assert "v1" in html and "已发布" in html
    html = client.get(f"/ivr/menus/{ivr_menu.pk}/").content.decode()
    assert "account_menu" in html and "只有草稿可以修改" in html


def test_editing_a_draft_in_the_pages_then_publishing_it(client_for, staff, ivr_menu):
    client = client_for(staff[Role.MAINTAINER])
    response = client.post(f"/ivr/menus/{ivr_menu.pk}/copy/")
    draft = MenuVersion.objects.get(status="draft")
    assert response.status_code == 302 and response["Location"] == f"/ivr/menus/{draft.pk}/"
    # htmx: save a prompt in place, get the "saved" mark and the refreshed problems box.
    response = client.post(
        f"/ivr/menus/{draft.pk}/prompts/", {"key": "welcome", "text": "新的欢迎词。"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'id="problems"' in response.content.decode()
    assert Prompt.objects.get(version=draft, key="welcome").text == "新的欢迎词。"
    # the node form comes as an htmx partial
    form = client.get(f"/ivr/menus/{draft.pk}/nodes/main/", HTTP_HX_REQUEST="true")
    assert form.status_code == 200 and 'name="option_1"' in form.content.decode()
    # a new node with a dangling next: saved (drafts may be broken) but publishing is refused
    client.post(
        f"/ivr/menus/{draft.pk}/nodes/-new/",
        {"key": "promo", "kind": "info", "text": "理财产品介绍。", "next_key": ""},
    )
    page = client.get(f"/ivr/menus/{draft.pk}/").content.decode()
    assert "missing_next" in page
    client.post(f"/ivr/menus/{draft.pk}/publish/")
    assert MenuVersion.objects.get(pk=draft.pk).status == "draft"
    client.post(f"/ivr/menus/{draft.pk}/nodes/promo/delete/")
    response = client.post(f"/ivr/menus/{draft.pk}/publish/")
    assert response.status_code == 302
    assert MenuVersion.objects.get(pk=draft.pk).status == "published"
    assert MenuVersion.objects.get(pk=ivr_menu.pk).status == "archived"
    # rollback from the list page
    client.post(f"/ivr/menus/{ivr_menu.pk}/publish/")
    assert MenuVersion.objects.get(pk=ivr_menu.pk).status == "published"
    assert AuditEvent.objects.filter(action="ivr.menu_rolled_back", actor=staff[Role.MAINTAINER]).exists()


def test_a_node_key_already_used_is_refused(client_for, staff, ivr_menu):
    client = client_for(staff[Role.MAINTAINER])
    client.post(f"/ivr/menus/{ivr_menu.pk}/copy/")
    draft = MenuVersion.objects.get(status="draft")
    client.post(f"/ivr/menus/{draft.pk}/nodes/-new/", {"key": "main", "kind": "hangup"})
    assert draft.nodes.get(key="main").kind == "menu"


def test_announcements_are_created_edited_and_deleted_by_the_maintainer(client_for, staff, caller):
    client = client_for(staff[Role.MAINTAINER])
    now = timezone.localtime()
    form = {
        "title": "借记卡升级",
        "text": "磁条借记卡将升级为芯片卡，请到网点免费更换。",
        "position": "after_welcome",
        "starts_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "enabled": "on",
        "priority": "10",
    }
    assert client.post("/ivr/announcements/", form).status_code == 302
    item = Announcement.objects.get()
    assert item.updated_by == staff[Role.MAINTAINER]
    call = caller()
    assert prompts(call.start()) == ["welcome", "announcement", "main_menu"]

    bad = {**form, "ends_at": form["starts_at"]}
    assert client.post(f"/ivr/announcements/{item.pk}/", bad).status_code == 400
    assert client.post(f"/ivr/announcements/{item.pk}/", {**form, "enabled": ""}).status_code == 302
    assert prompts(caller().start()) == ["welcome", "main_menu"]
    assert client.post(f"/ivr/announcements/{item.pk}/delete/").status_code == 302
    assert not Announcement.objects.exists()
    assert AuditEvent.objects.filter(action="ivr.announcement_deleted").exists()


def test_while_waiting_announcements_ride_with_the_transfer(caller):
    now = timezone.now()
    Announcement.objects.create(
        title="等待",
        text="您也可以通过手机银行办理业务。",
        position="while_waiting",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    call = caller()
    assert prompts(call.start()) == ["welcome", "main_menu"]
    transfer = call.press("0")[-1]
    assert transfer["type"] == "transfer" and transfer["queue"] == "general"
    assert transfer["hold"][0]["text"] == "您也可以通过手机银行办理业务。"


def test_statistics_page_by_role(client_for, staff, ivr_menu):
    for who, status in ((Role.DIRECTOR, 200), (Role.ANALYST, 200), (Role.MAINTAINER, 200), (Role.AGENT, 403)):
        client = client_for(staff[who])
        assert client.get("/ivr/statistics/").status_code == status
        client.logout()


def test_the_admin_shows_typed_card_numbers_masked_and_passwords_redacted(client_for, staff, caller, customer):
    from ivr.tests.helpers import PHONE_PIN

    call = caller()
    call.start()
    call.login(customer.card.number)
    record = IvrCall.objects.get(call_id=call.call_id)
    html = client_for(staff[Role.MAINTAINER]).get(f"/admin/ivr/ivrcall/{record.pk}/change/").content.decode()
    number = customer.card.number
    assert f"{number[:6]}******{number[-4:]}" in html and number not in html
    assert "[redacted]" in html and PHONE_PIN not in html
