"""Roles of the center's staff (DESIGN.md §2) and what each may see."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DIRECTOR = "director", _("Director")
    MAINTAINER = "maintainer", _("System maintainer")
    ANALYST = "analyst", _("Analyst")
    TEAM_LEAD = "team_lead", _("Team lead")
    AGENT = "agent", _("Seat agent")
    UNIT_STAFF = "unit_staff", _("Branch / department staff")
    RISK_OFFICER = "risk_officer", _("Risk officer")
    SWITCH = "switch", _("Telephone switch (service account)")


# Center staff see every unit's data; unit staff only their own; the switch no unit data at all.
CENTER_ROLES = frozenset({Role.DIRECTOR, Role.MAINTAINER, Role.ANALYST, Role.TEAM_LEAD, Role.AGENT, Role.RISK_OFFICER})
SUPERVISOR_ROLES = frozenset({Role.DIRECTOR, Role.TEAM_LEAD})
