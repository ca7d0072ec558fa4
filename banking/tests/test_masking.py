"""Card numbers show the first 6 and last 4, accounts and ID numbers the last 4."""

import pytest

from banking.masking import mask_account, mask_card, mask_id_number, mask_mobile, mask_number, mask_query


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("6228480100000001", "622848******0001"),
        ("622848010000000123", "622848******0123"),
        ("6228480100000000019", "622848******0019"),
    ],
)
def test_card_shows_first_6_and_last_4(number, masked):
    assert mask_card(number) == masked
    assert number[6:-4] not in mask_card(number)


def test_passbook_account_shows_last_4_only():
    assert mask_account("01010000000001") == "****0001"


def test_mask_number_follows_the_account_kind():
    assert mask_number("6228480100000001", "debit_card") == "622848******0001"
    assert mask_number("01010000000001", "savings_passbook") == "****0001"
    assert mask_number("01020000000002", "settlement_passbook") == "****0002"
    assert mask_number("INT-SUSPENSE", "internal") == "INT-SUSPENSE"


def test_id_number_shows_last_4_of_18():
    assert mask_id_number("010011") == "**************0011"
    assert len(mask_id_number("0011")) == 18


def test_mobile_shows_3_and_4():
    assert mask_mobile("13800000001") == "138****0001"


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        ("6228480100000001", "622848******0001"),
        ("01010000000001", "****0001"),
        ("13800000001", "138****0001"),
        ("010011", "010011"),
        ("张伟", "张伟"),
        ("卡号6228480100000001", "卡号622848******0001"),
    ],
)
def test_search_terms_are_masked_before_they_reach_the_audit_log(query, logged):
    assert mask_query(query) == logged
