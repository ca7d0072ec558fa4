"""The wallboard: queues and every agent's state, live over ``/ws/wallboard/`` (team leads and
the director); team leads change an agent's state or skills from it (audited by the API)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from agents.models import AgentState, Reason
from org.permissions import role_required
from org.roles import Role
from org.scoping import user_role

from .selectors import queue_list, wallboard_snapshot


def wallboard_texts() -> dict[str, str]:
    return {
        "connected": _("Live"),
        "reconnecting": _("Reconnecting…"),
        "waiting": _("Waiting"),
        "longest_wait": _("Longest wait"),
        "service_level": _("Service level today"),
        "answered": _("Answered"),
        "offered": _("Offered"),
        "abandoned": _("Abandoned"),
        "asa": _("ASA"),
        "alert_waiting": _("%(queue)s: %(n)s calls waiting"),
        "alert_longest_wait": _("%(queue)s: a caller has waited %(t)s"),
        "alert_service_level": _("%(queue)s: service level %(sl)s below target"),
        "alert_acw": _("%(agent)s: after-call work for %(t)s"),
        "alert_not_ready": _("%(agent)s: not ready for %(t)s"),
        "no_alerts": _("No alerts."),
        "no_desktop": _("no desktop open"),
        "set_state": _("Set"),
        "skills": _("Skills"),
        "save": _("Save"),
        "saved": _("Saved."),
        "level": _("Level"),
        "none": _("—"),
        "updated": _("Updated %(time)s"),
        "error": _("Something went wrong"),
    }


@role_required(Role.TEAM_LEAD, Role.DIRECTOR)
def wallboard(request):
    snapshot = wallboard_snapshot()
    config = {
        "ws": "/ws/wallboard/",
        "can_edit": user_role(request.user) == Role.TEAM_LEAD,
        "urls": {
            "state": reverse("agents-api:state", kwargs={"username": "USERNAME"}),
            "skills": reverse("agents-api:skills", kwargs={"username": "USERNAME"}),
            "snapshot": reverse("calls-api:wallboard"),
            "login": reverse("org:login"),
        },
        "queues": [{"value": q.code, "label": q.display_name} for q in queue_list()],
        "state_labels": {value: str(label) for value, label in AgentState.choices},
        "reason_labels": {value: str(label) for value, label in Reason.choices},
        "service_level_target": settings.CALLS_SERVICE_LEVEL_TARGET,
        "alert_acw_s": settings.AGENTS_ALERT_ACW_S,
        "alert_not_ready_s": settings.AGENTS_ALERT_NOT_READY_S,
        "texts": wallboard_texts(),
    }
    return render(request, "calls/wallboard.html", {"config": config, "snapshot": snapshot})
