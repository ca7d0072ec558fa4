"""Customers, accounts, phone-banking registrations, links and SMS-notice subscriptions."""

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command

from banking import errors
from banking.models import Account, AccountEvent, Customer, LedgerTransaction
from banking.services.accounts import (
    CustomerImportRow,
    account_link,
    account_open,
    customer_create,
    customers_import,
    internal_account,
    registration_create,
    sms_notice_subscribe,
    sms_notice_unsubscribe,
)
from banking.services.common import id_number_digest
from tests.factories import OutletFactory, UnitFactory
from tests.factories_banking import AccountFactory, PassbookFactory, RegistrationFactory

pytestmark = pytest.mark.django_db
ID_NUMBER = "120110198001010011"


@pytest.fixture
def unit(db):
    return UnitFactory(code="B01")


@pytest.fixture
def customer(unit):
    return customer_create(name="张伟", mobile="13800000001", id_number=ID_NUMBER, home_unit=unit)


def open_card(customer, number="6228480100000001", **kwargs):
    kwargs.setdefault("withdrawal_password", "654321")
    return account_open(customer=customer, kind="debit_card", number=number, unit=customer.home_unit, **kwargs)


def test_the_id_number_is_stored_only_as_digest_and_last_6(customer):
    row = Customer.objects.filter(pk=customer.pk).values().get()
    assert row["id_last6"] == "010011"
    assert ID_NUMBER not in str(row)
    assert row["id_number_digest"] == id_number_digest(ID_NUMBER) and len(row["id_number_digest"]) == 64


def test_the_id_digest_is_keyed(customer, settings):
    settings.BANKING_ID_DIGEST_KEY = "another key"
    assert id_number_digest(ID_NUMBER) != customer.id_number_digest


def test_a_customer_with_the_same_id_number_is_refused(customer, unit):
    with pytest.raises(errors.AlreadyExists):
        customer_create(name="张伟", mobile="13800000009", id_number=ID_NUMBER.lower(), home_unit=unit)


@pytest.mark.parametrize("id_number", ["12011019800101001", "1201101980010100111", "12011019800101001Y", ""])
def test_a_malformed_id_number_is_refused(unit, id_number):
    with pytest.raises(errors.InvalidInput):
        customer_create(name="x", mobile="13800000001", id_number=id_number, home_unit=unit)


def test_an_x_check_digit_is_accepted(unit):
    customer = customer_create(name="x", mobile="13800000001", id_number="12011019800101001x", home_unit=unit)
    assert customer.id_last6 == "01001X"


def test_account_open_hashes_the_withdrawal_password_and_posts_the_opening_balance(customer):
    outlet = OutletFactory(unit=customer.home_unit)
    card = open_card(customer, outlet=outlet, opening_balance_fen=5_000_000)
    assert card.balance_fen == 5_000_000 and card.card_role == "main" and card.outlet == outlet
    assert card.withdrawal_password != "654321" and check_password("654321", card.withdrawal_password)
    assert LedgerTransaction.objects.get(kind="opening").amount_fen == 5_000_000
    assert AccountEvent.objects.filter(account=card, kind="opened").exists()


def test_account_open_without_opening_balance_posts_nothing(customer):
    open_card(customer)
    assert not LedgerTransaction.objects.exists()


@pytest.mark.parametrize(
    ("kind", "number", "extra"),
    [
        ("debit_card", "622848010000001", {}),  # 15 digits
        ("debit_card", "62284801000000011234", {}),  # 20 digits
        ("savings_passbook", "0101-0000", {}),
        ("savings_passbook", "01010000000001", {"card_role": "main"}),
        ("internal", "01010000000001", {}),
        ("debit_card", "6228480100000001", {"withdrawal_password": "12345"}),
        ("debit_card", "6228480100000001", {"card_role": "sub"}),  # no main card
    ],
)
def test_account_open_refuses_malformed_accounts(customer, kind, number, extra):
    extra.setdefault("withdrawal_password", "654321")
    with pytest.raises(errors.InvalidInput):
        account_open(customer=customer, kind=kind, number=number, unit=customer.home_unit, **extra)
    assert not Account.objects.exists()


def test_account_open_refuses_a_negative_opening_balance(customer):
    with pytest.raises(errors.InvalidAmount):
        open_card(customer, opening_balance_fen=-1)


def test_account_open_refuses_a_duplicate_number(customer):
    open_card(customer)
    with pytest.raises(errors.AlreadyExists):
        open_card(customer)


def test_account_open_refuses_an_outlet_of_another_branch(customer):
    with pytest.raises(errors.InvalidInput):
        open_card(customer, outlet=OutletFactory(unit=UnitFactory(code="B02")))


