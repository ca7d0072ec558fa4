from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        # The rollups follow the calls (calls knows nothing of reports: it sends a signal), and
        # the wallboard's "today" uses the one KPI definition through calls' port.
        from calls import kpi_port
        from calls.signals import calls_changed

        from . import rollups, selectors

        calls_changed.connect(rollups.on_calls_changed, dispatch_uid="reports.on_calls_changed")
        kpi_port.register(kpi_port.Figures(by_queue_and_total=selectors.live_figures_today))
        # Workforce management (agents, below reports) reads the history through its port.
        from agents.scheduling import history_port

        from .wfm_history import SIDE

        history_port.register(SIDE)
