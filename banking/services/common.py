"""What the banking services share: input patterns, validation helpers and the customer's ID digest."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .. import errors
from ..models import Account
from ..transfer_rules import BLOCKED_STATUSES, LOST_STATUSES

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_stubs_ext import StrPromise

# Who acts: a staff user, the anonymous user of an unauthenticated request, or None (the system).
Actor: TypeAlias = "AbstractBaseUser | AnonymousUser | None"

PIN_PATTERN = re.compile(r"[0-9]{6}")


def user_or_none(actor: Actor) -> User | None:
    return cast("User", actor) if actor is not None and getattr(actor, "is_authenticated", False) else None


def ensure_active(account: Account) -> None:
    """A lost, frozen or closed account can neither send nor receive (checked on locked rows)."""
    if account.status in LOST_STATUSES:
        raise errors.AccountLost()
    if account.status in BLOCKED_STATUSES:
        raise errors.AccountBlocked()


def validate_choice(value: str, choices: Iterable[str], message: str | StrPromise) -> str:
    if value not in choices:
        raise errors.InvalidInput(message)
    return value


def validate_pin(pin: Any, message: str | StrPromise) -> str:
    if not isinstance(pin, str) or not PIN_PATTERN.fullmatch(pin):
        raise errors.InvalidInput(message)
    return pin


def params_fingerprint(parameters: dict[str, Any]) -> str:
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def id_number_normalize(id_number: str) -> str:
    return str(id_number).strip().upper()


def id_number_digest(id_number: str) -> str:
    """Keyed digest of a whole ID number: finds a customer by it without storing it.

    The key is ``BANKING_ID_DIGEST_KEY`` when set, else ``SECRET_KEY`` (rotating the secret key
    then needs the digests recomputed from the core system; set the dedicated key in production).
    """
    key = (getattr(settings, "BANKING_ID_DIGEST_KEY", "") or settings.SECRET_KEY).encode()
    return hmac.new(key, id_number_normalize(id_number).encode(), hashlib.sha256).hexdigest()
