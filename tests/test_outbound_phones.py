"""Phone numbers of campaign lists: Chinese mobile and fixed-line forms, one normal form each."""

import pytest

from calls.outbound import phones


@pytest.mark.parametrize(
    ("raw", "expected", "kind"),
    [
        ("13812345678", "13812345678", "mobile"),
        ("138 1234 5678", "13812345678", "mobile"),
        ("138-1234-5678", "13812345678", "mobile"),
        ("+86 138 1234 5678", "13812345678", "mobile"),
        ("+8613812345678", "13812345678", "mobile"),
        ("008613812345678", "13812345678", "mobile"),
        ("8613812345678", "13812345678", "mobile"),
        ("１３８１２３４５６７８", "13812345678", "mobile"),  # full-width digits
        ("＋８６ １９９-００００-１１１１", "19900001111", "mobile"),
        ("17012345678", "17012345678", "mobile"),
        ("010-62345678", "01062345678", "fixed"),
        ("(010) 6234 5678", "01062345678", "fixed"),
        ("（０１０）６２３４５６７８", "01062345678", "fixed"),
        ("021-5234567", "0215234567", "fixed"),
        ("0571-87654321", "057187654321", "fixed"),
        ("0931 8765432", "09318765432", "fixed"),
        ("+86 10 6234 5678", "01062345678", "fixed"),
        ("0086-571-87654321", "057187654321", "fixed"),
        (13812345678, "13812345678", "mobile"),  # a spreadsheet's number cell
    ],
)
def test_valid_numbers_are_normalised(raw, expected, kind):
    parsed = phones.parse(raw)
    assert parsed is not None, raw
    assert parsed.number == expected
    assert parsed.kind == kind


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        None,
        "12812345678",  # 12x is not a mobile prefix
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "23812345678",
        "95588",  # a service number
        "010-1234567",  # a subscriber number starting with 1
        "010-02345678",  # … or with 0
        "0571-876543",  # 6 digits
        "0571-876543210",  # 9 digits
        "62345678",  # no area code
        "+1 415 555 0100",
        "138l2345678",  # a letter l
        "138-1234-5678 转 123",
        "١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits are digits to Python, not to us
        True,
        "1" * 60,
    ],
)
def test_invalid_numbers_are_refused(raw):
    assert phones.parse(raw) is None
    assert phones.normalize(raw) is None


def test_display_and_mask():
    assert phones.display("13812345678") == "138 1234 5678"
    assert phones.display("01062345678") == "010-62345678"
    assert phones.display("057187654321") == "0571-87654321"
    assert phones.masked("13812345678") == "138****5678"
