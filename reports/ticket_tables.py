"""The work-order tables: per unit and per category, the work orders dispatched and closed, on
time, satisfaction and overdue now (``reports.selectors.ticket_figures``); every figure links to
the work-order list with the filters that list exactly the work orders it counts.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from tickets.models import Category

from . import selectors as rs
from .exports import COUNT, DECIMAL, RATE, TEXT, Column, Table
from .table_common import Filters, _base, _url


def _ticket_columns(first: Column, *, overdue: bool) -> list[Column]:
    columns = [
        first,
        Column("dispatched", pgettext_lazy("report", "Dispatched"), COUNT),
        Column("closed", pgettext_lazy("work orders", "Closed"), COUNT),
        Column("on_time_rate", pgettext_lazy("report", "On-time rate"), RATE),
        Column("median_resolution_hours", pgettext_lazy("report", "Median time to resolve (h)"), DECIMAL),
        Column("satisfaction_rate", pgettext_lazy("report", "Satisfaction rate"), RATE),
    ]
    if overdue:
        columns.append(Column("overdue_now", pgettext_lazy("report", "Overdue now"), COUNT))
    return columns


def build_tickets(filters: Filters) -> list[Table]:
    figures = rs.ticket_figures(filters.date_from, filters.date_to)
    base = _base("tickets:list", "/tickets/")
    # "Dispatched" and "closed" count by the day of first dispatch and of closure
    # (``ticket_statistics``); the list's filters of those days list exactly the rows counted, and
    # the rates (of the work orders closed) link to the closed ones.
    dispatched_in = {"dispatched_from": filters.date_from.isoformat(), "dispatched_to": filters.date_to.isoformat()}
    closed_in = {"closed_from": filters.date_from.isoformat(), "closed_to": filters.date_to.isoformat()}

    def figure_links(**params: str) -> dict[str, str]:
        closed = _url(base, {**params, **closed_in})
        return {
            "dispatched": _url(base, {**params, **dispatched_in}),
            "closed": closed,
            "on_time_rate": closed,
            "median_resolution_hours": closed,
            "satisfaction_rate": closed,
        }

    by_unit = [row for row in figures["by_unit"] if not filters.unit or row["unit"] == filters.unit]
    for row in by_unit:
        row["label"] = f"{row['unit']} {row['name']}"
        row["_links"] = {
            "label": _url(base, {"unit": row["unit"]}),
            **figure_links(unit=row["unit"]),
            "overdue_now": _url(base, {"unit": row["unit"], "overdue": "on", "order": "due"}),
        }
    if filters.unit:
        total = by_unit[0] if by_unit else None
        total = {**total, "label": _("Total")} if total else None
        by_category = [row for row in figures["by_unit_category"] if row["unit"] == filters.unit]
    else:
        total = {**figures["total"], "label": _("Total")}
        by_category = figures["by_category"]
    categories = dict(Category.choices)
    for row in by_category:
        row["label"] = str(categories.get(row["category"], row["category"]))
        row["_links"] = {
            "label": _url(base, {"unit": filters.unit, "category": row["category"]}),
            **figure_links(unit=filters.unit, category=row["category"]),
        }
    if total:
        total["_links"] = {
            **figure_links(unit=filters.unit),
            "overdue_now": _url(base, {"unit": filters.unit, "overdue": "on", "order": "due"}),
        }
    return [
        Table(
            pgettext_lazy("report", "Work orders by unit"),
            _ticket_columns(Column("label", pgettext_lazy("report", "Unit"), TEXT), overdue=True),
            by_unit,
            total,
            caption=filters.caption,
        ),
        Table(
            pgettext_lazy("report", "Work orders by category"),
            _ticket_columns(Column("label", pgettext_lazy("report", "Category"), TEXT), overdue=False),
            sorted(by_category, key=lambda row: row["label"]) if filters.unit else by_category,
            caption=filters.caption,
        ),
    ]
