"""An agent's own figures for today (issue 14 point 6), as an HTML fragment the agent desktop
loads with htmx (``/reports/me/today/``: on load, after each wrap-up and every 60 s). The agents
app sits below reports and never imports it: the desktop only knows the URL.

Who: an agent, or a team lead at their own desk — always the figures of the signed-in user,
never anyone else's; other roles 403, anonymous to the login page."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from agents.quality.selectors import agent_qa_summary
from org.permissions import role_required
from org.roles import Role

from ..agent_figures import agent_today
from ..exports import COUNT, DURATION, RATE, display


def _now():
    return timezone.now()


@require_GET
@never_cache
@role_required(Role.AGENT, Role.TEAM_LEAD)
def me_today(request: HttpRequest) -> HttpResponse:
    now = _now()
    figures = agent_today(request.user, now=now)
    shown = {
        "answered": display(COUNT, figures["answered"]),
        "aht": display(DURATION, figures["aht_s"]),
        "handle": display(DURATION, figures["handle_s"]),
        "occupancy": display(RATE, figures["occupancy"]),
        "not_ready": display(DURATION, figures["not_ready_s"]),
    }
    today = timezone.localdate(now)
    qa = agent_qa_summary(request.user, today - timedelta(days=29), today)  # quality scores, last 30 days
    return render(
        request,
        "reports/me_today.html",
        {"figures": figures, "shown": shown, "as_of": timezone.localtime(now), "qa": qa},
    )


urlpatterns = [path("me/today/", me_today, name="me-today")]
