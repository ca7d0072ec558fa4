"""Amount parsing: yuan strings in, integer fen out; anything doubtful refused with a code."""

import re
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from banking.errors import InvalidAmount
from banking.money import MAX_AMOUNT_FEN, fen_to_yuan, format_yuan, group_yuan, parse_amount

VALID = re.compile(r"[0-9]{1,11}(\.[0-9]{1,2})?")


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("100", 10000),
        ("100.5", 10050),
        ("100.50", 10050),
        ("0.01", 1),
        ("0100", 10000),
        ("99999999999.99", MAX_AMOUNT_FEN),
    ],
)
def test_valid_amounts_become_fen(text, fen):
    assert parse_amount(text) == fen


def test_decimal_is_taken_by_value_and_int_as_whole_yuan():
    assert parse_amount(Decimal("12.34")) == 1234
    assert parse_amount(Decimal("12.340")) == 1234
    assert parse_amount(7) == 700


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "0.00",
        "-1",
        "-0.01",
        "1e20",
        "1E2",
        "0.001",
        "1.234",
        "１００",  # full-width digits
        "١٠٠",  # Arabic-Indic digits: \d would accept them
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        " 1",
        "1 ",
        "1 000",
        "+1",
        "",
        "1.",
        ".5",
        "1,000",
        "1..2",
        "0x10",
        "100000000000",  # 12 integer digits: absurdly large
        "¥100",
    ],
)
def test_doubtful_strings_are_refused_with_invalid_amount(value):
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(value)
    assert caught.value.code == "invalid_amount" and caught.value.status == 400


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        100.0,
        True,
        None,
        0,
        -3,
        10**11,
        Decimal("0"),
        Decimal("-1"),
        Decimal("0.001"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("1e20"),
        ["1"],
        b"100",
    ],
)
def test_non_strings_other_than_positive_decimals_and_ints_are_refused(value):
    with pytest.raises(InvalidAmount):
        parse_amount(value)


@given(st.text(max_size=20))
@example("1e20")
@example("１００")
@example("0.001")
@example("NaN")
def test_any_string_outside_the_grammar_or_not_positive_is_refused(text):
    if VALID.fullmatch(text) and int(text.replace(".", "").ljust(1, "0")) > 0:
        assert parse_amount(text) > 0
        return
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text)
    assert caught.value.code == "invalid_amount"


@given(st.from_regex(VALID, fullmatch=True))
def test_every_string_of_the_grammar_parses_unless_zero(text):
    whole, _, cents = text.partition(".")
    expected = int(whole) * 100 + int(cents.ljust(2, "0") or "0")
    if expected == 0:
        with pytest.raises(InvalidAmount):
            parse_amount(text)
    else:
        assert parse_amount(text) == expected


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
def test_fen_to_yuan_round_trips_through_parse_amount(fen):
    assert parse_amount(fen_to_yuan(fen)) == fen
    assert parse_amount(Decimal(fen_to_yuan(fen))) == fen


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_formatting_never_loses_a_fen(fen):
    assert Decimal(fen_to_yuan(fen)) * 100 == fen
    assert Decimal(group_yuan(fen).replace(",", "")) * 100 == fen


@pytest.mark.parametrize(
    ("fen", "yuan", "shown"),
    [
        (123456, "1234.56", "¥1,234.56"),
        (-500, "-5.00", "-¥5.00"),
        (0, "0.00", "¥0.00"),
        (5, "0.05", "¥0.05"),
        (123456789012, "1234567890.12", "¥1,234,567,890.12"),
    ],
)
def test_fen_are_shown_as_yuan(fen, yuan, shown):
    assert fen_to_yuan(fen) == yuan
    assert format_yuan(fen) == shown
