"""What the tickets app needs from the call side, plugged in by calls (``calls/apps.py``).

A contact keeps the caller's number (ANI) of the call it came in on. Calls sit above tickets
(a wrap-up records its contact through ``tickets.services.contacts``), so tickets asks through
this port instead of importing calls. ``register`` is called once at start-up.
"""

from __future__ import annotations

from collections.abc import Callable

_caller_number: list[Callable[[str], str]] = []


def register(*, caller_number: Callable[[str], str]) -> None:
    """``caller_number(call_id)`` → the call's ANI as the switch gave it, "" for an unknown call."""
    _caller_number[:] = [caller_number]


def caller_number_of(call_id: str) -> str:
    """The caller's number of call ``call_id``; "" for no call, an unknown one, or no call side."""
    if not call_id or not _caller_number:
        return ""
    return _caller_number[0](call_id)
