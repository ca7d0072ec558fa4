"""What the audit app records of other layers' announcements (connected in ``audit/apps.py``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .services import audit_record


def on_permission_denied(sender: Any = None, *, request: HttpRequest, code: str, view: str, **_kwargs: Any) -> None:
    """A request the API refused as forbidden: who, which endpoint, why."""
    audit_record(
        actor=request.user,
        action="auth.permission_denied",
        object_type="endpoint",
        object_id=request.path[:200],
        details={"method": request.method, "code": code, "view": view},
        request=request,
    )
