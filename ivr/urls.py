from django.urls import path
from django.utils.translation import gettext_lazy as _

from org.roles import Role
from org.views import placeholder

app_name = "ivr"

urlpatterns = [
    path(
        "simulator/",
        placeholder(
            _("IVR simulator"),
            _("A phone keypad to place test calls through the IVR arrives with the IVR release."),
            Role.MAINTAINER,
            Role.TEAM_LEAD,
            Role.AGENT,
        ),
        name="simulator",
    ),
]
