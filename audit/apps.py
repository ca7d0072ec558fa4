from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from core.api.exceptions import permission_denied

        from .receivers import on_permission_denied

        permission_denied.connect(on_permission_denied, dispatch_uid="audit.permission_denied")
