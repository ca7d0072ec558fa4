"""Menu versions: validation refuses broken trees, draft → publish → archive, rollback, and a
call finishes on the version it started with."""

import copy

import pytest

from audit.models import AuditEvent
from ivr import services
from ivr.demo import default_tree, seed_default_menu
from ivr.errors import MenuInvalid
from ivr.menu import menu_from_tree, validate_menu
from ivr.models import MenuVersion
from ivr.selectors import menu_tree_of
from ivr.tests.helpers import Caller, prompts, said
from org.roles import Role

pytestmark = pytest.mark.django_db
pytest_plugins = ["ivr.tests.fixtures"]


def codes(tree) -> list[str]:
    return [problem.code for problem in validate_menu(menu_from_tree(tree))]


def node(tree, key):
    return next(item for item in tree["nodes"] if item["key"] == key)


@pytest.fixture
def maintainer_api(api_for, staff):
    return api_for(staff[Role.MAINTAINER])


def test_the_default_menu_is_valid_and_seeding_is_idempotent():
    assert codes(default_tree()) == []
    first = seed_default_menu()
    second = seed_default_menu()
    assert first.pk == second.pk and first.status == "published" and MenuVersion.objects.count() == 1
    assert menu_tree_of(first) == {**default_tree(), "prompts": dict(sorted(default_tree()["prompts"].items()))}


def test_a_dangling_option_target_is_refused():
    tree = default_tree()
    node(tree, "main")["options"]["4"] = "nowhere"
    assert codes(tree) == ["dangling_target"]


def test_a_dangling_next_is_refused():
    tree = default_tree()
    node(tree, "info_rates")["next"] = "gone"
    assert "dangling_target" in codes(tree)


def test_a_loop_of_menus_with_no_way_out_is_refused():
    tree = default_tree()
    tree["nodes"].append({"key": "trap", "kind": "menu", "prompt": "info_menu", "options": {"1": "trap2"}})
    tree["nodes"].append({"key": "trap2", "kind": "menu", "prompt": "info_menu", "options": {"1": "trap"}})
    node(tree, "main")["options"]["9"] = "trap"
    assert set(codes(tree)) == {"loop_without_exit"}


def test_a_loop_that_never_waits_for_a_key_is_refused():
    tree = default_tree()
    node(tree, "info_rates")["next"] = "info_fees"
    node(tree, "info_fees")["next"] = "info_rates"
    assert "loop_without_exit" in codes(tree)


def test_a_missing_prompt_is_refused():
    tree = default_tree()
    del tree["prompts"]["enter_password"]
    assert codes(tree) == ["missing_prompt", "missing_prompt"]  # login and loss report both need it
    tree = default_tree()
    tree["prompts"]["invalid"] = "   "
    assert codes(tree) == ["missing_prompt"]
    tree = default_tree()
    node(tree, "info_fees")["text"] = ""
    tree["prompts"].pop("info")
    assert "missing_prompt" in codes(tree)


def test_account_nodes_reachable_without_login_are_refused():
    tree = default_tree()
    node(tree, "main")["options"]["5"] = "balance"
    problems = validate_menu(menu_from_tree(tree))
    assert {problem.code for problem in problems} == {"unauthenticated_access"}
    # balance leads on to the account menu, so every account node is now open without a login
    assert {problem.node for problem in problems} == {"balance", "today", "recent", "transfer"}


def test_a_prompt_placeholder_the_engine_cannot_fill_is_refused():
    tree = default_tree()
    tree["prompts"]["balance"] = "余额{balance.__class__}元"
    assert codes(tree) == ["unknown_placeholder"]


