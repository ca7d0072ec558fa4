"""transfer_execute: registered ↔ linked only, positive amounts, limits, no overdraft, no lost or
blocked side, idempotent, SMS notice in the same transaction (DESIGN.md §4)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from banking import errors, selectors
from banking.models import Account, LedgerTransaction, Posting
from banking.services.transfers import transfer_execute
from notifications.models import SmsOutbox
from tests.factories_banking import AccountFactory, PassbookFactory, SmsNoticeSubscriptionFactory, phone_banking

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def transfer(pb, source, target, amount="100.00", key="k-1", **kwargs):
    kwargs.setdefault("channel", "ivr")
    return transfer_execute(
        registration=pb.registration,
        from_account=source,
        to_account=target,
        amount=amount,
        idempotency_key=key,
        **kwargs,
    )


def balance(account):
    return selectors.account_balance(account)


def transfer_count():
    return LedgerTransaction.objects.filter(kind="transfer").count()


def test_transfer_from_registered_card_to_linked_account_moves_money(pb, agent):
    card, book = pb.card, pb.linked[0]
    txn = transfer(pb, card, book, "100.50", channel="agent", call_id="call-1", actor=agent, memo="房租")
    assert (balance(card), balance(book)) == (5_000_000 - 10_050, 100_000 + 10_050)
    postings = {p.account_id: p for p in txn.postings.all()}
    assert postings[card.pk].amount_fen == -10_050 and postings[card.pk].balance_after_fen == 4_989_950
    assert postings[book.pk].amount_fen == 10_050 and postings[book.pk].balance_after_fen == 110_050
    assert (txn.kind, txn.amount_fen, txn.channel, txn.call_id, txn.memo) == (
        "transfer",
        10_050,
        "agent",
        "call-1",
        "房租",
    )
    assert txn.initiated_by == agent and txn.registration_id == pb.registration.pk and txn.replayed is False
    assert card.balance_fen == 4_989_950  # the caller's instances are refreshed


def test_transfer_from_linked_account_to_registered_card_is_allowed(pb):
    transfer(pb, pb.linked[0], pb.card, "1000")
    assert (balance(pb.linked[0]), balance(pb.card)) == (0, 5_100_000)


def test_transfer_between_two_linked_accounts_is_allowed(pb):
    transfer(pb, pb.linked[0], pb.linked[1], "0.01")
    assert (balance(pb.linked[0]), balance(pb.linked[1])) == (99_999, 1)


def test_transfer_to_unlinked_account_is_refused(pb):
    stranger = AccountFactory(opening_fen=100)
    with pytest.raises(errors.NotLinked) as caught:
        transfer(pb, pb.card, stranger)
    assert caught.value.code == "not_linked" and caught.value.status == 422
    assert balance(stranger) == 100 and transfer_count() == 0


def test_transfer_to_the_customers_own_unlinked_account_is_refused(pb):
    own = PassbookFactory(customer=pb.customer)
    with pytest.raises(errors.NotLinked):
        transfer(pb, pb.card, own)
    with pytest.raises(errors.NotLinked):
        transfer(pb, own, pb.card, key="k-2")
    assert transfer_count() == 0


def test_transfer_from_an_unregistered_card_is_refused(db):
    card = AccountFactory(opening_fen=100_000)
    other = PassbookFactory(customer=card.customer)
    registration = selectors.registration_for_account(card)
    assert registration is None
    with pytest.raises(errors.NotRegistered) as caught:
        transfer_execute(
            registration=registration,
            from_account=card,
            to_account=other,
            amount="1",
            idempotency_key="x",
            channel="ivr",
        )
    assert caught.value.code == "not_registered"
    assert transfer_count() == 0


def test_transfer_to_the_same_account_is_refused(pb):
    with pytest.raises(errors.SameAccount):
        transfer(pb, pb.card, pb.card)


@pytest.mark.parametrize("amount", ["0", "-1", "0.001", "1e3", "１００", "", "NaN"])
def test_transfer_of_an_invalid_amount_is_refused(pb, amount):
    with pytest.raises(errors.InvalidAmount):
        transfer(pb, pb.card, pb.linked[0], amount)
    assert transfer_count() == 0


def test_transfer_above_the_per_transfer_limit_is_refused(pb, settings):
    settings.BANKING_TRANSFER_LIMIT_FEN = 50_000
    with pytest.raises(errors.LimitExceeded) as caught:
        transfer(pb, pb.card, pb.linked[0], "500.01")
    assert caught.value.code == "limit_exceeded" and caught.value.details == {"limit": "per_transfer"}
    transfer(pb, pb.card, pb.linked[0], "500.00", key="k-2")  # exactly the limit is allowed
    assert balance(pb.linked[0]) == 150_000


def test_default_per_transfer_limit_is_50000_yuan(db):
    pb_rich = phone_banking(card_fen=20_000_000)
    with pytest.raises(errors.LimitExceeded):
        transfer(pb_rich, pb_rich.card, pb_rich.linked[0], "50000.01")
    transfer(pb_rich, pb_rich.card, pb_rich.linked[0], "50000", key="k-2")
    assert balance(pb_rich.linked[0]) == 100_000 + 5_000_000


def test_daily_limit_counts_earlier_transfers_of_the_day(pb, settings):
    settings.BANKING_DAILY_LIMIT_FEN = 100_000
    transfer(pb, pb.card, pb.linked[0], "600", key="a")
    with pytest.raises(errors.LimitExceeded) as caught:
        transfer(pb, pb.linked[0], pb.card, "400.01", key="b")  # the other direction counts too
    assert caught.value.details == {"limit": "daily"}
    transfer(pb, pb.card, pb.linked[1], "400", key="c")  # reaches the limit exactly
    with pytest.raises(errors.LimitExceeded):
        transfer(pb, pb.card, pb.linked[1], "0.01", key="d")
    assert transfer_count() == 2


def test_daily_limit_is_per_registration(pb, settings):
    settings.BANKING_DAILY_LIMIT_FEN = 100_000
    other = phone_banking()
    transfer(pb, pb.card, pb.linked[0], "1000", key="a")
    transfer(other, other.card, other.linked[0], "1000", key="b")
    assert transfer_count() == 2


def test_daily_limit_starts_again_at_midnight_in_shanghai(pb, settings, monkeypatch):
    settings.BANKING_DAILY_LIMIT_FEN = 100_000
    late = datetime(2026, 3, 1, 23, 50, tzinfo=SHANGHAI)
    monkeypatch.setattr(timezone, "now", lambda: late)
    transfer(pb, pb.card, pb.linked[0], "1000", key="a")
    # 00:10 in Shanghai is still 16:10 of the previous day in UTC: a new day all the same.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 2, 0, 10, tzinfo=SHANGHAI))
    transfer(pb, pb.card, pb.linked[0], "1000", key="b")
    assert transfer_count() == 2


@pytest.mark.parametrize("side", ["source", "target"])
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (Account.Status.VERBALLY_LOST, errors.AccountLost),
        (Account.Status.FORMALLY_LOST, errors.AccountLost),
        (Account.Status.FROZEN, errors.AccountBlocked),
        (Account.Status.CLOSED, errors.AccountBlocked),
    ],
)
def test_a_lost_frozen_or_closed_account_can_neither_send_nor_receive(pb, side, status, error):
    book = pb.linked[0]
    Account.objects.filter(pk=book.pk).update(status=status)  # the status the locked row will show
    source, target = (book, pb.card) if side == "source" else (pb.card, book)
    with pytest.raises(error) as caught:
        transfer(pb, source, target, "1")
    assert caught.value.code == ("account_lost" if error is errors.AccountLost else "account_blocked")
    assert (balance(pb.card), balance(book), transfer_count()) == (5_000_000, 100_000, 0)


def test_status_is_read_from_the_locked_row_not_the_callers_copy(pb):
    book = pb.linked[0]
    Account.objects.filter(pk=book.pk).update(status=Account.Status.VERBALLY_LOST)
    assert book.status == Account.Status.ACTIVE  # stale copy in the caller's hands
    with pytest.raises(errors.AccountLost):
        transfer(pb, pb.card, book)


def test_overdraft_is_refused(pb):
    with pytest.raises(errors.InsufficientFunds) as caught:
        transfer(pb, pb.linked[0], pb.card, "1000.01")
    assert caught.value.code == "insufficient_funds"
    assert balance(pb.linked[0]) == 100_000 and transfer_count() == 0


def test_the_whole_balance_can_be_transferred(pb):
    transfer(pb, pb.linked[0], pb.card, "1000")
    assert balance(pb.linked[0]) == 0


def test_locked_registration_cannot_transfer(pb):
    pb.registration.locked = True
    pb.registration.save()
    with pytest.raises(errors.RegistrationLocked) as caught:
        transfer(pb, pb.card, pb.linked[0])
    assert caught.value.code == "locked" and caught.value.status == 423


def test_idempotent_repeat_returns_the_same_transaction_without_a_second_posting(pb):
    first = transfer(pb, pb.card, pb.linked[0], "100", key="same")
    again = transfer(pb, pb.card, pb.linked[0], "100.00", key="same", channel="agent", call_id="other call")
    assert again.pk == first.pk and again.replayed is True
    assert Posting.objects.filter(transaction__idempotency_key="same").count() == 2
    assert balance(pb.linked[0]) == 110_000


def test_repeat_with_a_changed_amount_is_refused(pb):
    transfer(pb, pb.card, pb.linked[0], "100", key="same")
    with pytest.raises(errors.IdempotencyConflict) as caught:
        transfer(pb, pb.card, pb.linked[0], "100.01", key="same")
    assert caught.value.code == "idempotency_conflict" and caught.value.status == 409
    with pytest.raises(errors.IdempotencyConflict):
        transfer(pb, pb.card, pb.linked[1], "100", key="same")
    with pytest.raises(errors.IdempotencyConflict):
        transfer(pb, pb.linked[0], pb.card, "100", key="same")
    assert balance(pb.linked[0]) == 110_000 and transfer_count() == 1


def test_repeat_returns_the_first_result_even_when_it_would_now_be_refused(pb):
    first = transfer(pb, pb.linked[0], pb.card, "1000", key="all")
    Account.objects.filter(pk=pb.card.pk).update(status=Account.Status.VERBALLY_LOST)
    assert transfer(pb, pb.linked[0], pb.card, "1000", key="all").pk == first.pk


def test_a_refused_transfer_stores_nothing_so_its_key_can_be_retried(pb):
    with pytest.raises(errors.InsufficientFunds):
        transfer(pb, pb.linked[1], pb.card, "5", key="retry")
    transfer(pb, pb.card, pb.linked[1], "10", key="fund")
    transfer(pb, pb.linked[1], pb.card, "5", key="retry")
    assert balance(pb.linked[1]) == 500


@pytest.mark.parametrize("key", ["", None, "x" * 101, "bad\nkey"])
def test_a_transfer_needs_a_usable_idempotency_key(pb, key):
    with pytest.raises(errors.InvalidInput):
        transfer(pb, pb.card, pb.linked[0], key=key)


def test_a_transfer_needs_a_known_channel(pb):
    with pytest.raises(errors.InvalidInput):
        transfer(pb, pb.card, pb.linked[0], channel="fax")


# --- SMS notice (短信通) ---------------------------------------------------------------------------


def test_transfer_on_a_subscribed_debit_main_card_writes_one_outbox_sms(db, monkeypatch):
    pb = phone_banking(card_fen=5_000_000, sms_notice=True)
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 11, 29, 10, 5, tzinfo=SHANGHAI))
    txn = transfer(pb, pb.card, pb.linked[0], "100")
    sms = SmsOutbox.objects.get()
    card_posting = txn.postings.get(account=pb.card)
    assert (sms.phone, sms.kind, sms.status, sms.related_posting_id) == (
        pb.customer.mobile,
        "transaction_notice",
        "pending",
        card_posting.pk,
    )
    assert sms.text == (
        f"【农合银行】您尾号{pb.card.number[-4:]}的借记卡于11月29日10:05转出人民币100.00元，余额49,900.00元。"
    )
    assert pb.card.number not in sms.text and pb.card.number[:10] not in sms.text


def test_credit_to_a_subscribed_card_is_notified_too(db):
    pb = phone_banking(card_fen=0, linked_fen=(100_000,), sms_notice=True)
    transfer(pb, pb.linked[0], pb.card, "12.30")
    assert "转入人民币12.30元，余额12.30元" in SmsOutbox.objects.get().text


def test_no_sms_without_an_active_subscription(pb):
    transfer(pb, pb.card, pb.linked[0], "1", key="a")
    SmsNoticeSubscriptionFactory(account=pb.card, active=False)
    transfer(pb, pb.card, pb.linked[0], "1", key="b")
    assert not SmsOutbox.objects.exists()


def test_no_sms_for_postings_on_passbooks(db):
    pb = phone_banking(linked_fen=(100_000, 0), sms_notice=True)
    SmsNoticeSubscriptionFactory(account=pb.linked[0])  # not eligible; forced in to prove the rule
    transfer(pb, pb.linked[0], pb.linked[1], "1")
    assert not SmsOutbox.objects.exists()


def test_no_sms_for_a_sub_card(db):
    pb = phone_banking(linked_fen=())
    sub = AccountFactory(customer=pb.customer, card_role=Account.CardRole.SUB, main_card=pb.card, opening_fen=1000)
    pb.registration.linked.create(account=sub, code="01")
    SmsNoticeSubscriptionFactory(account=sub)  # not eligible; forced in to prove the rule
    transfer(pb, sub, pb.card, "1")
    assert not SmsOutbox.objects.exists()


def test_a_refused_transfer_writes_no_sms(db):
    pb = phone_banking(card_fen=100, sms_notice=True)
    with pytest.raises(errors.InsufficientFunds):
        transfer(pb, pb.card, pb.linked[0], "2")
    assert not SmsOutbox.objects.exists()
