from django.urls import path
from django.utils.translation import gettext_lazy as _

from org.roles import Role
from org.views import placeholder

app_name = "calls"

urlpatterns = [
    path(
        "wallboard/",
        placeholder(
            _("Wallboard"),
            _("Live queues and agent states arrive with the calls and queues release."),
            Role.TEAM_LEAD,
            Role.DIRECTOR,
        ),
        name="wallboard",
    ),
]
