"""``banking.ivr_port``'s written-out statements (``core.rows``) read every banking model
they serve — ``Account`` and ``PhoneBankingRegistration`` — with the same values as the ORM, on
both databases, alone and joined."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from banking import ivr_port, selectors
from banking.models import Account, PhoneBankingRegistration
from tests.factories_banking import AccountFactory, PassbookFactory, phone_banking

pytestmark = pytest.mark.django_db


def values(instance) -> dict | None:
    if instance is None:
        return None
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def orm(model, pk):
    return values(model.objects.get(pk=pk))


@pytest.fixture
def customer(db):
    """A registered card (locked, with a failure count and a lock time: every column set), two
    linked passbooks, and an outsider's sub card (nullable columns set)."""
    pb = phone_banking(card_fen=123_456, linked_fen=(100, 0))
    PhoneBankingRegistration.objects.filter(pk=pb.registration.pk).update(
        failed_attempts=2, locked=True, locked_at=datetime(2026, 6, 15, 6, 30, 1, 123456, tzinfo=UTC)
    )
    Account.objects.filter(pk=pb.linked[1].pk).update(status=Account.Status.FROZEN)
    return pb


def test_accounts_read_as_the_orm_reads_them(customer):
    main = AccountFactory()
    sub = AccountFactory(customer=main.customer, card_role=Account.CardRole.SUB, main_card=main)
    for account in (customer.card, *customer.linked, main, sub, PassbookFactory()):
        assert values(ivr_port.account_by_id(account.pk)) == orm(Account, account.pk)
        assert values(ivr_port.account_by_number(f" {account.number} ")) == orm(Account, account.pk)
    assert ivr_port.account_by_id(None) is None
    assert ivr_port.account_by_number("9" * 19) is None


def test_registrations_read_as_the_orm_reads_them(customer):
    registration = orm(PhoneBankingRegistration, customer.registration.pk)
    assert registration["locked_at"] is not None
    outsider = AccountFactory()
    for account in (customer.card, *customer.linked, outsider):
        expected = selectors.registration_for_account(account)
        assert values(ivr_port.registration_for_account(account)) == (
            orm(PhoneBankingRegistration, expected.pk) if expected else None
        )
        for found, joined in (
            ivr_port.account_with_registration_by_id(account.pk),
            ivr_port.account_with_registration_by_number(account.number),
        ):
            assert values(found) == orm(Account, account.pk)
            assert values(joined) == (orm(PhoneBankingRegistration, expected.pk) if expected else None)
    assert ivr_port.account_with_registration_by_id(None) == (None, None)
    assert ivr_port.account_with_registration_by_number("9" * 19) == (None, None)


def test_the_join_for_a_callers_statement_reads_both_rows_as_the_orm(customer):
    """The join on a caller's own row (here a one-row VALUES list standing for the IVR's call)."""
    outsider = AccountFactory()
    cases = (
        (customer.card.pk, customer.card.pk, True),  # an account and the registration it holds
        (customer.linked[0].pk, customer.card.pk, False),  # the condition off: no registration
        (outsider.pk, outsider.pk, True),  # an account without a registration
        (None, None, True),  # nothing
    )
    for account_id, registered_id, when in cases:
        join, columns = ivr_port.account_and_registration_join(
            account_id="c.account_id", registered_account_id="c.registered_id", registration_when="c.wanted"
        )
        sql = (
            f"SELECT {columns} FROM (SELECT CAST(%s AS BIGINT) AS account_id, CAST(%s AS BIGINT) AS registered_id, "  # noqa: S608
            f"%s AS wanted) c {join}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [account_id, registered_id, when])
            row = cursor.fetchone()
        account, registration = ivr_port.joined_account_and_registration(row)
        assert values(account) == (orm(Account, account_id) if account_id else None)
        expected = registered_id == customer.card.pk and when
        assert values(registration) == (orm(PhoneBankingRegistration, customer.registration.pk) if expected else None)