def test_a_sub_card_needs_a_main_card_of_the_same_customer(customer, unit):
    main = open_card(customer)
    sub = open_card(customer, number="6228480100000099", card_role="sub", main_card=main)
    assert sub.main_card == main and list(main.sub_cards.all()) == [sub]
    stranger_main = AccountFactory()
    with pytest.raises(errors.InvalidInput):
        open_card(customer, number="6228480100000098", card_role="sub", main_card=stranger_main)


def test_registration_hashes_a_six_digit_password(customer):
    card = open_card(customer)
    registration = registration_create(account=card, password="123456")
    assert check_password("123456", registration.password) and registration.password != "123456"
    assert registration.customer == customer
    with pytest.raises(errors.AlreadyExists):
        registration_create(account=card, password="123456")


@pytest.mark.parametrize("password", ["12345", "1234567", "abcdef", ""])
def test_registration_refuses_a_password_that_is_not_6_digits(customer, password):
    with pytest.raises(errors.InvalidInput):
        registration_create(account=open_card(customer), password=password)


def test_a_lost_account_cannot_be_registered(db):
    with pytest.raises(errors.AccountLost):
        registration_create(account=AccountFactory(status="verbally_lost"), password="123456")


def test_linking_the_customers_own_account_with_a_two_digit_code(db):
    registration = RegistrationFactory()
    book = PassbookFactory(customer=registration.account.customer)
    link = account_link(registration=registration, account=book, code="01")
    assert link.code == "01" and list(registration.linked.all()) == [link]


def test_another_customers_account_cannot_be_linked(db):
    registration = RegistrationFactory()
    with pytest.raises(errors.NotEligible):
        account_link(registration=registration, account=PassbookFactory(), code="01")


def test_the_registered_account_cannot_be_linked_to_itself(db):
    registration = RegistrationFactory()
    with pytest.raises(errors.NotEligible):
        account_link(registration=registration, account=registration.account, code="01")


@pytest.mark.parametrize("code", ["00", "1", "001", "a1", "１２", 1])
def test_account_codes_are_01_to_99(db, code):
    registration = RegistrationFactory()
    with pytest.raises(errors.InvalidInput):
        account_link(
            registration=registration, account=PassbookFactory(customer=registration.account.customer), code=code
        )


def test_a_code_or_an_account_is_linked_only_once(db):
    registration = RegistrationFactory()
    customer = registration.account.customer
    book = PassbookFactory(customer=customer)
    account_link(registration=registration, account=book, code="01")
    with pytest.raises(errors.AlreadyExists):
        account_link(registration=registration, account=PassbookFactory(customer=customer), code="01")
    with pytest.raises(errors.AlreadyExists):
        account_link(registration=registration, account=book, code="02")


def test_sms_notice_is_for_debit_main_cards_only(db):
    card = AccountFactory()
    subscription = sms_notice_subscribe(account=card, phone="13800000001")
    assert subscription.active and subscription.phone == "13800000001"
    with pytest.raises(errors.NotEligible):
        sms_notice_subscribe(account=PassbookFactory(), phone="13800000001")
    sub = AccountFactory(customer=card.customer, card_role="sub", main_card=card)
    with pytest.raises(errors.NotEligible):
        sms_notice_subscribe(account=sub, phone="13800000001")


def test_sms_notice_can_be_switched_off_and_on(db):
    card = AccountFactory()
    subscription = sms_notice_subscribe(account=card, phone="13800000001")
    assert sms_notice_unsubscribe(subscription=subscription).active is False
    assert sms_notice_subscribe(account=card, phone="13900000001").active is True
    assert Account.objects.get(pk=card.pk).sms_notice.phone == "13900000001"
    assert AccountEvent.objects.filter(account=card, kind="sms_notice_changed").count() == 3


def test_internal_accounts_are_created_once(db):
    first = internal_account("suspense")
    assert first.number == "INT-SUSPENSE" and first.is_internal and first.customer is None and first.unit is None
    assert internal_account("SUSPENSE").pk == first.pk


def test_customers_import_creates_cards_with_opening_balances_once(unit):
    outlet = OutletFactory(unit=unit)
    rows = [
        CustomerImportRow(
            name=f"客户{n}",
            mobile=f"1390000{n:04d}",
            id_number=f"12010119900101{n:04d}",
            home_unit=unit,
            outlet=outlet,
            card_number=f"62284802{n:08d}",
            balance_fen=n * 100,
        )
        for n in range(50)
    ]
    assert customers_import(rows=rows, withdrawal_password="000000") == 50
    assert customers_import(rows=rows, withdrawal_password="000000") == 0
    cards = Account.objects.filter(number__startswith="62284802")
    assert cards.count() == 50 and sum(card.balance_fen for card in cards) == sum(n * 100 for n in range(50))
    assert check_password("000000", cards.first().withdrawal_password)
    assert Customer.objects.get(id_last6="010049").accounts.get().balance_fen == 4900
    call_command("ledger_check")
