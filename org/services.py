"""Writes of the org app: units, outlets and staff accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction

from core.errors import DomainError

from .models import Outlet, StaffProfile, Unit
from .roles import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser

User = get_user_model()

# Roles that administer the system through Django's admin site.
ADMIN_SITE_ROLES = frozenset({Role.MAINTAINER})


@transaction.atomic
def unit_upsert(*, code: str, name: str, name_en: str, kind: str) -> tuple[Unit, bool]:
    """Create the unit or bring its names up to date; returns (unit, changed)."""
    unit, created = Unit.objects.get_or_create(code=code, defaults={"name": name, "name_en": name_en, "kind": kind})
    if created:
        return unit, True
    if (unit.name, unit.name_en, unit.kind) == (name, name_en, kind):
        return unit, False
    unit.name, unit.name_en, unit.kind = name, name_en, kind
    unit.save(update_fields=["name", "name_en", "kind"])
    return unit, True


@transaction.atomic
def outlet_ensure(*, unit: Unit, code: str, name: str, address: str = "") -> tuple[Outlet, bool]:
    outlet, created = Outlet.objects.get_or_create(code=code, defaults={"unit": unit, "name": name, "address": address})
    return outlet, created


@transaction.atomic
def staff_ensure(
    *,
    username: str,
    role: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    unit: Unit | None = None,
    extension: str = "",
) -> tuple[AuthUser, bool]:
    """Create a staff account with its profile if it does not exist; an existing one is left as is.

    The password is set only on creation, so running the demo seed again changes nothing.
    """
    if role == Role.UNIT_STAFF and unit is None:
        raise DomainError("Branch / department staff must belong to a unit.", code="unit_required")
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, False
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        is_staff=role in ADMIN_SITE_ROLES,
        is_superuser=role in ADMIN_SITE_ROLES,
    )
    user.set_password(password)
    user.save()
    StaffProfile.objects.create(user=user, role=role, unit=unit, extension=extension)
    return user, True
