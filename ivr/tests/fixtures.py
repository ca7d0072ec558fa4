"""Pytest fixtures of the IVR tests: ``pytest_plugins = ["ivr.tests.fixtures"]`` in a test module."""

import pytest
from rest_framework.test import APIClient

from org.roles import Role
from tests.factories import make_staff

from .helpers import PHONE_PIN, Caller


@pytest.fixture
def ivr_menu(db):
    from ivr.demo import seed_default_menu

    return seed_default_menu()


@pytest.fixture
def switch_user(db):
    return make_staff(Role.SWITCH, username="ivr-switch")


@pytest.fixture
def switch_client(switch_user):
    client = APIClient()
    client.force_authenticate(switch_user)
    return client


@pytest.fixture
def caller(switch_client, ivr_menu):
    """A fresh call on the default menu (not yet started)."""

    def make(**kwargs) -> Caller:
        return Caller(switch_client, **kwargs)

    return make


@pytest.fixture
def customer(db):
    """A registered debit card with 50,000.00 yuan, linked passbooks 01 (1,000.00) and 02 (0.00)."""
    from tests.factories_banking import phone_banking

    return phone_banking(card_fen=5_000_000, linked_fen=(100_000, 0), pin=PHONE_PIN)
