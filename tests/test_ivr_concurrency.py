"""Concurrent IVR calls on PostgreSQL: 50 callers transferring between the same accounts, with
every event retried, twin requests of one seq racing each other, and callers of one card typing
wrong passwords at once. The ledger invariants hold:
money neither appears nor vanishes, no balance goes negative, each confirmed transfer posts once.

Run with ``DATABASE_URL=postgres://... pytest tests/test_ivr_concurrency.py``."""

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from banking.models import Account, LedgerTransaction, PhoneBankingRegistration
from ivr.demo import seed_default_menu
from ivr.models import IvrCall, IvrEvent
from ivr.tests.helpers import PHONE_PIN
from org.roles import Role
from tests.factories import make_staff
from tests.factories_banking import phone_banking

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLS = 50
TWINS = 10


def amount_for(index: int) -> str:
    return f"{index % 7 + 1}*{index % 10}5"  # e.g. "3*45" → 3.45 yuan


def total_fen(accounts) -> int:
    return sum(Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("balance_fen", flat=True))


def said(actions, prompt):
    return next((a for a in actions if a["type"] == "say" and a["prompt"] == prompt), None)


class Driver:
    """One caller on its own connection; ``post`` sends each event twice (a switch retrying)."""

    def __init__(self, user, call_id: str, *, retries: int = 2):
        self.client = APIClient()
        self.client.force_authenticate(user)
        self.call_id = call_id
        self.seq = 0
        self.retries = retries
        self.errors: list[str] = []

    def start(self):
        response = self.client.post("/api/ivr/calls/", {"call_id": self.call_id, "ani": "1"}, format="json")
        if response.status_code != 201:
            self.errors.append(f"start {response.status_code}")
        return response.json().get("actions", [])

    def post(self, body):
        self.seq += 1
        answers = []
        for _ in range(self.retries):
            response = self.client.post(
                f"/api/ivr/calls/{self.call_id}/events/", {"seq": self.seq, **body}, format="json"
            )
            if response.status_code != 200:
                self.errors.append(f"seq {self.seq}: {response.status_code} {response.content[:200]!r}")
                return []
            answers.append(response.json())
        if any(answer != answers[0] for answer in answers):
            self.errors.append(f"seq {self.seq}: a retry got another answer")
        return answers[0]["actions"]

    def press(self, digits):
        return self.post({"type": "digits", "digits": digits})


def run_call(user, index: int, login: str, target: str, barrier: threading.Barrier) -> dict:
    try:
        driver = Driver(user, f"conc-{index}")
        driver.start()
        driver.press("1"), driver.press(login)
        if said(driver.press(PHONE_PIN), "account_menu") is None:
            return {"errors": [*driver.errors, "login failed"]}
        driver.press("4"), driver.press(target), driver.press(amount_for(index))
        barrier.wait(timeout=60)  # every caller confirms at the same moment
        actions = driver.press("1")
        driver.post({"type": "hangup"})
        done, refused = said(actions, "transfer_done"), said(actions, "transfer_refused")
        return {
            "errors": driver.errors,
            "done": done["data"]["amount"] if done else None,
            "reason": refused["data"]["reason"] if refused else None,
        }
    finally:
        connection.close()


