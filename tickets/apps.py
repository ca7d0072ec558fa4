from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        from . import sms_texts, staff_sms

        sms_texts.register_templates()  # the service SMS work orders send (notifications.texts)
        staff_sms.register_templates()  # their reminders and escalations to staff
