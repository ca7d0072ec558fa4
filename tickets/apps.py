from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        from .sms_texts import register_templates

        register_templates()  # the service SMS work orders send (notifications.texts)
