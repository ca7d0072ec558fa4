from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BankingConfig(AppConfig):
    name = "banking"
    verbose_name = _("Core banking")

    def ready(self) -> None:
        from .sms_texts import register_templates

        register_templates()  # the SMS texts banking sends (notifications.texts)
