"""The wallboard: queues and every agent's state, live over ``/ws/wallboard/`` (team leads and
the director); team leads change an agent's state or skills from it (audited by the API).

The call search (``/calls/``, the drill-down of every call KPI: its query parameters are a
contract, see ``calls.search``) and a call's page (``/calls/<pk>/``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agents.models import AgentState, Reason
from core.api.validation import validate_in_range
from org.navigation import display_name
from org.permissions import role_required
from org.roles import Role
from org.scoping import user_role

from . import errors, search
from .models import Disposition
from .selectors import queue_list, queue_names, wallboard_snapshot


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


# --- the call search and a call's page ----------------------------------------------------------

PAGE_SIZE = 50
MAX_DAYS = 367


def _outcome_choices() -> list[tuple[str, Any]]:
    return [("", _("All outcomes")), *search.outcome_choices()]


class CallSearchForm(forms.Form):
    """The search's query parameters (a contract: the dashboard and the reports link with them)."""

    date_from = forms.DateField(label=gettext_lazy("Queued from"), required=False, validators=[validate_in_range])
    date_to = forms.DateField(label=gettext_lazy("to"), required=False, validators=[validate_in_range])
    queue = forms.SlugField(label=gettext_lazy("Queue"), required=False, max_length=40)
    agent = forms.CharField(label=gettext_lazy("Agent"), required=False, max_length=150)
    caller = forms.CharField(label=gettext_lazy("Caller number"), required=False, max_length=64)
    customer = forms.IntegerField(label=gettext_lazy("Customer number"), required=False, min_value=1, max_value=2**62)
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), required=False, choices=_outcome_choices)
    wait_over = forms.IntegerField(label=gettext_lazy("Waited over (s)"), required=False, min_value=0, max_value=86_400)
    weekday = forms.IntegerField(label=gettext_lazy("Weekday"), required=False, min_value=1, max_value=7)
    hour = forms.IntegerField(label=gettext_lazy("Hour"), required=False, min_value=0, max_value=23)
    interval = forms.DateTimeField(
        label=gettext_lazy("Half hour from"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M"],
        validators=[validate_in_range],
    )
    include_test = forms.BooleanField(label=gettext_lazy("Include test calls"), required=False)

    def clean_caller(self) -> str:
        raw = self.cleaned_data.get("caller") or ""
        digits = "".join(char for char in raw if char.isascii() and char.isdigit())
        if raw.strip() and not digits:
            raise forms.ValidationError(_("Enter digits of the caller's number."), code="invalid")
        return digits

    def clean_interval(self) -> datetime | None:
        start = self.cleaned_data.get("interval")
        if start is not None and (start.minute % search.INTERVAL_MINUTES or start.second):
            raise forms.ValidationError(_("An interval starts on the hour or the half hour."), code="invalid")
        return start

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        today = timezone.localdate()
        interval = cleaned.get("interval")
        # An interval alone names its day.
        default_day = timezone.localtime(interval).date() if interval else today
        # One date alone is that day; none is today (or the interval's day).
        start = cleaned.get("date_from") or cleaned.get("date_to") or default_day
        end = cleaned.get("date_to") or cleaned.get("date_from") or default_day
        if start > end:
            self.add_error("date_to", _("date_to is before date_from."))
        elif (end - start).days >= MAX_DAYS:
            self.add_error("date_to", _("At most 367 days at a time."))
        cleaned["date_from"], cleaned["date_to"] = start, end
        return cleaned

    def call_filter(self) -> search.CallFilter:
        data = self.cleaned_data
        return search.CallFilter(
            date_from=data["date_from"],
            date_to=data["date_to"],
            queue=data.get("queue") or "",
            agent=(data.get("agent") or "").strip(),
            caller=data.get("caller") or "",
            customer=data.get("customer"),
            outcome=data.get("outcome") or "",
            wait_over_s=data.get("wait_over"),
            weekday=data.get("weekday"),
            hour=data.get("hour"),
            interval=data.get("interval"),
            include_test=bool(data.get("include_test")),
        )


def _agent_choices() -> list[tuple[str, str]]:
    users = (
        get_user_model()
        .objects.filter(profile__role__in=[Role.AGENT, Role.TEAM_LEAD])
        .order_by("username")
        .only("username", "first_name", "last_name")
    )
    return [(user.username, f"{display_name(user)} ({user.username})") for user in users]


@role_required(*search.CALL_READERS)
def call_search(request):
    sees_all = user_role(request.user) in search.SEE_ALL
    form = CallSearchForm(request.GET)
    page = None
    rows: list[dict[str, Any]] = []
    if form.is_valid():
        calls = search.call_search(user=request.user, filters=form.call_filter())
        page = Paginator(calls, PAGE_SIZE).get_page(request.GET.get("page"))
        rows = search.call_rows(list(page.object_list), user=request.user)
    today = _iso(timezone.localdate())
    if form.is_valid():
        dates = {"date_from": _iso(form.cleaned_data["date_from"]), "date_to": _iso(form.cleaned_data["date_to"])}
    else:
        dates = {name: request.GET.get(name) or today for name in ("date_from", "date_to")}
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": params.urlencode(),
        "values": {name: request.GET.get(name, "") for name in form.fields},
        "dates": dates,
        "queues": [(queue.code, queue.display_name) for queue in queue_list(active_only=False)],
        "agents": _agent_choices() if sees_all else [],
        "outcomes": search.outcome_choices(),
        "weekdays": _weekday_choices(),
        "hours": list(range(24)),
        "sees_all": sees_all,
        "can_open_tickets": user_role(request.user) in TICKET_READERS,
        "thresholds": {"t": settings.CALLS_SERVICE_LEVEL_T_S, "s": settings.CALLS_SHORT_ABANDON_S},
    }
    return render(request, "calls/search.html", context)


