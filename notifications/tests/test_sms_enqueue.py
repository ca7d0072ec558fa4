"""sms_enqueue: an outbox row in the caller's transaction, never with a full card or account number."""

from datetime import UTC, datetime

import pytest

from notifications.models import SmsOutbox
from notifications.services import sms_enqueue

pytestmark = pytest.mark.django_db


def test_a_notice_is_queued_pending_with_its_posting_and_time():
    at = datetime(2026, 6, 15, 6, 30, tzinfo=UTC)
    sms = sms_enqueue(
        phone="13900000000", kind="transaction_notice", text="尾号1234", related_posting_id=7, created_at=at
    )
    assert (sms.status, sms.attempts, sms.related_posting_id, sms.created_at) == ("pending", 0, 7, at)


FULL_NUMBERS = [
    "622848000000123",
    "6228480000001234",
    "010100000000123456",
    "6228 4800 1234 5678 901",  # as printed on the card
    "6228-4800-1234-5678",
    "6228\u20134800\u20131234\u20135678",  # en dashes
    "６２２８４８００１２３４５６７８",  # full-width digits
    "6228\u30004800\u30001234\u30005678",  # ideographic spaces
]
# What the notices do carry: last 4 digits, times, grouped amounts, phone numbers, work-order numbers.
ALLOWED = [
    "尾号1234的借记卡于12月1日09:05转出人民币1,234.56元，余额12,345,678.90元。",
    "请致电13900000000",
    "工单号000123已办结",
    "尾号 1234，客服热线 96123",
]


@pytest.mark.parametrize("number", FULL_NUMBERS)
def test_a_full_card_or_account_number_is_refused_and_nothing_is_queued(number):
    with pytest.raises(ValueError, match="full card or account number"):
        sms_enqueue(phone="13900000000", kind="service", text=f"您的卡{number}已激活")
    assert not SmsOutbox.objects.exists()


@pytest.mark.parametrize("text", ALLOWED)
def test_what_notices_carry_is_allowed(text):
    sms_enqueue(phone="13900000000", kind="service", text=text)
    assert SmsOutbox.objects.get().text == text


@pytest.mark.postgres
def test_the_database_function_refuses_the_same_numbers_and_allows_the_same_texts():
    from django.db import DataError, connection, transaction

    for number in FULL_NUMBERS:
        with pytest.raises(DataError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT notifications_sms_enqueue(%s, %s, %s, NULL, now())", ["13900000000", "service", f"卡{number}"]
            )
    assert not SmsOutbox.objects.exists()
    with connection.cursor() as cursor:
        for text in ALLOWED:
            cursor.execute(
                "SELECT notifications_sms_enqueue(%s, %s, %s, NULL, now())", ["13900000000", "service", text]
            )
    assert sorted(SmsOutbox.objects.values_list("text", flat=True)) == sorted(ALLOWED)


def test_an_eleven_digit_phone_number_in_the_text_is_allowed():
    sms_enqueue(phone="13900000000", kind="service", text="请致电13900000000")
    assert SmsOutbox.objects.count() == 1


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown SMS kind"):
        sms_enqueue(phone="13900000000", kind="promotion", text="hi")
    assert not SmsOutbox.objects.exists()
