"""Masked forms of card, account, ID and phone numbers (DESIGN.md §4).

A card shows its first 6 and last 4 digits, a passbook account its last 4, an ID number its
last 4. Everything a person or a log sees goes through here; only flows that need the whole
number (the ledger itself, a lookup by full number) use it.
"""

from __future__ import annotations

import re

CARD_LENGTHS = range(16, 20)
_LONG_DIGITS = re.compile(r"[0-9]{7,}")


def mask_card(number: str) -> str:
    """``6228480100000001`` → ``622848******0001``. Anything too short to keep 10 digits visible
    safely is masked like an account."""
    number = str(number)
    if len(number) < 14:
        return mask_account(number)
    return f"{number[:6]}******{number[-4:]}"


def mask_account(number: str) -> str:
    """``01010000000001`` → ``****0001``."""
    return f"****{str(number)[-4:]}"


def mask_number(number: str, kind: str) -> str:
    """Mask by account kind: debit cards first 6 + last 4, passbooks last 4. Internal ledger
    accounts (``INT-SUSPENSE``) are not customer data and are shown as they are."""
    if kind == "debit_card":
        return mask_card(number)
    if kind == "internal":
        return str(number)
    return mask_account(number)


def mask_id_number(last_digits: str) -> str:
    """An ID number shown by its last 4 (the rest as 14 asterisks: 18 characters in all)."""
    return f"{'*' * 14}{str(last_digits)[-4:]}"


def mask_mobile(mobile: str) -> str:
    """``13800000001`` → ``138****0001``."""
    mobile = str(mobile)
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else mobile


def mask_query(query: str) -> str:
    """A search term as it may be written to the audit log: every run of 7 or more digits is
    masked (cards first 6 + last 4, mobile numbers 3 + 4, other numbers last 4); ID last 6,
    names and short terms stay as they are."""
    return _LONG_DIGITS.sub(lambda match: _mask_digits(match.group()), str(query).strip())


def _mask_digits(digits: str) -> str:
    if len(digits) == 11 and digits.startswith("1"):
        return mask_mobile(digits)
    if len(digits) in CARD_LENGTHS:
        return mask_card(digits)
    return mask_account(digits)
