"""Reads: customer search by phone / full number / ID last 6 within the user's scope, balances
and transactions by local (Asia/Shanghai) day, registrations and account codes."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from banking import errors, selectors
from banking.services.accounts import internal_account
from banking.services.ledger import ledger_post
from org.roles import Role
from tests.factories_banking import AccountFactory, CustomerFactory, PassbookFactory, phone_banking

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def customers(staff, branches):
    b01 = phone_banking(unit=branches[0])
    b02 = phone_banking(unit=branches[1])
    return b01, b02


@pytest.mark.parametrize("field", ["mobile", "card", "passbook", "id_last6"])
def test_customer_search_finds_by_phone_full_number_or_id_last_6(staff, customers, field):
    pb = customers[0]
    term = {
        "mobile": pb.customer.mobile,
        "card": pb.card.number,
        "passbook": pb.linked[0].number,
        "id_last6": pb.customer.id_last6,
    }[field]
    found = list(selectors.customer_search(user=staff[Role.AGENT], q=term))
    assert found == [pb.customer]


def test_customer_search_needs_the_whole_number(staff, customers):
    assert not selectors.customer_search(user=staff[Role.AGENT], q=customers[0].card.number[:-1]).exists()
    assert not selectors.customer_search(user=staff[Role.AGENT], q="  ").exists()


def test_customer_search_prefetches_accounts(staff, customers, django_assert_num_queries):
    with django_assert_num_queries(2):
        found = list(selectors.customer_search(user=staff[Role.AGENT], q=customers[0].customer.mobile))
        numbers = [account.number for account in found[0].accounts.all()]
    assert customers[0].card.number in numbers


def test_unit_staff_find_only_their_units_customers(staff, customers):
    other_branch = customers[1]
    assert not selectors.customer_search(user=staff["unit_staff_b01"], q=other_branch.customer.mobile).exists()
    with pytest.raises(errors.AccountNotFound) as caught:
        selectors.customer_get(user=staff["unit_staff_b01"], customer_id=other_branch.customer.pk)
    assert caught.value.status == 404
    assert selectors.customer_get(user=staff["unit_staff_b02"], customer_id=other_branch.customer.pk)


def test_account_get_is_scoped_and_hides_internal_accounts(staff, customers):
    assert selectors.account_get(user=staff[Role.AGENT], account_id=customers[1].card.pk) == customers[1].card
    with pytest.raises(errors.AccountNotFound):
        selectors.account_get(user=staff["unit_staff_b01"], account_id=customers[1].card.pk)
    with pytest.raises(errors.AccountNotFound):
        selectors.account_get(user=staff[Role.DIRECTOR], account_id=internal_account("SUSPENSE").pk)


def test_account_by_number_is_exact(db):
    card = AccountFactory()
    assert selectors.account_by_number(card.number) == card
    assert selectors.account_by_number(card.number[:-1]) is None


def test_balance_is_read_fresh(db):
    card = AccountFactory(opening_fen=1234)
    stale = type(card).objects.get(pk=card.pk)
    ledger_post(kind="batch_credit", lines=[(internal_account("SUSPENSE"), -1), (card, 1)], channel="batch")
    assert selectors.account_balance(stale) == 1235


def _post(account, fen, at):
    return ledger_post(
        kind="adjustment", lines=[(internal_account("SUSPENSE"), -fen), (account, fen)], channel="system", posted_at=at
    )


def test_transactions_by_local_date_range_newest_first(db):
    book = PassbookFactory()
    # 2026-03-01 23:30 and 2026-03-02 00:30 in Shanghai (both 2026-03-01 in UTC).
    _post(book, 1, datetime(2026, 3, 1, 23, 30, tzinfo=SHANGHAI))
    _post(book, 2, datetime(2026, 3, 2, 0, 30, tzinfo=SHANGHAI))
    _post(book, 3, datetime(2026, 3, 3, 12, 0, tzinfo=SHANGHAI))
    amounts = lambda **kw: [p.amount_fen for p in selectors.account_transactions(account=book, **kw)]  # noqa: E731
    assert amounts() == [3, 2, 1]
    assert amounts(date_from=date(2026, 3, 2)) == [3, 2]
    assert amounts(date_to=date(2026, 3, 1)) == [1]
    assert amounts(date_from=date(2026, 3, 2), date_to=date(2026, 3, 2)) == [2]
    assert amounts(limit=2) == [3, 2]


def test_today_and_recent_transactions(db, django_assert_num_queries):
    book = PassbookFactory()
    _post(book, 5, datetime(2020, 1, 1, 12, 0, tzinfo=SHANGHAI))
    for fen in (1, 2, 3):
        _post(book, fen, None)
    assert [p.amount_fen for p in selectors.today_transactions(book)] == [3, 2, 1]
    with django_assert_num_queries(1):
        recent = list(selectors.recent_transactions(book, n=2))
        memos = [p.transaction.kind for p in recent]
    assert [p.amount_fen for p in recent] == [3, 2] and memos == ["adjustment", "adjustment"]


def test_registration_for_an_account_registered_or_linked(db):
    pb = phone_banking()
    assert selectors.registration_for_account(pb.card) == pb.registration
    assert selectors.registration_for_account(pb.linked[0]) == pb.registration
    assert selectors.registration_for_account(PassbookFactory(customer=pb.customer)) is None
    assert selectors.registration_for_customer(pb.customer) == pb.registration
    assert selectors.registration_for_customer(CustomerFactory()) is None


def test_linked_account_by_code(db):
    pb = phone_banking(linked_fen=(0, 0))
    assert selectors.linked_account_by_code(pb.registration, "02") == pb.linked[1]
    assert selectors.linked_account_by_code(pb.registration, "03") is None


def test_registration_get_is_scoped(staff, branches):
    pb = phone_banking(unit=branches[1])
    assert selectors.registration_get(user=staff[Role.TEAM_LEAD], registration_id=pb.registration.pk) == pb.registration
    with pytest.raises(errors.AccountNotFound):
        selectors.registration_get(user=staff["unit_staff_b01"], registration_id=pb.registration.pk)
