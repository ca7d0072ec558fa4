"""What may be a full card or account number, one rule for every place that must never carry one
(DESIGN.md §4): SMS texts (``notifications.services.sms_enqueue`` and its PostgreSQL twin
``notifications_sms_enqueue``) and ``/api/`` query strings (``banking.middleware``).

A run of 12 or more digits (a mobile number has 11), also written in groups split by single
spaces, hyphens or dashes (``6228 4800 1234 5678 901`` as printed on a card), in any script's
digits. The text is NFKC-folded first, so full-width digits and the ideographic space count as
their ASCII forms. This fails closed: two unrelated short numbers written next to each other with a
single space ("1234 2026-12-01") also count — no notice template writes digits that way.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = " \u2010-\u2015-"  # space, the Unicode hyphens and dashes, the ASCII hyphen (last)
_FULL_NUMBER = re.compile(rf"\d(?:[{_SEPARATORS}]?\d){{11,}}")
# The same rule in PostgreSQL's regular expressions, over ``normalize(text, NFKC)``: digits there
# are ASCII ones (NFKC folds the full-width forms; other scripts' digits are Python's only).
FULL_NUMBER_SQL_PATTERN = f"[0-9]([{_SEPARATORS}]?[0-9]){{11,}}"


def contains_full_number(text: object) -> bool:
    """Whether ``text`` holds something that may be a full card or account number."""
    return _FULL_NUMBER.search(unicodedata.normalize("NFKC", str(text))) is not None
