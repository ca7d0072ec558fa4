"""factory_boy factories for banking: customers, accounts, phone-banking registrations.

Balances are never written directly: ``AccountFactory(opening_fen=...)`` posts an opening
deposit through the ledger, so ``ledger_check`` stays clean in every test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import factory
from django.contrib.auth.hashers import make_password

from banking.models import Account, Customer, LinkedAccount, PhoneBankingRegistration, SmsNoticeSubscription
from banking.services.accounts import opening_deposit_post
from banking.services.common import id_number_digest
from tests.factories import UnitFactory

WITHDRAWAL_PIN = "654321"
PHONE_PIN = "123456"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    class Params:
        id_number = factory.Sequence(lambda n: f"120101199001{n:06d}")

    name = factory.Sequence(lambda n: f"客户{n}")
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    id_number_digest = factory.LazyAttribute(lambda o: id_number_digest(o.id_number))
    id_last6 = factory.LazyAttribute(lambda o: o.id_number[-6:])
    home_unit = factory.SubFactory(UnitFactory, code="B01")


def _number(o) -> str:
    if o.kind == Account.Kind.DEBIT_CARD:
        return f"622848{o.serial:010d}"
    prefix = "0101" if o.kind == Account.Kind.SAVINGS_PASSBOOK else "0102"
    return f"{prefix}{o.serial:010d}"


class AccountFactory(factory.django.DjangoModelFactory):
    """A debit main card by default. ``opening_fen=`` posts an opening deposit via the ledger."""

    class Meta:
        model = Account
        skip_postgeneration_save = True

    class Params:
        serial = factory.Sequence(lambda n: 1_000_000 + n)
        withdrawal_pin = WITHDRAWAL_PIN

    customer = factory.SubFactory(CustomerFactory)
    kind = Account.Kind.DEBIT_CARD
    number = factory.LazyAttribute(_number)
    card_role = factory.LazyAttribute(lambda o: Account.CardRole.MAIN if o.kind == Account.Kind.DEBIT_CARD else None)
    unit = factory.LazyAttribute(lambda o: o.customer.home_unit)
    withdrawal_password = factory.LazyAttribute(lambda o: make_password(o.withdrawal_pin))

    @factory.post_generation
    def opening_fen(obj, create, extracted, **kwargs):
        if create and extracted:
            opening_deposit_post(account=obj, amount_fen=extracted)
            obj.refresh_from_db(fields=["balance_fen"])


class PassbookFactory(AccountFactory):
    kind = Account.Kind.SAVINGS_PASSBOOK


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneBankingRegistration

    class Params:
        pin = PHONE_PIN

    account = factory.SubFactory(AccountFactory)
    password = factory.LazyAttribute(lambda o: make_password(o.pin))


class LinkedAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LinkedAccount

    registration = factory.SubFactory(RegistrationFactory)
    account = factory.SubFactory(PassbookFactory, customer=factory.SelfAttribute("..registration.account.customer"))
    code = factory.Sequence(lambda n: f"{n % 99 + 1:02d}")


class SmsNoticeSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SmsNoticeSubscription

    account = factory.SubFactory(AccountFactory)
    phone = factory.LazyAttribute(lambda o: o.account.customer.mobile)
    active = True


@dataclass
class PhoneBanking:
    """A customer registered for phone banking: the registered card and its linked accounts."""

    customer: Customer
    registration: PhoneBankingRegistration
    card: Account
    linked: list[Account] = field(default_factory=list)


def phone_banking(
    *,
    card_fen: int = 5_000_000,
    linked_fen: tuple[int, ...] = (100_000,),
    unit=None,
    sms_notice: bool = False,
    pin: str = PHONE_PIN,
) -> PhoneBanking:
    """A registered debit main card with ``card_fen`` and one linked passbook per ``linked_fen``
    entry (codes 01, 02, ...); optionally with SMS notice on the card."""
    customer = CustomerFactory(home_unit=unit) if unit is not None else CustomerFactory()
    card = AccountFactory(customer=customer, opening_fen=card_fen)
    registration = RegistrationFactory(account=card, pin=pin)
    linked = []
    for index, fen in enumerate(linked_fen, start=1):
        account = PassbookFactory(customer=customer, opening_fen=fen)
        LinkedAccount.objects.create(registration=registration, account=account, code=f"{index:02d}")
        linked.append(account)
    if sms_notice:
        SmsNoticeSubscriptionFactory(account=card, phone=customer.mobile)
    return PhoneBanking(customer=customer, registration=registration, card=card, linked=linked)
