"""Cells of the spreadsheets the center writes (openpyxl): text a worksheet cannot hold.

A worksheet is XML: control characters (a vertical tab pasted into a name, a note or a batch
file's reference) cannot be stored, and openpyxl refuses the whole cell — the export would
fail with a 500. They are dropped here, the rest of the text kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def cell_value(value: Any) -> Any:
    """``value`` as a worksheet can hold it (text without the characters XML cannot carry)."""
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def row(cells: Iterable[Any]) -> list[Any]:
    """A row for ``worksheet.append`` with each text cell as ``cell_value`` makes it."""
    return [cell_value(cell) for cell in cells]
