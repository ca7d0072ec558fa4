"""Schedule adherence in the reports: the agents' published shifts against their state log, per
agent over the report's period (definitions in ``docs/wfm.md``; figures from
``agents.scheduling.selectors``, reports only arranges them)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy, pgettext_lazy

from agents.scheduling.selectors import adherence_period
from org.navigation import display_name

from .exports import COUNT, DURATION, RATE, TEXT, Column, Table


def adherence_table(first: date, last: date, *, agent: str = "", caption: str = "") -> Table:
    rows: list[dict[str, Any]] = adherence_period(first, last)
    if agent:
        rows = [row for row in rows if row["agent"] == agent]
    names = display_names(row["agent"] for row in rows)
    for row in rows:
        row["name"] = names.get(row["agent"], row["agent"])
    scheduled = sum(row["scheduled_s"] for row in rows)
    working = sum(row["working_in_shift_s"] for row in rows)
    around = sum((row["conformance"] or 0) * row["scheduled_s"] for row in rows)
    total = {
        "name": gettext_lazy("Total"),
        "agent": "",
        "shifts": sum(row["shifts"] for row in rows),
        "scheduled_s": scheduled,
        "working_in_shift_s": working,
        "adherence": round(working / scheduled, 4) if scheduled else None,
        "conformance": round(around / scheduled, 4) if scheduled else None,
    }
    columns = [
        Column("name", pgettext_lazy("report", "Agent"), TEXT),
        Column("agent", pgettext_lazy("report", "Username"), TEXT),
        Column("shifts", pgettext_lazy("report", "Shifts"), COUNT),
        Column("scheduled_s", pgettext_lazy("report", "Scheduled"), DURATION),
        Column("working_in_shift_s", pgettext_lazy("report", "Working in shift"), DURATION),
        Column("adherence", pgettext_lazy("report", "Adherence"), RATE),
        Column("conformance", pgettext_lazy("report", "Conformance"), RATE),
    ]
    return Table(
        pgettext_lazy("report", "Schedule adherence"),
        columns,
        rows,
        total if rows else None,
        caption=caption,
        sheet=str(pgettext_lazy("report", "Adherence")),
    )


def display_names(usernames: Any) -> dict[str, str]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(username__in=list(usernames))
    return {user.get_username(): display_name(user) for user in users}
