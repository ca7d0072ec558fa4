"""Quality scoring (质检) in the reports: the average QA score of the calls recorded in the
period, per agent and per team (figures from ``agents.quality.selectors.qa_averages``,
docs/quality.md; reports only arranges them).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from agents.quality.selectors import qa_averages

from .exports import COUNT, DECIMAL, TEXT, Column, Table
from .table_common import Filters


def build_quality(filters: Filters) -> list[Table]:
    """Quality scoring (质检): the average score of the calls recorded in the period, per agent and
    per team (``agents.quality.selectors.qa_averages``; a failed fatal item counts as 0)."""
    figures = qa_averages(filters.date_from, filters.date_to, agent=filters.agent)
    scored = [
        Column("evaluations", pgettext_lazy("report", "Calls scored"), COUNT),
        Column("average", pgettext_lazy("report", "Average QA score (%)"), DECIMAL),
        Column("fatal", pgettext_lazy("report", "Fatal items failed"), COUNT),
    ]
    agent_columns = [
        Column("name", pgettext_lazy("report", "Agent"), TEXT),
        Column("agent", pgettext_lazy("report", "Username"), TEXT),
        Column("team", pgettext_lazy("report", "Team"), TEXT),
        *scored,
    ]
    team_columns = [
        Column("team", pgettext_lazy("report", "Team"), TEXT),
        Column("lead", pgettext_lazy("report", "Team lead"), TEXT),
        Column("agents", pgettext_lazy("report", "Agents scored"), COUNT),
        *scored,
    ]
    teams = [{**row, "team": row["team"] or _("No team")} for row in figures["teams"]]
    total = {**figures["total"], "name": _("Total"), "team": _("Total"), "agents": len(figures["agents"])}
    return [
        Table(
            pgettext_lazy("report", "QA scores by agent"),
            agent_columns,
            figures["agents"],
            total,
            caption=filters.caption,
        ),
        Table(pgettext_lazy("report", "QA scores by team"), team_columns, teams, total, caption=filters.caption),
    ]
