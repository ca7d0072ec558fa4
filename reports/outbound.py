"""The outbound report table (issue 19): per campaign, the KPIs of its dials in the period —
attempts per contact, contact and right-party contact rates, conversion, abandoned, average
handle time, do-not-call requests — from ``calls.outbound.selectors.outbound_figures`` (one
definition of each figure, shared with the campaign page).

Wiring (``reports/views/tables.py``, by the lead): add to the report list

    Report("outbound", pgettext_lazy("report", "Outbound campaigns"),
           gettext_lazy("Dials, contact rate, conversion and handle time per campaign."),
           TEAM, (), "last_30_days", build_outbound)

with ``from ..outbound import build_outbound``. ``build_outbound`` takes anything with
``date_from``, ``date_to`` and ``caption`` (the tables' ``Filters``, ``reports.table_common``).
"""

from __future__ import annotations

from typing import Any, Protocol

from django.utils.translation import pgettext_lazy

from calls.outbound.selectors import outbound_figures

from .exports import COUNT, DECIMAL, DURATION, RATE, TEXT, Column, Table


class PeriodFilters(Protocol):
    date_from: Any
    date_to: Any
    caption: str


COLUMNS = [
    Column("code", pgettext_lazy("report", "Campaign"), TEXT),
    Column("name", pgettext_lazy("report", "Name"), TEXT),
    Column("attempts", pgettext_lazy("report", "Dials"), COUNT),
    Column("contacts_attempted", pgettext_lazy("report", "Contacts dialled"), COUNT),
    Column("attempts_per_contact", pgettext_lazy("report", "Dials per contact"), DECIMAL),
    Column("contacts_reached", pgettext_lazy("report", "Contacts reached"), COUNT),
    Column("contact_rate", pgettext_lazy("report", "Contact rate"), RATE),
    Column("right_party_rate", pgettext_lazy("report", "Right-party contact rate"), RATE),
    Column("conversions", pgettext_lazy("report", "Sales or interested"), COUNT),
    Column("conversion", pgettext_lazy("report", "Conversion"), RATE),
    Column("abandoned", pgettext_lazy("report", "Abandoned"), COUNT),
    Column("aht_s", pgettext_lazy("report", "AHT"), DURATION),
    Column("dnc_requests", pgettext_lazy("report", "Do-not-call requests"), COUNT),
]


def build_outbound(filters: PeriodFilters) -> list[Table]:
    rows = []
    for figures in outbound_figures(filters.date_from, filters.date_to):
        campaign = figures.pop("campaign")
        rows.append({**figures, "code": campaign.code, "name": campaign.name})
    return [Table(pgettext_lazy("report", "Outbound campaigns"), COLUMNS, rows, caption=filters.caption)]
