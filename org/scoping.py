"""Unit scoping: the one mechanism that keeps a unit's data away from other units' staff.

A model opts in by using ``UnitScopedQuerySet`` as its manager and naming the path to
its owning unit in ``unit_scope_path`` (``"unit"``, ``"ticket__unit"``, ``"pk"`` for
``Unit`` itself). Every list, detail, export, search and admin page then reads through
``Model.objects.visible_to(user)``; an object outside the user's scope simply does not
exist for them (404, never 403, so ids of other units leak nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from .roles import CENTER_ROLES, Role


@dataclass(frozen=True)
class UnitScope:
    all_units: bool
    unit_id: int | None = None

    @property
    def is_empty(self) -> bool:
        return not self.all_units and self.unit_id is None


NO_SCOPE = UnitScope(all_units=False)


def user_role(user) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else None


def scope_for(user) -> UnitScope:
    """What part of the bank's units ``user`` may see."""
    role = user_role(user)
    if role in CENTER_ROLES:
        return UnitScope(all_units=True)
    if role == Role.UNIT_STAFF and user.profile.unit_id is not None:
        return UnitScope(all_units=False, unit_id=user.profile.unit_id)
    return NO_SCOPE  # the switch, users without a profile, anonymous


class UnitScopedQuerySet(models.QuerySet):
    def visible_to(self, user) -> UnitScopedQuerySet:
        scope = scope_for(user)
        if scope.all_units:
            return self
        if scope.is_empty:
            return self.none()
        path = getattr(self.model, "unit_scope_path", None)
        if not path:
            raise TypeError(f"{self.model.__name__} uses UnitScopedQuerySet without unit_scope_path")
        return self.filter(**{path: scope.unit_id})


def scoped_models() -> list[type[models.Model]]:
    """Every installed model that is unit scoped (the isolation tests walk this list)."""
    from django.apps import apps

    return [model for model in apps.get_models() if isinstance(model._default_manager.all(), UnitScopedQuerySet)]
