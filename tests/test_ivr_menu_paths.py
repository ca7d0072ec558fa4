"""Every path of the default IVR menu (DESIGN.md §6), driven through the switch's JSON API
with real banking objects."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from banking.models import Account, LedgerTransaction, Posting
from banking.services.loss_reports import loss_report_register
from ivr.models import IvrCall
from ivr.selectors import ivr_context_for_call
from ivr.tests.helpers import PHONE_PIN, last, prompts, said
from tests.factories_banking import WITHDRAWAL_PIN, AccountFactory, phone_banking

pytestmark = pytest.mark.django_db
pytest_plugins = ["ivr.tests.fixtures"]

GATHER_ONE = {"type": "gather", "max_digits": 1, "terminator": "#", "timeout_s": 8}


def in_account_menu(actions) -> bool:
    return prompts(actions)[-1] == "account_menu" and last(actions) == GATHER_ONE


def in_main_menu(actions) -> bool:
    return prompts(actions)[-1] == "main_menu" and last(actions) == GATHER_ONE


def balance_of(account) -> int:
    return Account.objects.get(pk=account.pk).balance_fen


def test_a_call_starts_with_the_welcome_then_the_main_menu(caller):
    call = caller()
    actions = call.start()
    assert prompts(actions) == ["welcome", "main_menu"]
    assert last(actions) == GATHER_ONE
    welcome = actions[0]
    assert welcome["text"].startswith("您好") and welcome["data"] == {}
    assert welcome["audio_url"] == f"/api/ivr/calls/{call.call_id}/audio/0-0.wav"


def test_active_announcements_are_said_after_the_welcome_and_others_are_not(caller):
    from ivr.models import Announcement

    now = timezone.now()
    active = Announcement.objects.create(
        title="理财",
        text="本行新推出稳健理财产品。",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    Announcement.objects.create(
        title="过期", text="旧公告。", starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=1)
    )
    Announcement.objects.create(
        title="停用",
        text="停用公告。",
        enabled=False,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    actions = caller().start()
    assert prompts(actions) == ["welcome", "announcement", "main_menu"]
    assert actions[1]["text"] == "本行新推出稳健理财产品。" and actions[1]["data"] == {"id": active.pk}


def test_balance_query_says_the_balance_and_returns_to_the_account_menu(caller, customer):
    call = caller()
    call.start()
    assert prompts(call.press("1")) == ["enter_number"]
    assert last(call.actions)["max_digits"] == 32
    assert prompts(call.press(customer.card.number)) == ["enter_password"]
    ask = said(call.actions, "enter_password")  # after the recording's pause (tests/test_ivr_recording_pause.py)
    assert ask["data"] == {"password": "phone_banking"} and PHONE_PIN not in ask["text"]
    assert in_account_menu(call.press(PHONE_PIN))
    actions = call.press("1")
    balance = said(actions, "balance")
    assert balance["data"] == {"balance": "50000.00"} and "50000.00" in balance["text"]
    assert in_account_menu(actions)


def test_todays_transactions_list_postings_with_machine_values(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    actions = call.press("2")
    rows = said(actions, "transactions")["data"]["transactions"]
    assert len(rows) == 1  # the opening deposit, posted today
    assert rows[0]["amount"] == "50000.00" and rows[0]["balance"] == "50000.00"
    assert rows[0]["ts"].endswith("+08:00") and "memo" in rows[0]
    assert in_account_menu(actions)


def test_recent_transactions_list_the_latest_postings_newest_first(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    call.press("4"), call.press("01"), call.press("10"), call.press("1")
    rows = said(call.press("3"), "transactions")["data"]["transactions"]
    assert [(row["amount"], row["balance"]) for row in rows] == [("-10.00", "49990.00"), ("50000.00", "50000.00")]
    assert in_account_menu(call.actions)


def test_transfer_by_account_code_with_star_as_decimal_point(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    assert prompts(call.press("4")) == ["enter_target"]
    assert prompts(call.press("01")) == ["enter_amount"]
    confirm = said(call.press("100*5"), "transfer_confirm")
    assert confirm["data"] == {"target": "****" + customer.linked[0].number[-4:], "amount": "100.50"}
    assert last(call.actions) == GATHER_ONE
    actions = call.press("1")
    done = said(actions, "transfer_done")
    assert done["data"]["amount"] == "100.50" and done["data"]["balance"] == "49899.50"
    assert in_account_menu(actions)
    assert balance_of(customer.card) == 4_989_950 and balance_of(customer.linked[0]) == 110_050


def test_transfer_by_full_number_from_a_linked_account_to_the_card(caller, customer):
    call = caller()
    call.start()
    call.login(customer.linked[0].number)  # logged in with the linked passbook
    call.press("4"), call.press(customer.card.number), call.press("250")
    assert said(call.press("1"), "transfer_done")["data"]["amount"] == "250.00"
    assert balance_of(customer.linked[0]) == 75_000 and balance_of(customer.card) == 5_025_000


def test_cancelled_transfer_posts_nothing_and_returns_to_the_account_menu(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    call.press("4"), call.press("02"), call.press("5")
    assert in_account_menu(call.press("2"))
    assert not LedgerTransaction.objects.filter(kind="transfer").exists()


def refused_reason(actions) -> str:
    assert in_account_menu(actions)
    return said(actions, "transfer_refused")["data"]["reason"]


def test_transfer_to_an_unlinked_number_is_refused_not_linked(caller, customer):
    stranger = AccountFactory(opening_fen=100)
    call = caller()
    call.start()
    call.login(customer.card.number)
    call.press("4")
    assert refused_reason(call.press(stranger.number)) == "not_linked"
    call.press("4")
    assert refused_reason(call.press("07")) == "not_linked"  # no linked account with code 07
    assert balance_of(stranger) == 100


def test_transfer_above_the_balance_is_refused_insufficient_funds(caller, customer):
    call = caller()
    call.start()
    call.login(customer.linked[0].number)
    call.press("4"), call.press(customer.card.number), call.press("1000*01")
    assert refused_reason(call.press("1")) == "insufficient_funds"
    assert balance_of(customer.linked[0]) == 100_000


@override_settings(BANKING_TRANSFER_LIMIT_FEN=10_000)
def test_transfer_above_the_limit_is_refused_limit_exceeded(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    call.press("4"), call.press("01"), call.press("100*01")
    assert refused_reason(call.press("1")) == "limit_exceeded"
    assert balance_of(customer.card) == 5_000_000


def test_transfer_to_a_lost_account_is_refused_account_lost(caller, customer):
    loss_report_register(account=customer.linked[0], verification="id_document", channel="agent", call_id="x")
    call = caller()
    call.start()
    call.login(customer.card.number)
    call.press("4")
    assert refused_reason(call.press("01")) == "account_lost"


def test_invalid_amounts_are_refused_invalid_amount(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    for amount in ("0", "1*234", "**", "", "1*2*3"):
        call.press("4"), call.press("01")
        assert refused_reason(call.press(amount)) == "invalid_amount", amount
    assert not LedgerTransaction.objects.filter(kind="transfer").exists()


def test_transfer_from_an_unregistered_card_is_refused_not_registered(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    # The registration goes away while the caller is in the account menu.
    customer.registration.linked.all().delete()
    customer.registration.delete()
    assert refused_reason(call.press("4")) == "not_registered"


def test_an_unregistered_card_cannot_log_in(caller):
    card = AccountFactory(opening_fen=100)
    call = caller()
    call.start()
    call.press("1")
    actions = call.press(card.number)
    assert said(actions, "not_registered")["data"] == {"reason": "not_registered"}
    assert in_main_menu(actions)
    assert not IvrCall.objects.get(call_id=call.call_id).verified


def test_unknown_number_is_an_auth_failure_and_asked_again(caller, customer):
    call = caller()
    call.start()
    call.press("1")
    actions = call.press("6228489999999999")
    assert prompts(actions) == ["auth_failed", "enter_number"]
    assert actions[0]["data"] == {"reason": "account_not_found"}
    assert IvrCall.objects.get(call_id=call.call_id).auth_failures == 1


def test_three_wrong_passwords_lock_and_a_later_correct_password_is_still_refused(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number)
    assert prompts(call.press("000000")) == ["auth_failed", "enter_password"]
    assert prompts(call.press("111111")) == ["auth_failed", "enter_password"]
    actions = call.press("222222")
    assert said(actions, "locked")["data"] == {"reason": "locked"}
    assert in_main_menu(actions)
    customer.registration.refresh_from_db()
    assert customer.registration.locked

    later = caller()
    later.start()
    later.press("1")
    actions = later.press(customer.card.number)
    assert "locked" in prompts(actions) and "enter_password" not in prompts(actions)
    assert in_main_menu(actions)
    # Even typed straight after the number, the right password does not get in.
    record = IvrCall.objects.get(call_id=later.call_id)
    assert not record.verified and record.locked_out


def test_correct_password_after_two_wrong_ones_gets_in_and_resets_the_counter(caller, customer):
    call = caller()
    call.start()
    call.press("1"), call.press(customer.card.number), call.press("000000"), call.press("111111")
    assert in_account_menu(call.press(PHONE_PIN))
    customer.registration.refresh_from_db()
    assert customer.registration.failed_attempts == 0


def test_verbal_loss_report_then_a_transfer_from_that_card_is_refused(caller, customer):
    call = caller()
    call.start()
    assert prompts(call.press("2")) == ["enter_number"]
    actions = call.press(customer.card.number)
    assert prompts(actions) == ["enter_password"]
    assert said(actions, "enter_password")["data"] == {"password": "withdrawal"}
    actions = call.press(WITHDRAWAL_PIN)
    done = said(actions, "loss_done")
    assert done["data"]["valid_until"] and done["data"]["number"].endswith(customer.card.number[-4:])
    assert in_main_menu(actions)
    assert Account.objects.get(pk=customer.card.pk).status == "verbally_lost"

    # A lost card can still log in and query, but not transfer.
    call.login(customer.card.number)
    assert said(call.press("1"), "balance")["data"] == {"balance": "50000.00"}
    assert refused_reason(call.press("4")) == "account_lost"
    # Nor can money go to it from a linked account.
    other = caller()
    other.start()
    other.login(customer.linked[0].number)
    other.press("4")
    assert refused_reason(other.press(customer.card.number)) == "account_lost"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [("wrong_password", "wrong_password"), ("already_lost", "account_lost"), ("unknown", "account_not_found")],
)
def test_loss_report_refusals_return_to_the_main_menu(caller, customer, setup, reason):
    call = caller()
    call.start()
    call.press("2")
    if setup == "unknown":
        actions = call.press("6228489999999999")
    else:
        if setup == "already_lost":
            loss_report_register(account=customer.card, verification="id_document", channel="agent")
        call.press(customer.card.number)
        actions = call.press("999999" if setup == "wrong_password" else WITHDRAWAL_PIN)
    assert said(actions, "loss_refused")["data"] == {"reason": reason}
    assert in_main_menu(actions)


def test_financial_information_texts_and_back(caller):
    call = caller()
    call.start()
    assert prompts(call.press("3")) == ["info_menu"]
    for key, words in (("1", "利率"), ("2", "收费"), ("3", "业务")):
        actions = call.press(key)
        assert prompts(actions) == ["info", "info_menu"]
        assert words in actions[0]["text"]
    assert in_main_menu(call.press("*"))


def test_star_goes_back_to_the_main_menu_and_account_services_need_no_second_login(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    assert in_main_menu(call.press("*"))
    assert in_account_menu(call.press("1"))


def test_zero_transfers_to_the_agent_queue_keeping_the_ivr_context(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    call.press("1")
    actions = call.press("0")
    assert prompts(actions) == ["to_agent"]
    assert last(actions) == {"type": "transfer", "queue": "general"}
    context = ivr_context_for_call(call.call_id)
    assert context["verified"] is True and context["customer_id"] == customer.customer.pk
    assert context["path"] == ["main", "account", "account_menu", "balance", "account_menu", "agent"]
    assert context["outcome"] == "agent"
    assert ivr_context_for_call("no-such-call") is None


def test_agent_from_the_main_menu_is_unverified(caller):
    call = caller()
    call.start()
    call.press("0")
    context = ivr_context_for_call(call.call_id)
    assert context["verified"] is False and context["customer_id"] is None and context["path"] == ["main", "agent"]


def test_an_invalid_key_says_invalid_and_repeats_the_menu(caller):
    call = caller()
    call.start()
    actions = call.press("7")
    assert prompts(actions) == ["invalid", "main_menu"] and last(actions) == GATHER_ONE


def test_three_invalid_inputs_send_the_caller_to_an_agent(caller):
    call = caller()
    call.start()
    call.press("9"), call.press("8")
    actions = call.press("5")
    assert prompts(actions) == ["to_agent"] and last(actions) == {"type": "transfer", "queue": "general"}
    assert IvrCall.objects.get(call_id=call.call_id).outcome == "agent"


def test_three_timeouts_send_the_caller_to_an_agent_and_a_timeout_repeats_the_prompt(caller):
    call = caller()
    call.start()
    assert prompts(call.timeout()) == ["main_menu"]
    call.timeout()
    assert last(call.timeout())["type"] == "transfer"


@override_settings(IVR_FAILURE_ACTION="goodbye", IVR_MAX_FAILURES=2)
def test_the_failure_cap_and_goodbye_are_settings(caller):
    call = caller()
    call.start()
    call.press("9")
    actions = call.press("9")
    assert prompts(actions) == ["goodbye"] and last(actions) == {"type": "hangup"}
    assert IvrCall.objects.get(call_id=call.call_id).outcome == "goodbye"


def test_a_hangup_ends_the_call(caller):
    call = caller()
    call.start()
    assert call.hangup() == []
    record = IvrCall.objects.get(call_id=call.call_id)
    assert record.ended and record.outcome == "hangup" and record.ended_at is not None


def test_a_repeated_seq_after_a_confirmed_transfer_posts_once(caller, customer):
    call = caller()
    call.start()
    call.login(customer.card.number)
    call.press("4"), call.press("01"), call.press("300")
    first = call.send("digits", "1")
    retry = call.send("digits", "1", seq=call.seq + 1)
    assert first.status_code == retry.status_code == 200 and first.json() == retry.json()
    call.seq += 1
    assert LedgerTransaction.objects.filter(kind="transfer").count() == 1
    assert balance_of(customer.card) == 4_970_000
    # ... and the call goes on from where the first response left it.
    assert said(call.press("1"), "balance")["data"] == {"balance": "49700.00"}
    assert Posting.objects.filter(account=customer.card).count() == 2


def test_two_callers_of_two_customers_do_not_share_anything(caller, customer):
    other = phone_banking(card_fen=10_000, linked_fen=(), pin="556677")
    first, second = caller(), caller()
    first.start(), second.start()
    first.login(customer.card.number)
    second.login(other.card.number, pin="556677")
    assert said(first.press("1"), "balance")["data"]["balance"] == "50000.00"
    assert said(second.press("1"), "balance")["data"]["balance"] == "100.00"
