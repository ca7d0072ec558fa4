"""Money at the edges: yuan strings / ``Decimal`` in, integer fen inside, never float.

``parse_amount`` is the one parser of amounts typed by callers, agents and batch files. It is
deliberately strict: ASCII digits with at most one decimal point and at most 2 decimals
(``"100"``, ``"100.5"``, ``"100.50"``). Refused with ``invalid_amount``: empty strings, zero,
negatives, a leading ``+``, exponents (``"1e20"``), ``NaN``/``Infinity``, full-width digits
(``"１００"``), whitespace anywhere, more than 2 decimals, and a bare point on either side
(``"1."`` and ``".5"``: a keypad or a CSV that produces them is more likely wrong than meant).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import InvalidAmount

FEN_PER_YUAN = 100
# 11 integer digits of yuan: anything at or above 10^13 fen is a typo or an attack, not a transfer.
MAX_AMOUNT_FEN = 10**13 - 1
# ASCII only: ``\d`` would also accept full-width and other Unicode digits.
AMOUNT_PATTERN = re.compile(r"(?P<yuan>[0-9]{1,11})(?:\.(?P<fen>[0-9]{1,2}))?")


def parse_amount(value: str | Decimal | int) -> int:
    """A positive amount in yuan → fen. Raises ``InvalidAmount`` for anything else.

    Strings follow the strict grammar above. A ``Decimal`` is taken by value (it is already a
    number: ``Decimal("12.340")`` is 1234 fen) but must be finite and a whole number of fen.
    An ``int`` is whole yuan. Floats and booleans are refused: a float has already lost the fen.
    """
    if isinstance(value, bool):
        raise InvalidAmount()
    if isinstance(value, str):
        match = AMOUNT_PATTERN.fullmatch(value)
        if match is None:
            raise InvalidAmount()
        fen = int(match["yuan"]) * FEN_PER_YUAN + int((match["fen"] or "0").ljust(2, "0"))
    elif isinstance(value, Decimal):
        try:
            if not value.is_finite():
                raise InvalidAmount()
            scaled = value * FEN_PER_YUAN
            if scaled != scaled.to_integral_value():
                raise InvalidAmount()
            fen = int(scaled)
        except InvalidOperation:
            raise InvalidAmount() from None
    elif isinstance(value, int):
        fen = value * FEN_PER_YUAN
    else:
        raise InvalidAmount()
    if fen <= 0 or fen > MAX_AMOUNT_FEN:
        raise InvalidAmount()
    return fen


def fen_to_yuan(fen: int) -> str:
    """``123456`` → ``"1234.56"``; ``-500`` → ``"-5.00"`` (the JSON form of money)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def group_yuan(fen: int) -> str:
    """``4990000`` → ``"49,900.00"`` (SMS texts and statements)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"


def format_yuan(fen: int) -> str:
    """``123456`` → ``"¥1,234.56"``; ``-500`` → ``"-¥5.00"`` (how the UI shows money)."""
    grouped = group_yuan(fen)
    return f"-¥{grouped[1:]}" if grouped.startswith("-") else f"¥{grouped}"
