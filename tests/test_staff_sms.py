"""Staff mobiles for the staff notices by SMS: a mainland mobile or nothing, edited by the
maintainer in the admin (audited, the number itself never in the audit log), shown masked in lists;
the selector the escalations read; the demo's staff get theirs."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from org import demo
from org.models import StaffProfile, Unit
from org.roles import Role
from org.selectors import staff_mobiles
from tests.factories import UnitFactory, make_staff
from tests.test_admin_audit import _form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "mobile",
    [
        "1380013800",
        "138001380001",
        "23800138000",
        "138-0013-800",
        "１３８００１３８０００",
        "13800138000\n",
        "+8613800138",
    ],
)
def test_a_mobile_that_is_not_11_digits_starting_with_1_is_refused(mobile):
    profile = StaffProfile(user=make_staff(Role.AGENT), role=Role.AGENT, mobile=mobile)
    with pytest.raises(ValidationError) as refusal:
        profile.full_clean(exclude=["user"])
    assert refusal.value.error_dict["mobile"][0].code == "invalid_mobile"


def test_a_mainland_mobile_or_none_is_accepted():
    user = make_staff(Role.AGENT)
    for mobile in ("13800138000", "19912345678", ""):
        StaffProfile(user=user, role=Role.AGENT, mobile=mobile).full_clean(exclude=["user"], validate_unique=False)


def test_the_maintainers_edit_of_a_mobile_in_the_admin_is_audited_without_the_number(client_for):
    maintainer = make_staff(Role.MAINTAINER)
    client = client_for(maintainer)
    agent = make_staff(Role.UNIT_STAFF, username="branch07")
    url = f"/admin/auth/user/{agent.pk}/change/"
    data = _form(client, url)
    data["profile-0-mobile"] = "13912345678"
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    assert StaffProfile.objects.get(user=agent).mobile == "13912345678"
    event = AuditEvent.objects.get(action="admin.change", object_type="auth.user", object_id=str(agent.pk))
    assert event.actor_id == maintainer.pk
    changed = [change["changed"] for change in event.details["changes"] if "changed" in change]
    assert any("Mobile number" in change.get("fields", []) for change in changed), event.details
    assert "13912345678" not in str(event.details)


def test_a_bad_mobile_in_the_admin_is_refused_and_nothing_changes(client_for):
    client = client_for(make_staff(Role.MAINTAINER))
    agent = make_staff(Role.AGENT)
    StaffProfile.objects.filter(user=agent).update(mobile="13912345678")
    url = f"/admin/auth/user/{agent.pk}/change/"
    data = _form(client, url)
    data["profile-0-mobile"] = "0221234567"
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "以1开头的11位数字" in response.content.decode()  # the validator's message, in Chinese
    assert StaffProfile.objects.get(user=agent).mobile == "13912345678"
    assert not AuditEvent.objects.filter(action="admin.change", object_id=str(agent.pk)).exists()


def test_the_admin_list_shows_mobiles_masked(client_for):
    client = client_for(make_staff(Role.MAINTAINER))
    agent = make_staff(Role.AGENT, username="agent77")
    StaffProfile.objects.filter(user=agent).update(mobile="13912345678")
    page = client.get("/admin/auth/user/").content.decode()
    assert "139****5678" in page
    assert "13912345678" not in page


def test_other_roles_cannot_open_the_admin_to_read_a_mobile(client_for):
    agent = make_staff(Role.AGENT)
    StaffProfile.objects.filter(user=agent).update(mobile="13912345678")
    for role in (Role.DIRECTOR, Role.TEAM_LEAD, Role.UNIT_STAFF):
        response = client_for(make_staff(role)).get(f"/admin/auth/user/{agent.pk}/change/")
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_mobiles_are_those_of_active_users_with_one():
    with_mobile = make_staff(Role.UNIT_STAFF, username="u-with")
    without = make_staff(Role.UNIT_STAFF, username="u-without")
    inactive = make_staff(Role.DIRECTOR, username="u-inactive")
    StaffProfile.objects.filter(user__in=[with_mobile, inactive]).update(mobile="13700000001")
    inactive.is_active = False
    inactive.save()
    other = make_staff(Role.AGENT, username="u-other")
    StaffProfile.objects.filter(user=other).update(mobile="13700000002")
    assert staff_mobiles(usernames=["u-with", "u-without", "u-inactive", "nobody"]) == {"u-with": "13700000001"}
    assert staff_mobiles(usernames=[]) == {}
    assert without.profile.mobile == ""


def test_demo_gives_the_director_and_branch_staff_mobiles_and_heads_once():
    units = {code: UnitFactory(code=code) for code, _district, _en in demo.BRANCHES}
    make_staff(Role.DIRECTOR, username="director")
    for number, (code, _district, _en) in enumerate(demo.BRANCHES, start=1):
        make_staff(Role.UNIT_STAFF, unit=units[code], username=f"branch{number:02d}")
    StaffProfile.objects.filter(user__username="branch10").update(mobile="13600000000")  # a maintainer's edit
    assert demo.seed_staff_notices() == 1 + 9 + 10
    mobiles = dict(StaffProfile.objects.exclude(mobile="").values_list("user__username", "mobile"))
    assert mobiles["director"] == demo.DIRECTOR_MOBILE
    assert mobiles["branch01"] == "13920081001" and mobiles["branch09"] == "13920081009"
    assert mobiles["branch10"] == "13600000000"
    assert len(set(mobiles.values())) == 11
    for value in mobiles.values():
        StaffProfile(role=Role.AGENT, mobile=value).full_clean(exclude=["user"], validate_unique=False)
    assert Unit.objects.get(code="B03").head.username == "branch03"
    assert demo.seed_staff_notices() == 0  # a second seed changes nothing
