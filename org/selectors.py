from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from .models import Outlet, Unit


def unit_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Unit]:
    """The bank's units: a directory every staff member may read (dispatch needs it)."""
    return Unit.objects.filter(is_active=True).order_by("kind", "code")


def outlet_list(*, user: AbstractBaseUser | AnonymousUser, unit_code: str | None = None) -> QuerySet[Outlet]:
    queryset = Outlet.objects.visible_to(user).select_related("unit").filter(is_active=True)
    if unit_code:
        queryset = queryset.filter(unit__code=unit_code)
    return queryset.order_by("code")
