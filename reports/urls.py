from django.urls import path
from django.utils.translation import gettext_lazy as _

from org.roles import Role
from org.views import placeholder

app_name = "reports"

urlpatterns = [
    path(
        "dashboard/",
        placeholder(
            _("Dashboard"),
            _(
                "Service level, abandon rate, handle times and work-order KPIs appear here once calls "
                "and work orders are recorded by the platform."
            ),
            Role.DIRECTOR,
            Role.ANALYST,
        ),
        name="dashboard",
    ),
]
