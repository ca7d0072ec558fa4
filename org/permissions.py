"""Role checks, enforced on the server for APIs (DRF permissions) and pages (a decorator)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import TYPE_CHECKING, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from .scoping import user_role

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest
    from rest_framework.request import Request


def has_role(user, roles: Iterable[str]) -> bool:
    return user_role(user) in set(roles)


class RolePermission(BasePermission):
    """Allows authenticated users whose role is in ``roles``. Use ``roles_allowed(...)``."""

    roles: frozenset[str] = frozenset()
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, self.roles)


def roles_allowed(*roles: str) -> type[RolePermission]:
    """``permission_classes = [roles_allowed(Role.DIRECTOR, Role.ANALYST)]``."""
    names = "_".join(sorted(roles))
    return type(f"RolePermission_{names}", (RolePermission,), {"roles": frozenset(roles)})


def staff_user(request: HttpRequest | Request) -> User:
    """The signed-in staff member behind a request that ``roles_allowed`` or ``role_required``
    let through (never anonymous): the user services record as the actor."""
    return cast("User", request.user)


def role_required(*roles: str) -> Callable:
    """Page decorator: anonymous → login page; another role → 403 page (audited)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, roles):
                from audit.services import audit_record

                audit_record(
                    actor=request.user,
                    action="auth.permission_denied",
                    object_type="page",
                    object_id=request.path[:200],
                    details={"method": request.method},
                    request=request,
                )
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]  # marker read off the view
        return wrapped

    return decorator