def test_a_missing_root_is_refused():
    tree = default_tree()
    tree["root"] = "start"
    assert codes(tree) == ["missing_root"]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda tree: tree["nodes"].append({"key": "x", "kind": "teleport"}), "unknown_kind"),
        (lambda tree: tree["nodes"].append({"key": "Main Menu", "kind": "menu"}), "invalid_key"),
        (lambda tree: tree["nodes"].append(copy.deepcopy(tree["nodes"][0])), "duplicate_node"),
        (lambda tree: node(tree, "main")["options"].update({"#": "agent"}), "invalid_option"),
        (lambda tree: tree.update({"extra": 1}), "invalid_tree"),
    ],
)
def test_malformed_trees_are_refused_before_anything_is_written(maintainer_api, mutate, code):
    tree = default_tree()
    mutate(tree)
    response = maintainer_api.post("/api/ivr/menus/", {"tree": tree}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert not MenuVersion.objects.exists()


def test_publishing_a_broken_draft_is_400_with_the_code_and_every_problem(maintainer_api):
    tree = default_tree()
    node(tree, "main")["options"]["4"] = "nowhere"
    del tree["prompts"]["goodbye"]
    draft = maintainer_api.post("/api/ivr/menus/", {"tree": tree, "note": "坏的"}, format="json").json()
    assert draft["status"] == "draft" and {p["code"] for p in draft["problems"]} == {
        "missing_prompt",
        "dangling_target",
    }
    response = maintainer_api.post(f"/api/ivr/menus/{draft['id']}/publish/")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "missing_prompt" and len(error["details"]) == 2
    assert MenuVersion.objects.get(pk=draft["id"]).status == "draft"


def test_publish_archives_the_previous_version_and_rollback_restores_it(maintainer_api, staff):
    v1 = seed_default_menu()
    draft = maintainer_api.post("/api/ivr/menus/", {"from_version": v1.pk}, format="json").json()
    assert draft["number"] == 2 and draft["problems"] == []
    tree = draft["tree"]
    tree["prompts"]["welcome"] = "您好，这是第二版菜单。"
    assert maintainer_api.put(f"/api/ivr/menus/{draft['id']}/tree/", {"tree": tree}, format="json").status_code == 200
    published = maintainer_api.post(f"/api/ivr/menus/{draft['id']}/publish/").json()
    assert published["status"] == "published" and published["published_by"] == "maintainer"
    v1.refresh_from_db()
    assert v1.status == "archived"
    # A published version is frozen.
    response = maintainer_api.put(f"/api/ivr/menus/{draft['id']}/tree/", {"tree": tree}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "menu_not_editable"

    rolled = maintainer_api.post(f"/api/ivr/menus/{v1.pk}/rollback/").json()
    assert rolled["status"] == "published"
    assert MenuVersion.objects.get(pk=draft["id"]).status == "archived"
    assert list(MenuVersion.objects.filter(status="published").values_list("number", flat=True)) == [1]
    actions = set(AuditEvent.objects.filter(action__startswith="ivr.").values_list("action", flat=True))
    assert {"ivr.menu_draft_created", "ivr.menu_published", "ivr.menu_rolled_back"} <= actions
    # Only archived versions can be rolled back to.
    response = maintainer_api.post(f"/api/ivr/menus/{v1.pk}/rollback/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_archived"


def test_a_call_in_progress_keeps_its_version_after_a_new_publish(caller, staff):
    call = caller()
    call.start()
    v1 = MenuVersion.objects.get(status="published")
    tree = default_tree()
    tree["prompts"]["info_menu"] = "新版信息菜单：利率请按1。"
    v2 = services.menu_version_create(tree=tree, actor=staff[Role.MAINTAINER])
    services.menu_version_publish(version=v2, actor=staff[Role.MAINTAINER])
    assert said(call.press("3"), "info_menu")["text"].startswith("存款利率请按1")  # still v1
    later = caller()
    later.start()
    assert said(later.press("3"), "info_menu")["text"] == "新版信息菜单：利率请按1。"
    from ivr.models import IvrCall

    assert IvrCall.objects.get(call_id=call.call_id).version == v1
    assert IvrCall.objects.get(call_id=later.call_id).version == v2


def test_menu_apis_are_for_the_maintainer_only(api_for, staff, ivr_menu):
    for role in (Role.AGENT, Role.DIRECTOR, Role.SWITCH, Role.TEAM_LEAD):
        assert api_for(staff[role]).get("/api/ivr/menus/").status_code == 403
    body = api_for(staff[Role.MAINTAINER]).get("/api/ivr/menus/").json()
    assert body["count"] == 1 and body["results"][0]["status"] == "published"


def test_a_draft_is_discarded_unless_a_test_call_used_it(maintainer_api, ivr_menu, staff):
    draft = services.menu_version_copy(version=ivr_menu)
    assert maintainer_api.delete(f"/api/ivr/menus/{draft.pk}/").status_code == 204
    assert not MenuVersion.objects.filter(pk=draft.pk).exists()
    draft = services.menu_version_copy(version=ivr_menu)
    services.call_start(call_id="sim-1", version=draft, is_test=True, started_by=staff[Role.MAINTAINER])
    response = maintainer_api.delete(f"/api/ivr/menus/{draft.pk}/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "draft_in_use"


def test_an_edited_draft_is_seen_by_the_next_preview_call(staff, ivr_menu):
    draft = services.menu_version_copy(version=ivr_menu)
    first, _ = services.call_start(call_id="sim-a", version=draft, is_test=True)
    services.prompt_set(version=draft, key="welcome", text="预览欢迎词。")
    second, _ = services.call_start(call_id="sim-b", version=draft, is_test=True)
    assert first["actions"][0]["text"] != "预览欢迎词。" and second["actions"][0]["text"] == "预览欢迎词。"
    with pytest.raises(MenuInvalid):
        services.prompt_set(version=draft, key="welcome", text="  ")


def test_a_new_node_and_options_change_the_flow_of_a_draft(staff, switch_client, ivr_menu):
    draft = services.menu_version_copy(version=ivr_menu)
    services.menu_node_save(
        version=draft,
        key="bye",
        fields={"kind": "hangup", "title": "再见", "prompt_key": "goodbye"},
    )
    services.menu_node_save(
        version=draft,
        key="main",
        fields={
            "kind": "menu",
            "prompt_key": "main_menu",
            "options": {"1": "account", "2": "loss", "3": "info", "0": "agent", "9": "bye"},
        },
    )
    services.menu_version_publish(version=draft)
    call = Caller(switch_client)
    call.start()
    actions = call.press("9")
    assert prompts(actions) == ["goodbye"] and actions[-1] == {"type": "hangup"}
