import itertools

import pytest

from banking.risk import services
from org.roles import Role
from tests.factories import make_staff
from tests.factories_banking import phone_banking

_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def risk_settings(settings):
    """The documented defaults, pinned (a test that changes one says so); holes in the ids settle
    at once: only the watermark tests exercise the wait."""
    settings.RISK_PASSWORD_FAILURES = 5
    settings.RISK_PASSWORD_WINDOW_MINUTES = 60
    settings.RISK_LOCKOUTS = 2
    settings.RISK_LOCKOUT_WINDOW_HOURS = 24
    settings.RISK_TRANSFER_BURST_COUNT = 5
    settings.RISK_TRANSFER_BURST_MINUTES = 10
    settings.RISK_TRANSFER_AFTER_CHANGE_HOURS = 24
    settings.RISK_ACCOUNT_SETUP_MINUTES = 10
    settings.RISK_LARGE_TRANSFER_FEN = 2_000_000
    settings.RISK_IVR_NUMBERS_PER_PHONE = 3
    settings.RISK_IVR_NUMBERS_WINDOW_MINUTES = 60
    settings.RISK_BALANCE_PHONES = 3
    settings.RISK_BALANCE_WINDOW_HOURS = 24
    settings.RISK_BATCH_ACCOUNT_FEN = 1_000_000
    settings.RISK_BATCH_ACCOUNT_ITEMS = 3
    settings.RISK_BATCH_WINDOW_DAYS = 31
    settings.RISK_SCAN_BATCH = 2000
    settings.RISK_GAP_SETTLE_SECONDS = 0
    return settings


@pytest.fixture
def monitor(db):
    """Risk monitoring started before the test's events: ``monitor()`` evaluates what is new."""
    services.watermarks_ensure()
    return services.risk_evaluate


def opened_long_ago(*accounts):
    """Accounts opened a month ago: a change to them now is a change, not their setup."""
    from datetime import timedelta

    from django.utils import timezone

    from banking.models import Account

    Account.objects.filter(pk__in=[a.pk for a in accounts]).update(opened_at=timezone.now() - timedelta(days=30))


@pytest.fixture
def pb(db):
    customer = phone_banking(card_fen=10_000_000, linked_fen=(100_000, 0))
    opened_long_ago(customer.card, *customer.linked)
    return customer


@pytest.fixture
def risk_officer(db):
    return make_staff(Role.RISK_OFFICER, username="risk-officer")


@pytest.fixture
def director(db):
    return make_staff(Role.DIRECTOR, username="risk-director")


@pytest.fixture
def agent(db):
    return make_staff(Role.AGENT, username="risk-agent")


@pytest.fixture
def team_lead(db):
    return make_staff(Role.TEAM_LEAD, username="risk-lead")


def transfer(pb, amount="100.00", *, to=None, channel="ivr", call_id="call-1"):
    from banking.services.transfers import transfer_execute

    return transfer_execute(
        registration=pb.registration,
        from_account=pb.card,
        to_account=to or pb.linked[0],
        amount=amount,
        idempotency_key=f"risk-test-{next(_keys)}",
        channel=channel,
        call_id=call_id,
    )
