import pytest

from org.roles import Role
from tests.factories import make_staff
from tests.factories_banking import phone_banking


@pytest.fixture
def pb(db):
    """张-like customer: registered debit main card with 50,000.00, linked passbooks 01 (1,000.00)
    and 02 (0.00)."""
    return phone_banking(card_fen=5_000_000, linked_fen=(100_000, 0))


@pytest.fixture
def agent(db):
    return make_staff(Role.AGENT, username="agent-banking")


@pytest.fixture
def team_lead(db):
    return make_staff(Role.TEAM_LEAD, username="lead-banking")
