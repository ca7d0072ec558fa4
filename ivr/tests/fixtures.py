"""Pytest fixtures of the IVR tests: ``pytest_plugins = ["ivr.tests.fixtures"]`` in a test module."""

import shutil
import types

import pytest
from rest_framework.test import APIClient

from org.roles import Role
from tests.factories import make_staff

from .helpers import PHONE_PIN, Caller


@pytest.fixture(autouse=True)
def tts_binaries_as_on_the_switch_host(monkeypatch):
    """The engine offers ``audio_url`` only where espeak-ng and sox are found. The switch-API
    tests see this machine as a production host would (both found) whether or not it has them;
    a test pointing the setting at a missing path still sees it missing, and real rendering is
    tested only where the binaries really are (``needs_tts`` in tests/test_ivr_tts.py)."""
    from ivr import tts

    def which(name, *args, **kwargs):
        found = shutil.which(name, *args, **kwargs)
        if found is None and name in ("espeak-ng", "sox"):
            return f"/usr/bin/{name}"
        return found

    monkeypatch.setattr(tts, "shutil", types.SimpleNamespace(which=which))
    tts._binaries.cache_clear()
    yield
    tts._binaries.cache_clear()


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
