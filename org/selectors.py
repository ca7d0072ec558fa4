from collections.abc import Iterable

from django.contrib.auth import get_user_model
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


def staff_mobiles(*, usernames: Iterable[str]) -> dict[str, str]:
    """Username → mobile number of those of ``usernames`` who are active and have a mobile in their
    profile (where staff notices by SMS go); the others are left out. One query."""
    wanted = sorted(set(usernames))
    if not wanted:
        return {}
    rows = (
        get_user_model()
        .objects.filter(username__in=wanted, is_active=True, profile__mobile__gt="")
        .values_list("username", "profile__mobile")
    )
    return dict(rows)
