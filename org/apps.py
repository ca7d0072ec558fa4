from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from . import signals  # noqa: F401  (login/logout audit)
        from .axes_labels import relabel_axes

        relabel_axes()
