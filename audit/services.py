"""``audit_record``: the one way to write the audit log."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest
from rest_framework.request import Request

from .models import AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

SENSITIVE_KEYS = ("password", "passwd", "pin", "secret", "token", "card_number", "cvv")
REDACTED = "[redacted]"


def scrub(details: Any) -> Any:
    """Drop values under keys that may hold a secret, at any depth."""
    if isinstance(details, dict):
        return {
            key: (REDACTED if any(word in str(key).lower() for word in SENSITIVE_KEYS) else scrub(value))
            for key, value in details.items()
        }
    if isinstance(details, list | tuple):
        return [scrub(value) for value in details]
    return details


def client_ip(request: HttpRequest | Request | None) -> str | None:
    if request is None:
        return None
    meta = getattr(request, "META", {})
    return meta.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
    request: HttpRequest | Request | None = None,
) -> AuditEvent:
    """Append one audit event. ``actor`` may be anonymous (failed login) or ``None`` (system)."""
    from org.scoping import user_role

    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""
        object_id = object_id or obj.pk
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    user = cast("User", actor) if authenticated else None
    return AuditEvent.objects.create(
        actor=user,
        actor_username=user.get_username() if user is not None else "",
        actor_role=(user_role(user) or "") if user is not None else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:200],
        ip_address=client_ip(request),
        details=scrub(details or {}),
    )
