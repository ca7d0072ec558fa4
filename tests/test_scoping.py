"""Unit scoping: unit staff never read another unit's data, through any path."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from org.models import Outlet, Unit
from org.roles import CENTER_ROLES, Role
from org.scoping import UnitScopedQuerySet, scope_for, scoped_models
from tests.factories import OutletFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def outlets(branches):
    return {unit.code: [OutletFactory(unit=unit) for _ in range(2)] for unit in branches}


def test_unit_staff_see_only_their_units_outlets(staff, outlets):
    visible = set(Outlet.objects.visible_to(staff["unit_staff_b01"]))
    assert visible == set(outlets["B01"])


@pytest.mark.parametrize("role", sorted(CENTER_ROLES))
def test_center_roles_see_every_unit(staff, outlets, role):
    assert Outlet.objects.visible_to(staff[role]).count() == 6


def test_switch_and_anonymous_see_no_unit_data(staff, outlets):
    from django.contrib.auth.models import AnonymousUser

    assert not Outlet.objects.visible_to(staff[Role.SWITCH]).exists()
    assert not Outlet.objects.visible_to(AnonymousUser()).exists()


def test_deactivated_unit_staff_see_nothing(staff, outlets):
    user = staff["unit_staff_b01"]
    user.is_active = False
    user.save()
    assert not scope_for(user).all_units and scope_for(user).unit_id is None


def test_every_scoped_model_names_a_valid_unit_path(staff):
    """New scoped models are picked up automatically; a wrong path fails here, not in production."""
    models = scoped_models()
    assert Unit in models and Outlet in models
    for model in models:
        path = model.unit_scope_path
        model.objects.filter(**{path: 1}).exists()  # raises FieldError on a bad path
        sql = str(model.objects.visible_to(staff["unit_staff_b01"]).query)
        assert "WHERE" in sql, f"{model.__name__} is not filtered for unit staff"


def test_scoped_queryset_without_path_refuses_to_guess(staff):
    class Broken(UnitScopedQuerySet):
        pass

    queryset = Broken(model=Outlet)
    Outlet.unit_scope_path, saved = None, Outlet.unit_scope_path
    try:
        with pytest.raises(TypeError):
            queryset.visible_to(staff["unit_staff_b01"])
    finally:
        Outlet.unit_scope_path = saved


def test_outlet_api_list_is_scoped(api_for, staff, outlets):
    response = api_for(staff["unit_staff_b02"]).get("/api/org/outlets/")
    assert response.status_code == 200
    assert {row["unit"] for row in response.json()["results"]} == {"B02"}


def test_outlet_api_filter_for_another_unit_returns_nothing(api_for, staff, outlets):
    response = api_for(staff["unit_staff_b02"]).get("/api/org/outlets/?unit=B01")
    assert response.json()["count"] == 0


def test_other_units_outlet_is_404_for_unit_staff(api_for, staff, outlets):
    foreign = outlets["B01"][0]
    client = api_for(staff["unit_staff_b02"])
    response = client.get(f"/api/org/outlets/{foreign.code}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    own = outlets["B02"][0]
    assert client.get(f"/api/org/outlets/{own.code}/").status_code == 200


def test_admin_lists_use_the_same_scope(staff, outlets):
    request = RequestFactory().get("/admin/org/outlet/")
    request.user = staff["unit_staff_b01"]
    queryset = site._registry[Outlet].get_queryset(request)
    assert set(queryset) == set(outlets["B01"])


def test_unit_staff_profile_requires_a_unit(db):
    from django.db import IntegrityError, transaction

    from org.models import StaffProfile
    from tests.factories import UserFactory

    with pytest.raises(IntegrityError), transaction.atomic():
        StaffProfile.objects.create(user=UserFactory(), role=Role.UNIT_STAFF, unit=None)
