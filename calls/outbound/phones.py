"""Chinese phone numbers as a campaign list has them (issue 19): one normal form per number.

``normalize(text)`` → the number's digits, or ``None`` when it is neither

* a **mobile** number ``1[3-9]`` + 9 digits, with an optional country prefix ``+86`` / ``0086`` /
  ``86`` → 11 digits (``13812345678``); nor
* a **fixed line** ``0`` + area code + a 7–8 digit subscriber number not starting with 0 or 1:
  area ``10`` and ``2X`` (Beijing, Shanghai, Guangzhou, …; 3 characters with the 0) or
  ``[3-9]XX`` (4 characters) → ``01012345678``, ``057187654321``. After ``+86`` / ``0086`` the
  area code's 0 is dropped (``+86 10 1234 5678``).

Separators (spaces, ``-``, ``.``, ``/``, brackets) are ignored; full-width digits and signs (``１３８``,
``＋８６``, ``（０１０）``) are read as ASCII (NFKC). Anything else — too short, an extension, letters,
a service number like 95588 — is invalid. ``display`` writes the normal form for people
(``138 1234 5678``, ``010-12345678``).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal, NamedTuple

SEPARATORS = re.compile(r"[\s\-./()\[\]\u00a0\u3000\u2010-\u2015\u2212]+")
MOBILE = re.compile(r"1[3-9]\d{9}")
FIXED = re.compile(r"0(?:10|2\d|[3-9]\d{2})[2-9]\d{6,7}")
_AREA3 = re.compile(r"0(?:10|2\d)")
COUNTRY_PREFIXES = ("+86", "0086", "86")
MAX_INPUT = 40


class Phone(NamedTuple):
    number: str  # digits only
    kind: Literal["mobile", "fixed"]


def parse(text: object) -> Phone | None:
    """``text`` (a str, or an int from a spreadsheet cell) → ``Phone``, or None when invalid."""
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int):
        text = str(text)
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return None
    compact = SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    if not compact:
        return None
    candidates = [compact]
    for prefix in COUNTRY_PREFIXES:
        if compact.startswith(prefix):
            rest = compact[len(prefix) :]
            candidates.append(rest)
            if not rest.startswith("0"):
                candidates.append("0" + rest)  # +86 10 12345678: the area code without its 0
            break
    for candidate in candidates:
        if not candidate.isascii() or not candidate.isdigit():
            continue
        if MOBILE.fullmatch(candidate):
            return Phone(candidate, "mobile")
        if FIXED.fullmatch(candidate):
            return Phone(candidate, "fixed")
    return None


def normalize(text: object) -> str | None:
    """The digits of a valid number, else None."""
    phone = parse(text)
    return phone.number if phone is not None else None


def is_valid(text: object) -> bool:
    return parse(text) is not None


def display(number: str) -> str:
    """The normal form for people: ``138 1234 5678``, ``010-12345678``, ``0571-87654321``."""
    if MOBILE.fullmatch(number):
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if FIXED.fullmatch(number):
        split = 3 if _AREA3.match(number) else 4
        return f"{number[:split]}-{number[split:]}"
    return number


def masked(number: str) -> str:
    """For lists shown to people who need not see the number whole: ``138****5678``."""
    if len(number) < 7:
        return number
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