def _iso(day: date) -> str:
    return day.isoformat()


def _weekday_choices() -> list[tuple[int, str]]:
    """ISO weekdays (Monday 1) named by Django's own catalogue."""
    return [(number + 1, str(name)) for number, name in WEEKDAYS.items()]


@role_required(*search.CALL_READERS)
def call_detail(request, pk: int):
    try:
        call = search.call_get_visible(user=request.user, pk=pk)
    except errors.CallNotFound:
        raise Http404(_("No such call.")) from None
    from ivr.selectors import ivr_call_trail

    from .recordings.selectors import recordings_of_call

    names = queue_names()
    ivr = ivr_call_trail(call.call_id)
    legs, holds = search.call_legs(call)
    queue = call.service_queue or call.home_queue or call.queue
    outcome = search.call_outcome(call)
    outcome_label = search.outcome_labels()[outcome]
    if outcome == "ivr_only" and call.ended_at is None:
        outcome_label = _("In the IVR")
    day = timezone.localtime(call.queued_at or call.started_at or timezone.now()).date()
    context = {
        "call": call,
        "queue": queue.display_name if queue else "",
        "entry_queue": call.entry_queue.display_name if call.entry_queue_id else "",  # type: ignore[union-attr]
        "agent": display_name(call.agent) if call.agent_id else "",  # type: ignore[arg-type]
        "outcome": outcome,
        "outcome_label": outcome_label,
        "times": {
            "started": search.local_time(call.started_at),
            "queued": search.local_time(call.queued_at),
            "answered": search.local_time(call.answered_at),
            "ended": search.local_time(call.ended_at),
            "wrapup": search.local_time(call.wrapup_at),
        },
        "durations": {
            "wait": search.duration(call.wait_ms),
            "talk": search.duration(call.talk_ms),
            "hold": search.duration(call.hold_ms) if call.hold_ms else "",
            "acw": search.duration(call.acw_ms),
        },
        "disposition": dict(Disposition.choices).get(call.disposition, call.disposition),
        "timeline": search.call_timeline(call, ivr=ivr, queue_names=names),
        "ivr": ivr,
        "ivr_transfer_queue": names.get(ivr["queue"], ivr["queue"]) if ivr and ivr["queue"] else "",
        "legs": legs,
        "holds": holds,
        "customer": _customer(request.user, call),
        "tickets": _tickets_of_call(request.user, call),
        "recordings": recordings_of_call(user=request.user, call_id=call.call_id),
        "can_open_tickets": user_role(request.user) in TICKET_READERS,
        "same_day_url": f"{reverse('calls:search')}?date_from={day.isoformat()}&date_to={day.isoformat()}",
        "customer_calls_url": _customer_calls_url(call.customer_id, day) if call.customer_id else "",
    }
    return render(request, "calls/detail.html", context)


def _customer_calls_url(customer_id: int, day: date) -> str:
    """The customer's calls from 90 days before this one, up to today (at most ``MAX_DAYS``)."""
    start = day - timedelta(days=90)
    end = min(timezone.localdate(), start + timedelta(days=MAX_DAYS - 1))
    return f"{reverse('calls:search')}?customer={customer_id}&date_from={start.isoformat()}&date_to={end.isoformat()}"


# The roles that may open a work order's page (``tickets.policy.READERS``, the center's side).
TICKET_READERS = frozenset({Role.DIRECTOR, Role.ANALYST, Role.TEAM_LEAD, Role.AGENT})


def _customer(user, call) -> dict[str, Any] | None:
    """The linked customer as the desktop shows them (name, masked mobile), or ``None``; a customer
    outside the user's scope by number only."""
    if not call.customer_id:
        return None
    from banking.selectors import customer_labels

    label = customer_labels(user=user, customer_ids=[call.customer_id]).get(call.customer_id)
    if label is None:
        return {"id": call.customer_id, "name": "", "mobile": ""}
    return {"id": call.customer_id, **label}


def _tickets_of_call(user, call) -> list[dict[str, Any]]:
    """The contacts and work orders recorded for the call (``Ticket.call_id``)."""
    from tickets.selectors import tickets_for_calls

    return tickets_for_calls(user=user, call_ids=[call.call_id]).get(call.call_id, [])
