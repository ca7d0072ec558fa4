"""The phone-banking password: checks, the failure counter, the lock and the unlock."""

from __future__ import annotations

import enum
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from notifications import texts

from .. import errors, sms_texts
from ..events import account_event_record
from ..locks import lock_registration, retry_on_conflict
from ..models import Account, LossReport, PhoneBankingRegistration
from ..models import AccountEvent as Event
from .common import PIN_PATTERN, Actor

logger = logging.getLogger(__name__)

logger = logging.getLogger(__name__)

# --- phone-banking password -----------------------------------------------------------------------


class PasswordOutcome(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    LOCKED = "locked"


def password_matches(registration: PhoneBankingRegistration, password: Any) -> bool:
    """Whether ``password`` is the registration's phone-banking password (six digits, checked
    against the stored hash). Changes nothing and counts nothing: ``password_verify`` does."""
    return (
        isinstance(password, str)
        and PIN_PATTERN.fullmatch(password) is not None
        and check_password(password, registration.password)
    )


def password_accepted_as_read(registration: PhoneBankingRegistration, password: Any) -> bool | None:
    """``password_verify``'s answer without a lock or a write, for a registration row read in
    this very request: True when the row is neither locked nor carries failures to reset and the
    password is right (nothing to record). Otherwise ``None`` — the locked path decides — or
    False when the password is wrong, which the caller must still record with
    ``password_verify(..., known=(registration.password, False))``.

    A concurrent change after the read is ordered after this check, as under the lock."""
    right = password_matches(registration, password)
    if right and not registration.locked and not registration.failed_attempts:
        return True
    return None if right else False


def _locked_sms(registration: PhoneBankingRegistration) -> None:
    """Tell the customer, on the mobile on record, that phone banking is locked (in the lock's
    transaction: the message goes out only if the lock commits)."""
    account = Account.objects.select_related("customer").filter(pk=registration.account_id).first()
    customer = account.customer if account is not None and account.customer_id else None
    if account is None or customer is None or not customer.mobile or registration.locked_at is None:
        return
    texts.enqueue(
        key=sms_texts.REGISTRATION_LOCKED_SPEC.key,
        phone=customer.mobile,
        values={**sms_texts.account_values(account), "time": sms_texts.sms_time(registration.locked_at)},
    )


# The attempt runs inside a caller's transaction without a savepoint of its own (the IVR locks the
# call first): a database error aborts the caller's transaction anyway, so a savepoint could only
# cost two round trips. Outside any transaction it is one.
@retry_on_conflict
@transaction.atomic(savepoint=False)
def _password_attempt(
    *, registration_id: int, password: Any, channel: str, call_id: str, known: tuple[str, bool] | None = None
) -> tuple[PasswordOutcome, PhoneBankingRegistration]:
    registration = lock_registration(registration_id)
    if registration.locked:
        return PasswordOutcome.LOCKED, registration
    if known is not None and known[0] == registration.password:
        right = known[1]  # this very password checked against this very hash a moment ago
    else:
        right = password_matches(registration, password)
    if right:
        if registration.failed_attempts:
            registration.failed_attempts = 0
            registration.save(update_fields=["failed_attempts"])
        return PasswordOutcome.ACCEPTED, registration
    before = {"failed_attempts": registration.failed_attempts, "locked": False}
    registration.failed_attempts += 1
    if registration.failed_attempts >= settings.BANKING_PASSWORD_MAX_ATTEMPTS:
        registration.locked, registration.locked_at = True, timezone.now()
        registration.save(update_fields=["failed_attempts", "locked", "locked_at"])
        account_event_record(
            account=registration.account_id,
            kind=Event.Kind.REGISTRATION_LOCKED,
            before=before,
            after={"failed_attempts": registration.failed_attempts, "locked": True, "registration": registration.pk},
            channel=channel,
            call_id=call_id,
        )
        _locked_sms(registration)
        logger.warning(
            "phone-banking registration %s locked after %d wrong passwords (channel %s, call %s)",
            registration.pk,
            registration.failed_attempts,
            channel,
            call_id,
        )
        return PasswordOutcome.LOCKED, registration
    registration.save(update_fields=["failed_attempts"])
    account_event_record(
        account=registration.account_id,
        kind=Event.Kind.PASSWORD_FAILED,
        before=before,
        after={"failed_attempts": registration.failed_attempts, "registration": registration.pk},
        channel=channel,
        call_id=call_id,
    )
    logger.info(
        "phone-banking password wrong for registration %s (attempt %d)", registration.pk, registration.failed_attempts
    )
    return PasswordOutcome.WRONG, registration


def password_verify(
    *,
    registration: PhoneBankingRegistration,
    password: str,
    channel: str,
    call_id: str = "",
    known: tuple[str, bool] | None = None,
) -> bool:
    """Check the phone-banking password. True when right (the failure counter is reset), False when
    wrong; raises ``RegistrationLocked`` when the registration is locked — also with the right
    password — or when this wrong entry reached ``BANKING_PASSWORD_MAX_ATTEMPTS``.

    The counter is one per registration, shared by every call and channel, and updated under the
    registration's row lock, so N parallel wrong entries count exactly N and the lock happens at
    exactly the limit. The update commits in its own transaction before this function returns or
    raises, so the caller's failure cannot roll it back (call it outside ``atomic`` blocks, or
    make sure the enclosing block is not rolled back).

    ``known`` — ``(stored hash, right?)`` from ``password_accepted_as_read`` moments before for
    this same password — saves hashing it again while the stored hash is still that one.
    """
    outcome, fresh = _password_attempt(
        registration_id=registration.pk, password=password, channel=channel, call_id=call_id, known=known
    )
    registration.failed_attempts, registration.locked, registration.locked_at = (
        fresh.failed_attempts,
        fresh.locked,
        fresh.locked_at,
    )
    if outcome is PasswordOutcome.LOCKED:
        raise errors.RegistrationLocked()
    return outcome is PasswordOutcome.ACCEPTED


@retry_on_conflict
@transaction.atomic
def registration_unlock(
    *, registration: PhoneBankingRegistration, actor: Actor, call_id: str = "", reason: str = ""
) -> PhoneBankingRegistration:
    """Reset the failure counter and the lock (a team lead, after an identity check). Audited."""
    locked = lock_registration(registration.pk)
    before = {"locked": locked.locked, "failed_attempts": locked.failed_attempts}
    locked.failed_attempts, locked.locked, locked.locked_at = 0, False, None
    locked.save(update_fields=["failed_attempts", "locked", "locked_at"])
    account_event_record(
        account=locked.account_id,
        kind=Event.Kind.REGISTRATION_UNLOCKED,
        before=before,
        after={"locked": False, "failed_attempts": 0, "registration": locked.pk, "reason": reason[:200]},
        actor=actor,
        channel=LossReport.Channel.AGENT,
        call_id=call_id,
    )
    audit_record(
        actor=actor,
        action="banking.registration_unlock",
        obj=locked,
        details={"call_id": call_id[:128], "reason": reason[:200], **before},
    )
    registration.failed_attempts, registration.locked, registration.locked_at = 0, False, None
    return locked
