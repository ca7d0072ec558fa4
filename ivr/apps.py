from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IvrConfig(AppConfig):
    name = "ivr"
    verbose_name = _("IVR")

    def ready(self) -> None:
        # Risk monitoring (banking, below the IVR) reads what callers did through its port.
        from .risk_feed import register

        register()
