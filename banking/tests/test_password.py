"""Phone-banking password: a counter per registration shared by every call and channel; locked at
exactly the limit; a locked registration refuses even the right password; success resets;
unlocking is audited (DESIGN.md §4)."""

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from banking import errors
from banking.models import AccountEvent, PhoneBankingRegistration
from banking.services.passwords import password_verify, registration_unlock
from tests.factories_banking import PHONE_PIN, phone_banking

pytestmark = pytest.mark.django_db
WRONG = "000000"


def verify(pb, password, channel="ivr", call_id="c1"):
    return password_verify(registration=pb.registration, password=password, channel=channel, call_id=call_id)


def stored(pb) -> PhoneBankingRegistration:
    return PhoneBankingRegistration.objects.get(pk=pb.registration.pk)


def events(pb, kind):
    return AccountEvent.objects.filter(account=pb.card, kind=kind)


def test_right_password_is_accepted(pb):
    assert verify(pb, PHONE_PIN) is True


def test_wrong_password_is_refused_and_counted(pb):
    assert verify(pb, WRONG) is False
    assert stored(pb).failed_attempts == 1 and not stored(pb).locked
    event = events(pb, "password_failed").get()
    assert event.after["failed_attempts"] == 1 and event.channel == "ivr" and event.call_id == "c1"


def test_registration_locks_at_exactly_the_third_wrong_password(pb):
    assert verify(pb, WRONG) is False
    assert verify(pb, WRONG) is False
    assert not stored(pb).locked
    with pytest.raises(errors.RegistrationLocked) as caught:
        verify(pb, WRONG)
    assert caught.value.code == "locked"
    registration = stored(pb)
    assert registration.locked and registration.failed_attempts == 3 and registration.locked_at is not None
    assert events(pb, "registration_locked").count() == 1 and events(pb, "password_failed").count() == 2


def test_the_limit_is_a_setting(pb, settings):
    settings.BANKING_PASSWORD_MAX_ATTEMPTS = 5
    for _ in range(4):
        assert verify(pb, WRONG) is False
    with pytest.raises(errors.RegistrationLocked):
        verify(pb, WRONG)
    assert stored(pb).failed_attempts == 5


def test_the_counter_is_shared_across_calls_and_channels(pb):
    verify(pb, WRONG, channel="ivr", call_id="call-a")
    verify(pb, WRONG, channel="agent", call_id="call-b")
    with pytest.raises(errors.RegistrationLocked):
        verify(pb, WRONG, channel="ivr", call_id="call-c")


def test_a_locked_registration_refuses_even_the_right_password(pb):
    for _ in range(2):
        verify(pb, WRONG)
    with pytest.raises(errors.RegistrationLocked):
        verify(pb, WRONG)
    with pytest.raises(errors.RegistrationLocked):
        verify(pb, PHONE_PIN)
    assert stored(pb).failed_attempts == 3  # attempts while locked are refused, not counted


def test_success_resets_the_counter(pb):
    verify(pb, WRONG)
    verify(pb, WRONG)
    assert verify(pb, PHONE_PIN) is True
    assert stored(pb).failed_attempts == 0
    assert verify(pb, WRONG) is False and verify(pb, WRONG) is False  # three more are needed again
    assert not stored(pb).locked


@pytest.mark.parametrize("entry", ["", "12345", "1234567", "12345a", None, 123456, "１２３４５６"])
def test_malformed_entries_count_as_wrong(pb, entry):
    assert verify(pb, entry) is False
    assert stored(pb).failed_attempts == 1


@pytest.mark.django_db(transaction=True)
def test_the_count_is_committed_before_the_refusal_is_raised(db):
    """Autocommit, as in a real request: the lock is committed although the caller sees an error."""
    pb = phone_banking()
    verify(pb, WRONG)
    verify(pb, WRONG)
    with pytest.raises(errors.RegistrationLocked):
        verify(pb, WRONG)
    assert not connection.in_atomic_block  # nothing left open that could still roll it back
    assert stored(pb).locked and stored(pb).failed_attempts == 3


def test_the_callers_instance_is_refreshed(pb):
    verify(pb, WRONG)
    assert pb.registration.failed_attempts == 1


def test_unlock_resets_counter_and_lock_and_is_audited(pb, team_lead):
    for _ in range(2):
        verify(pb, WRONG)
    with pytest.raises(errors.RegistrationLocked):
        verify(pb, WRONG)
    registration = registration_unlock(registration=pb.registration, actor=team_lead, call_id="c9", reason="身份核实")
    assert (registration.locked, registration.failed_attempts, registration.locked_at) == (False, 0, None)
    assert not stored(pb).locked and stored(pb).failed_attempts == 0
    assert verify(pb, PHONE_PIN) is True
    audit = AuditEvent.objects.get(action="banking.registration_unlock")
    assert audit.actor == team_lead and audit.object_type == "phonebankingregistration"
    assert audit.object_id == str(pb.registration.pk) and audit.details["call_id"] == "c9"
    assert audit.details["reason"] == "身份核实" and audit.details["locked"] is True
    event = events(pb, "registration_unlocked").get()
    assert event.actor == team_lead and event.before == {"locked": True, "failed_attempts": 3}


def test_password_check_commits_its_count_inside_a_callers_transaction(pb):
    with transaction.atomic():
        assert verify(pb, WRONG) is False
    assert stored(pb).failed_attempts == 1
