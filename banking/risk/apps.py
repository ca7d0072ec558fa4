from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    """Risk monitoring (DESIGN.md §3: risk rules live in banking): rules over banking's
    append-only records and the IVR's feed, alerts for the risk officer, queried-account
    statistics. Counts as banking for the import contracts."""

    name = "banking.risk"
    label = "risk"
    verbose_name = _("Risk monitoring")
