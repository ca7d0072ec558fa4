"""Steps without a lock (a compare-and-set on the call) and the locked re-run when a step reaches
a banking write: which steps take which path, that the password is hashed once either way, and
that the failure counter still counts every wrong password."""

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banking.models import PhoneBankingRegistration
from banking.services import passwords
from ivr import services
from ivr.locks import read_call
from ivr.models import IvrCall, IvrEvent
from ivr.tests.helpers import PHONE_PIN, said

pytest_plugins = ["ivr.tests.fixtures"]

WRONG_PIN = "000000"


@pytest.fixture
def hashes(monkeypatch):
    """How many times a phone-banking password was checked against its stored hash."""
    counted = []
    check = passwords.check_password

    def counting(password, encoded, *args, **kwargs):
        counted.append(1)
        return check(password, encoded, *args, **kwargs)

    monkeypatch.setattr(passwords, "check_password", counting)
    return counted


def registration_of(customer) -> PhoneBankingRegistration:
    return PhoneBankingRegistration.objects.get(account=customer.card)


def locking(captured) -> list[str]:
    return [q["sql"] for q in captured if "FOR UPDATE" in q["sql"].upper()]


def test_a_right_password_on_a_clean_registration_takes_no_lock_and_writes_no_banking_row(caller, customer, hashes):
    call = caller()
    call.start()
    call.press("1")
    call.press(customer.card.number)
    before = registration_of(customer)
    with CaptureQueriesContext(connection) as password:
        said(call.press(PHONE_PIN), "account_menu")
    assert locking(password.captured_queries) == []
    assert not [q["sql"] for q in password.captured_queries if "banking_" in q["sql"] and "UPDATE" in q["sql"]]
    assert len(hashes) == 1
    after = registration_of(customer)
    assert (after.failed_attempts, after.locked) == (before.failed_attempts, before.locked) == (0, False)
    stored = IvrCall.objects.get(call_id=call.call_id)
    assert stored.verified and stored.account_id == customer.card.pk and stored.last_seq == 3
    assert IvrEvent.objects.get(call=stored, seq=3).digits == IvrEvent.REDACTED


def test_a_wrong_password_is_counted_under_the_lock_and_hashed_once(caller, customer, hashes):
    call = caller()
    call.start()
    call.press("1")
    call.press(customer.card.number)
    with CaptureQueriesContext(connection) as password:
        said(call.press(WRONG_PIN), "auth_failed")
    if connection.features.has_select_for_update:
        assert locking(password.captured_queries)
    assert len(hashes) == 1  # checked in the unlocked run; the locked run reuses the verdict
    assert registration_of(customer).failed_attempts == 1
    # Only one event was written although the step ran twice.
    assert IvrEvent.objects.filter(call__call_id=call.call_id).count() == 4


def test_a_right_password_after_a_wrong_one_resets_the_counter_hashing_once(caller, customer, hashes):
    call = caller()
    call.start()
    call.press("1")
    call.press(customer.card.number)
    call.press(WRONG_PIN)
    assert registration_of(customer).failed_attempts == 1
    hashes.clear()
    said(call.press(PHONE_PIN), "account_menu")
    assert len(hashes) == 1
    assert registration_of(customer).failed_attempts == 0


def test_a_password_changed_between_the_two_runs_is_checked_again(caller, customer, hashes, monkeypatch):
    """The locked run reuses the unlocked run's verdict only for the same stored hash."""
    call = caller()
    call.start()
    call.press("1")
    call.press(customer.card.number)
    registration = registration_of(customer)
    registration.failed_attempts = 1  # something to reset: a right password takes the locked run
    registration.save(update_fields=["failed_attempts"])
    original = passwords.lock_registration

    def changed_meanwhile(registration_id):
        row = original(registration_id)
        PhoneBankingRegistration.objects.filter(pk=row.pk).update(password=make_password("135790"))
        return original(registration_id)

    monkeypatch.setattr(passwords, "lock_registration", changed_meanwhile)
    said(call.press(PHONE_PIN), "auth_failed")  # the old password, refused against the new hash
    assert len(hashes) == 2
    assert registration_of(customer).failed_attempts == 2


