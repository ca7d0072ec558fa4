"""What every report table is built from: the roles that see the tables (``TEAM``, ``ANALYSTS``),
the filters a table is built for (``Filters``, parsed from the page's ``ReportFilterForm`` by
``views/tables.py``) and the links of its figures: a count of calls links to the call search
(``_link_calls`` notes a row's parameters, ``_call_links`` makes each column's URL with its
``Column.drill``), other figures to their own lists (``_url``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

from org.roles import Role

from .exports import Column

TEAM = (Role.TEAM_LEAD, Role.ANALYST, Role.DIRECTOR)
ANALYSTS = (Role.ANALYST, Role.DIRECTOR)


@dataclass
class Filters:
    date_from: date
    date_to: date
    period: str = ""
    queue: str = ""
    agent: str = ""
    unit: str = ""
    by: str = "interval"
    caption: str = ""
    query: dict[str, str] = field(default_factory=dict)  # the filters as query parameters
    role: str = ""  # the viewer's role (a report may show a team lead less)

    def query_dates(self) -> tuple[str, str]:
        return self.date_from.isoformat(), self.date_to.isoformat()


# --- links ----------------------------------------------------------------------------------


def _base(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def _url(base: str, params: Mapping[str, Any]) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{base}?{query}" if query else base


def _link_calls(rows: Sequence[dict[str, Any]], columns: Sequence[Column], params_of: Callable[[dict], dict | None]):
    """Notes on each row the call search's parameters of its calls (``_drill``); the page links
    each count column to them with the column's ``outcome`` (``Column.drill``)."""
    for row in rows:
        row["_drill"] = params_of(row)


def _call_links(row: Mapping[str, Any], columns: Sequence[Column], base: str) -> dict[str, str]:
    params = row.get("_drill")
    if params is None:
        return {}
    prefix = _url(base, params)
    joint = "&" if "?" in prefix else "?"
    return {
        column.key: f"{prefix}{joint}outcome={column.drill}" if column.drill else prefix
        for column in columns
        if column.drill is not None
    }
