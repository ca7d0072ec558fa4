"""The IVR tells the calls app, after commit, that a caller asked for an agent."""

import pytest

from ivr.signals import call_transferred_to_agent
from ivr.tests.helpers import PHONE_PIN

pytestmark = pytest.mark.django_db
pytest_plugins = ["ivr.tests.fixtures"]


@pytest.fixture
def received():
    payloads = []

    def receiver(sender, **kwargs):
        payloads.append({key: value for key, value in kwargs.items() if key != "signal"})

    call_transferred_to_agent.connect(receiver, weak=False)
    yield payloads
    call_transferred_to_agent.disconnect(receiver)


def test_verified_caller_asking_for_an_agent_is_announced_after_commit(
    caller, customer, received, django_capture_on_commit_callbacks
):
    call = caller()
    call.start()
    call.login(customer.card.number, PHONE_PIN)
    with django_capture_on_commit_callbacks(execute=True):
        call.press("0")
    assert received == [
        {
            "call_id": call.call_id,
            "ani": call.ani,
            "dnis": "96xxx",
            "queue": "general",
            "verified": True,
            "customer_id": customer.customer.pk,
            "account_id": customer.card.pk,
            # The menu path travels with the call: the main menu, the login, the account menu, "0".
            "path": ["main", "account", "account_menu", "agent"],
            "is_test": False,
        }
    ]


def test_a_retried_event_does_not_announce_twice(caller, received, django_capture_on_commit_callbacks):
    call = caller()
    call.start()
    with django_capture_on_commit_callbacks(execute=True):
        call.press("0")
        retry = call.send("digits", "0", seq=call.seq)
    assert retry.status_code == 200
    assert len(received) == 1 and received[0]["verified"] is False and received[0]["customer_id"] is None


def test_hanging_up_announces_nothing(caller, received, django_capture_on_commit_callbacks):
    call = caller()
    call.start()
    with django_capture_on_commit_callbacks(execute=True):
        call.hangup()
    assert received == []
