"""The self-service and callback tables (docs/reports.md "Self-service and callbacks"): callbacks
per agent, verbal loss reports by channel, the IVR's transfers and their refusals by reason —
figures from ``reports.service_figures``. Team leads see the callbacks; the analyst and the
director everything. The monthly report shows the same tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from . import service_figures as sf
from .exports import COUNT, MONEY, RATE, TEXT, Column, Table
from .table_common import ANALYSTS, Filters


def _callback_columns() -> list[Column]:
    return [
        Column("name", pgettext_lazy("report", "Agent"), TEXT),
        Column("agent", pgettext_lazy("report", "Username"), TEXT),
        Column("created", pgettext_lazy("report", "Callbacks"), COUNT),
        Column("reached", gettext_lazy("Reached"), COUNT),
        Column("not_reached", gettext_lazy("Not reached"), COUNT),
        Column("cancelled", gettext_lazy("Cancelled"), COUNT),
        Column("open", pgettext_lazy("callbacks", "Still open"), COUNT),
        Column("attempts", pgettext_lazy("callbacks", "Calls made"), COUNT),
        Column("reach_rate", pgettext_lazy("callbacks", "Reach rate"), RATE),
    ]


def _callback_table(figures: Mapping[str, Any], caption: str) -> Table:
    rows = []
    for row in figures["by_agent"]:
        rows.append(
            {
                **row,
                "name": row["name"] or pgettext_lazy("callbacks", "Not assigned (the queue's)"),
                "created": row["open"] + row["reached"] + row["not_reached"] + row["cancelled"],
            }
        )
    total = {**figures, "name": _("Total"), "agent": ""}
    return Table(pgettext_lazy("report", "Callbacks per agent"), _callback_columns(), rows, total, caption=caption)


def _loss_report_table(figures: Mapping[str, Any], caption: str) -> Table:
    columns = [
        Column("label", pgettext_lazy("report", "Channel"), TEXT),
        Column("reported", pgettext_lazy("loss reports", "Reported"), COUNT),
        Column("in_force", pgettext_lazy("loss reports", "Still in force"), COUNT),
        Column("cancelled", gettext_lazy("Cancelled"), COUNT),
        Column("expired", gettext_lazy("Expired"), COUNT),
        Column("formalized", gettext_lazy("Formalized"), COUNT),
    ]
    total = {**figures, "label": _("Total")}
    return Table(pgettext_lazy("report", "Verbal loss reports"), columns, figures["by_channel"], total, caption=caption)


def _ivr_transfer_table(figures: Mapping[str, Any], caption: str) -> Table:
    columns = [
        Column("attempts", pgettext_lazy("ivr transfers", "Transfers asked for"), COUNT),
        Column("executed", pgettext_lazy("ivr transfers", "Executed"), COUNT),
        Column("amount_fen", pgettext_lazy("ivr transfers", "Amount executed (yuan)"), MONEY),
        Column("refused", pgettext_lazy("ivr transfers", "Refused"), COUNT),
        Column("refusal_rate", pgettext_lazy("ivr transfers", "Refusal rate"), RATE),
        Column("refused_calls", pgettext_lazy("ivr transfers", "Calls with a refusal"), COUNT),
    ]
    return Table(pgettext_lazy("report", "Transfers in the IVR"), columns, [figures], caption=caption)


def _refusal_table(figures: Mapping[str, Any], caption: str) -> Table:
    columns = [
        Column("label", gettext_lazy("Reason"), TEXT),
        Column("code", gettext_lazy("Code"), TEXT),
        Column("refused", pgettext_lazy("ivr transfers", "Refused"), COUNT),
        Column("share", pgettext_lazy("ivr transfers", "Share of refusals"), RATE),
    ]
    refused = figures["refused"]
    total = {"label": _("Total"), "code": "", "refused": refused, "share": 1.0 if refused else None}
    return Table(
        pgettext_lazy("report", "IVR transfers refused by reason"),
        columns,
        figures["by_reason"],
        total,
        caption=caption,
    )


def build_service(filters: Filters) -> list[Table]:
    """Callbacks per agent (everyone who sees the page); verbal loss reports, the IVR's transfers
    and their refusals by reason (the analyst and the director)."""
    if filters.role not in ANALYSTS:
        return [_callback_table(sf.callback_figures(filters.date_from, filters.date_to), filters.caption)]
    figures = sf.service_figures(filters.date_from, filters.date_to)
    caption = filters.caption
    return [
        _callback_table(figures["callbacks"], caption),
        _loss_report_table(figures["loss_reports"], caption),
        _ivr_transfer_table(figures["ivr_transfers"], caption),
        _refusal_table(figures["ivr_transfers"], caption),
    ]
