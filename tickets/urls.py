from django.urls import path
from django.utils.translation import gettext_lazy as _

from org.roles import Role
from org.views import placeholder

app_name = "tickets"

urlpatterns = [
    path(
        "inbox/",
        placeholder(
            _("Work-order inbox"),
            _(
                "Your unit's complaint work orders, with due times and the reply form, arrive with the "
                "work-order release."
            ),
            Role.UNIT_STAFF,
        ),
        name="inbox",
    ),
    path(
        "",
        placeholder(
            _("Work orders"),
            _(
                "Dispatching complaints to branches and departments and chasing overdue work orders "
                "arrive with the work-order release."
            ),
            Role.ANALYST,
            Role.DIRECTOR,
            Role.TEAM_LEAD,
        ),
        name="list",
    ),
]
