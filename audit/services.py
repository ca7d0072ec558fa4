"""``audit_record``: the one way to write the audit log."""

from __future__ import annotations

import logging
from typing import Any

from django.db import models

from .models import AuditEvent

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


def client_ip(request) -> str | None:
    if request is None:
        return None
    meta = getattr(request, "META", {})
    return meta.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict | None = None,
    request=None,
) -> AuditEvent:
    """Append one audit event. ``actor`` may be anonymous (failed login) or ``None`` (system)."""
    from org.scoping import user_role

    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        actor_role=(user_role(actor) or "") if authenticated else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:200],
        ip_address=client_ip(request),
        details=scrub(details or {}),
    )