def test_fifty_concurrent_calls_with_retries_keep_the_ledger_consistent(on_postgres):
    seed_default_menu()
    switch = make_staff(Role.SWITCH, username="ivr-switch")
    customer = phone_banking(card_fen=10_000, linked_fen=(5_000, 0), pin=PHONE_PIN)
    card, passbook, empty = customer.card, customer.linked[0], customer.linked[1]
    accounts = [card, passbook, empty]
    before = total_fen(accounts)

    # Even calls: card → passbook 01 (by code); odd: passbook → card (by number); every 5th: card → 02.
    plans = []
    for index in range(CALLS):
        if index % 5 == 0:
            plans.append((card.number, "02"))
        elif index % 2 == 0:
            plans.append((card.number, "01"))
        else:
            plans.append((passbook.number, card.number))
    barrier = threading.Barrier(CALLS)
    with ThreadPoolExecutor(max_workers=CALLS) as pool:
        results = list(pool.map(lambda item: run_call(switch, item[0], *item[1], barrier=barrier), enumerate(plans)))

    assert [r["errors"] for r in results if r["errors"]] == []
    done = [r for r in results if r["done"]]
    refused = [r for r in results if r["reason"]]
    assert len(done) + len(refused) == CALLS
    assert {r["reason"] for r in refused} <= {"insufficient_funds"}
    assert LedgerTransaction.objects.filter(kind="transfer").count() == len(done)  # retries posted nothing
    assert total_fen(accounts) == before
    assert not Account.objects.filter(is_internal=False, balance_fen__lt=0).exists()
    out, err = io.StringIO(), io.StringIO()
    call_command("ledger_check", stdout=out, stderr=err)
    assert "NOT OK" not in err.getvalue()
    assert IvrCall.objects.filter(ended=True).count() == CALLS
    assert IvrEvent.objects.count() == CALLS * 9  # start + 8 events each, retries not stored twice


def test_twin_requests_of_the_same_seq_race_and_post_once(on_postgres):
    seed_default_menu()
    switch = make_staff(Role.SWITCH, username="ivr-switch")
    customer = phone_banking(card_fen=1_000_000, linked_fen=(0,), pin=PHONE_PIN)
    drivers = []
    for index in range(TWINS):
        driver = Driver(switch, f"twin-{index}", retries=1)
        driver.start()
        for digits in ("1", customer.card.number, PHONE_PIN, "4", "01", "10"):
            driver.press(digits)
        drivers.append(driver)
    connection.close()
    barrier = threading.Barrier(TWINS * 2)

    def confirm(driver):
        try:
            client = APIClient()
            client.force_authenticate(switch)
            barrier.wait(timeout=60)
            response = client.post(
                f"/api/ivr/calls/{driver.call_id}/events/",
                {"seq": driver.seq + 1, "type": "digits", "digits": "1"},
                format="json",
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=TWINS * 2) as pool:
        answers = list(pool.map(confirm, [d for d in drivers for _twin in range(2)]))
    assert all(status == 200 for status, _body in answers)
    for first, second in zip(answers[::2], answers[1::2], strict=True):
        assert first[1] == second[1] and said(first[1]["actions"], "transfer_done")
    assert LedgerTransaction.objects.filter(kind="transfer").count() == TWINS
    assert Account.objects.get(pk=customer.linked[0].pk).balance_fen == TWINS * 1_000
    err = io.StringIO()
    call_command("ledger_check", stdout=io.StringIO(), stderr=err)
    assert "NOT OK" not in err.getvalue()


def test_parallel_wrong_passwords_of_many_calls_count_exactly_and_lock_at_the_limit(on_postgres, settings):
    """Wrong passwords are counted under the registration's lock even though right ones are
    accepted without it: N callers of one card, every request sent twice, all at once."""
    seed_default_menu()
    switch = make_staff(Role.SWITCH, username="ivr-switch")
    customer = phone_banking(card_fen=1_000, pin=PHONE_PIN)
    callers = 6
    drivers = []
    for index in range(callers):
        driver = Driver(switch, f"pw-{index}")
        driver.start()
        driver.press("1"), driver.press(customer.card.number)
        drivers.append(driver)
    connection.close()
    barrier = threading.Barrier(callers)

    def wrong(driver):
        try:
            barrier.wait(timeout=60)
            return driver.press("000000")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=callers) as pool:
        answers = list(pool.map(wrong, drivers))
    assert [error for driver in drivers for error in driver.errors] == []
    limit = settings.BANKING_PASSWORD_MAX_ATTEMPTS
    registration = PhoneBankingRegistration.objects.get(account=customer.card)
    assert registration.failed_attempts == limit and registration.locked
    outcomes = sorted("locked" if said(a, "locked") else "wrong" for a in answers)
    assert outcomes == ["locked"] * (callers - limit + 1) + ["wrong"] * (limit - 1)
    # Locked now: a new call is told so at the card number.
    late = Driver(switch, "pw-late")
    late.start()
    late.press("1")
    assert said(late.press(customer.card.number), "locked")
