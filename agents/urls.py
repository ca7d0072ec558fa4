from django.urls import path
from django.utils.translation import gettext_lazy as _

from org.roles import Role
from org.views import placeholder

app_name = "agents"

urlpatterns = [
    path(
        "desktop/",
        placeholder(
            _("Agent desktop"),
            _(
                "Call handling with screen-pop, state bar, wrap-up and callbacks arrives with the "
                "calls and queues release."
            ),
            Role.AGENT,
            Role.TEAM_LEAD,
        ),
        name="desktop",
    ),
]