def test_a_menu_key_runs_unlocked_and_a_lost_compare_and_set_runs_locked(caller, monkeypatch):
    call = caller()
    call.start()
    with CaptureQueriesContext(connection) as key:
        call.press("3")
    assert locking(key.captured_queries) == []

    # Another request moves the call on between this one's read and its write: the
    # compare-and-set finds the call elsewhere and the event runs again under the lock, where it
    # is seen to be a retry of what the other request did.
    original = services._apply
    raced = []

    def racing(found, **kwargs):
        if kwargs.get("expect_seq") is not None and not raced:
            raced.append(1)
            original(read_call(found.call.call_id), **{**kwargs, "expect_seq": None})
        return original(found, **kwargs)

    monkeypatch.setattr(services, "_apply", racing)
    first = call.send("digits", "0")
    assert first.status_code == 200
    assert raced and IvrEvent.objects.filter(call__call_id=call.call_id, seq=2).count() == 1
    stored = IvrEvent.objects.get(call__call_id=call.call_id, seq=2)
    assert first.json() == stored.response


def test_the_unlocked_read_refuses_bad_sequences_like_the_locked_one(caller):
    call = caller()
    call.start()
    call.press("3")
    call.press("9")
    assert call.send("digits", "9", seq=2).json()["actions"]  # a retry: the stored answer
    assert call.send("digits", "9", seq=1).json()["error"]["code"] == "seq_out_of_order"
    assert call.send("digits", "9", seq=5).json()["error"]["code"] == "seq_out_of_order"
    call.hangup()
    assert call.send("digits", "1").json()["error"]["code"] == "call_ended"


def test_a_verified_calls_account_is_read_with_the_call_and_not_again(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    found = read_call(call.call_id)
    assert found.account is not None and found.account.pk == customer.card.pk
    assert found.account.balance_fen == customer.card.balance_fen
    with CaptureQueriesContext(connection) as balance:
        said(call.press("1"), "balance")
    account_reads = [q["sql"] for q in balance.captured_queries if 'FROM "banking_account"' in q["sql"]]
    assert account_reads == []  # only joined into the call's read


def test_the_account_logging_in_is_read_with_the_call_at_the_password_step(caller, customer):
    call = caller()
    call.start()
    call.press("1")
    call.press(customer.card.number)
    found = read_call(call.call_id)
    assert found.account is None
    account, registration = found.login
    assert (account.pk, registration.pk) == (customer.card.pk, customer.registration.pk)
    assert registration.password == customer.registration.password  # the stored hash, read fresh
    with CaptureQueriesContext(connection) as password:
        call.press(PHONE_PIN)
    banking_reads = [
        q["sql"] for q in password.captured_queries if 'FROM "banking_' in q["sql"] and "ivr_ivrcall" not in q["sql"]
    ]
    assert banking_reads == []  # only joined into the call's read
    after = read_call(call.call_id)
    assert after.call.verified and after.call.login_account_id is None and after.login is None
    assert after.account.pk == customer.card.pk


def test_a_login_by_a_linked_accounts_number_reads_its_registration_apart(caller, customer):
    """The call's read joins only an account's own registration; a linked one's is read after."""
    call = caller()
    call.start()
    call.press("1")
    call.press(customer.linked[0].number)
    assert read_call(call.call_id).login[1] is None
    call.press(PHONE_PIN)
    verified = IvrCall.objects.get(call_id=call.call_id)
    assert verified.verified and verified.account_id == customer.linked[0].pk


def test_the_switch_bodies_are_validated_the_same_on_every_request():
    """Their fields are shallow copies per request: one request's binding or errors never leak
    into the next (a bad body, then a good one, then a bad one, twice over)."""
    from ivr.serializers import CallEventSerializer

    for _round in range(2):
        bad = CallEventSerializer(data={"seq": "x", "type": "digits", "digits": "1#"})
        assert not bad.is_valid()
        assert {name: [e.code for e in errors] for name, errors in bad.errors.items()} == {
            "seq": ["invalid_seq"],
            "digits": ["invalid_digits"],
        }
        good = CallEventSerializer(data={"seq": 2, "type": "timeout"})
        assert good.is_valid(), good.errors
        assert good.validated_data == {"seq": 2, "type": "timeout", "digits": ""}
        assert good.fields["seq"].parent is good and bad.fields["seq"].parent is bad


@pytest.mark.django_db(transaction=True)
def test_outside_any_transaction_a_start_and_its_retry_need_none():
    """As in production (no request-wide transaction): the start is one statement; its retry
    meets the unique call id and still answers, with the connection usable afterwards."""
    from django.db import transaction

    from ivr.demo import seed_default_menu

    seed_default_menu()
    assert not transaction.get_connection().in_atomic_block
    first, created = services.call_start(call_id="autocommit-1", ani="1", dnis="2")
    again, created_again = services.call_start(call_id="autocommit-1", ani="1", dnis="2")
    assert created and not created_again and again == first
    assert services.call_event(call_id="autocommit-1", seq=1, type="digits", digits="3")["actions"]
    assert IvrEvent.objects.filter(call__call_id="autocommit-1").count() == 2
