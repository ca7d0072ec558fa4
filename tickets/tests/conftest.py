"""Fixtures of the work-order tests: the calendar as the migration seeds it, attachments in a
temporary directory, a customer with an account, and a helper that makes a work order in a state."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from org.roles import Role
from tickets.models import CalendarYear, Category, ContactKind, State
from tickets.services.calendar import calendar_sync_from_package
from tickets.services.contacts import ticket_create
from tickets.services.workflow import (
    ticket_accept,
    ticket_callback,
    ticket_close,
    ticket_dispatch,
    ticket_reply,
    ticket_review,
    ticket_withdraw,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def calendar_seeded(db):
    """The data migration loads the package's years; a transactional test before this one may have
    flushed them, so load them again when missing."""
    if not CalendarYear.objects.filter(year=2026, complete=True).exists():
        calendar_sync_from_package()


@pytest.fixture(autouse=True)
def attachment_root(settings, tmp_path):
    settings.TICKETS_ATTACHMENT_ROOT = tmp_path / "attachments"
    return settings.TICKETS_ATTACHMENT_ROOT


@pytest.fixture
def customer(db, branches):
    from tests.factories_banking import AccountFactory

    account = AccountFactory(opening_fen=100_000)
    return account.customer


@pytest.fixture
def make_ticket(staff, branches):
    """``make_ticket(state, unit="B01", category=..., **create_kwargs)`` walks a work order through
    the services to ``state`` (every step a real transition)."""

    def make(
        state: str = State.NEW,
        *,
        unit: str = "B01",
        category: str = Category.SERVICE_ATTITUDE,
        kind: str = ContactKind.COMPLAINT,
        **kwargs,
    ):
        analyst = staff[Role.ANALYST]
        unit_staff = staff["unit_staff_b01"] if unit == "B01" else staff["unit_staff_b02"]
        # ``owed=True``: the unit's reply confirms ¥200 to adjust (a category that carries money).
        kwargs_owed = kwargs.pop("owed", False)
        if state == State.AWAITING_ADJUSTMENT or kwargs_owed:
            category = Category.ATM_MISPOST if category == Category.SERVICE_ATTITUDE else category
        ticket = ticket_create(
            actor=staff[Role.AGENT], kind=kind, category=category, description="客户反映问题", **kwargs
        )
        if state == State.NEW:
            return ticket
        if state == State.WITHDRAWN:
            return ticket_withdraw(ticket=ticket, actor=analyst, reason="重复")
        if state == State.CLOSED:
            return ticket_close(ticket=ticket, actor=analyst)
        ticket = ticket_dispatch(ticket=ticket, actor=analyst, unit_code=unit)
        if state == State.DISPATCHED:
            return ticket
        if state == State.IN_PROGRESS:
            return ticket_accept(ticket=ticket, actor=unit_staff)
        owed = state == State.AWAITING_ADJUSTMENT or kwargs_owed
        ticket = ticket_reply(
            ticket=ticket, actor=unit_staff, result="已处理", resolved=True, adjustment_fen=20_000 if owed else None
        )
        if state == State.REPLIED:
            return ticket
        if state == State.CALLBACK_PENDING:
            return ticket_review(ticket=ticket, actor=analyst, accepted=True)
        if state == State.AWAITING_ADJUSTMENT:
            # Only a work order that carries money gets there: confirmed, called back, not posted.
            return ticket_callback(ticket=ticket, actor=staff[Role.AGENT], satisfied=True)
        if state == State.RETURNED:
            return ticket_review(ticket=ticket, actor=analyst, accepted=False, note="请补充")
        raise ValueError(state)

    return make
