"""The org app's writes and reads: units brought up to date by their code, staff accounts created
once (a second seed changes nothing, not even the password), unit staff always in a unit; the
outlet directory scoped to the reader's unit."""

import pytest
from django.contrib.auth import get_user_model

from core.errors import DomainError
from org.models import StaffProfile, Unit
from org.roles import Role
from org.selectors import outlet_list, unit_list
from org.services import outlet_ensure, staff_ensure, unit_upsert

pytestmark = pytest.mark.django_db


def test_a_unit_is_created_then_updated_by_its_code_and_changed_only_when_it_differs():
    unit, changed = unit_upsert(code="B11", name="城东支行", name_en="Chengdong Branch", kind=Unit.Kind.BRANCH)
    assert changed and Unit.objects.get(code="B11").name == "城东支行"
    assert unit_upsert(code="B11", name="城东支行", name_en="Chengdong Branch", kind=Unit.Kind.BRANCH) == (unit, False)
    renamed, changed = unit_upsert(code="B11", name="城东分理处", name_en="Chengdong Office", kind=Unit.Kind.BRANCH)
    assert changed and renamed.pk == unit.pk
    stored = Unit.objects.get(code="B11")
    assert (stored.name, stored.name_en) == ("城东分理处", "Chengdong Office")
    assert Unit.objects.filter(code="B11").count() == 1


def test_a_staff_account_is_created_once_and_a_second_seed_keeps_its_password(branches):
    user, created = staff_ensure(username="agent99", role=Role.AGENT, password="first-pass-1", extension="8099")
    assert created and StaffProfile.objects.get(user=user).role == Role.AGENT
    assert not user.is_staff  # only maintainers use the admin site
    again, created = staff_ensure(username="agent99", role=Role.DIRECTOR, password="other-pass-2")
    assert (again.pk, created) == (user.pk, False)
    assert StaffProfile.objects.get(user=user).role == Role.AGENT
    assert get_user_model().objects.get(pk=user.pk).check_password("first-pass-1")
    maintainer, _created = staff_ensure(username="maint99", role=Role.MAINTAINER, password="maint-pass-3")
    assert maintainer.is_staff and maintainer.is_superuser


def test_unit_staff_without_a_unit_are_refused_and_nothing_is_created():
    with pytest.raises(DomainError) as refused:
        staff_ensure(username="branch99", role=Role.UNIT_STAFF, password="branch-pass-4")
    assert refused.value.code == "unit_required"
    assert not StaffProfile.objects.filter(user__username="branch99").exists()


def codes(outlets) -> list[str]:
    return [outlet.code for outlet in outlets]


def test_outlets_are_listed_within_the_readers_unit(staff, branches):
    outlet_ensure(unit=branches[0], code="B01-01", name="城关网点")
    outlet_ensure(unit=branches[1], code="B02-01", name="新桥网点")
    closed, _created = outlet_ensure(unit=branches[0], code="B01-02", name="旧街网点")
    closed.is_active = False
    closed.save()
    assert outlet_ensure(unit=branches[0], code="B01-01", name="改名")[1] is False
    assert codes(outlet_list(user=staff[Role.DIRECTOR])) == ["B01-01", "B02-01"]
    assert codes(outlet_list(user=staff["unit_staff_b01"])) == ["B01-01"]
    assert codes(outlet_list(user=staff[Role.DIRECTOR], unit_code="B02")) == ["B02-01"]
    assert codes(unit_list(user=staff["unit_staff_b01"])) == ["B01", "B02", "B03"]  # the directory
