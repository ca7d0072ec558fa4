from django.urls import path
from django.utils.translation import gettext_lazy as _

from org.roles import Role
from org.views import placeholder

app_name = "banking"

urlpatterns = [
    path(
        "alerts/",
        placeholder(
            _("Risk alerts"),
            _(
                "Suspicious-activity alerts and statistics of queried accounts arrive with the core "
                "banking and risk release."
            ),
            Role.RISK_OFFICER,
            Role.DIRECTOR,
        ),
        name="risk-alerts",
    ),
]
