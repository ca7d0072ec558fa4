"""Reads of the call search and call pages (``/calls/``, ``/calls/<pk>/``).

The search is the drill-down of every call KPI, so it selects exactly what the KPIs count
(DESIGN.md §5, ``reports.kpi``): a call belongs to the local day (Asia/Shanghai) and 30-minute interval in which it
was first queued (``Call.queued_at``), to its service queue (``Call.service_queue``) and to its
agent (``Call.agent``); test calls are left out unless asked for. Calls that were never queued
(they ended in the IVR) appear only under the outcome ``ivr_only``, by the day they started.

Who sees which call: team leads, the director, analysts and the maintainer every call; an agent the
calls they handled (``Call.agent``, or a leg they answered); nobody else any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banking.masking import mask_query
from core.dates import local_day_bounds
from org.navigation import display_name
from org.roles import Role
from org.scoping import user_role

from . import errors
from .models import Call, CallEvent, Direction, Disposition, EventSource, EventType
from .selectors import counted_calls

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
    from django.utils.functional import Promise

User = get_user_model()

# Who may open the pages at all (unit staff and the risk officer may not: a 403).
CALL_READERS = (Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST, Role.MAINTAINER, Role.AGENT)
# Who sees every call; an agent sees the calls they handled.
SEE_ALL = frozenset({Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST, Role.MAINTAINER})

INTERVAL_MINUTES = 30
# The heaviest columns of a call are not on the list.
LIST_DEFERRED = ("ivr_path", "holds", "legs", "anomalies", "note", "dnis")


def outcome_choices() -> list[tuple[str, str | Promise]]:
    """The ``outcome`` values of the search (a contract: dashboards and reports link with them)."""
    t, s = settings.CALLS_SERVICE_LEVEL_T_S, settings.CALLS_SHORT_ABANDON_S
    return [
        ("answered", _("Answered")),
        ("answered_in_t", _("Answered within %(t)s s") % {"t": t}),
        ("answered_late", _("Answered after %(t)s s") % {"t": t}),
        ("abandoned", _("Abandoned (short abandons included)")),
        ("short_abandoned", _("Short abandons (under %(s)s s)") % {"s": s}),
        ("in_progress", _("Not answered yet")),
        ("ivr_only", _("Never queued (IVR only)")),
    ]


OUTCOMES = ("answered", "answered_in_t", "answered_late", "abandoned", "short_abandoned", "in_progress", "ivr_only")


@dataclass(frozen=True)
class CallFilter:
    """A parsed, valid search. ``interval`` is the aware local start of a 30-minute interval."""

    date_from: date
    date_to: date
    queue: str = ""
    agent: str = ""
    caller: str = ""  # digits of the caller's number, all or part
    customer: int | None = None
    outcome: str = ""
    wait_over_s: int | None = None
    weekday: int | None = None  # ISO: Monday 1 … Sunday 7
    hour: int | None = None
    interval: datetime | None = None
    include_test: bool = False


def visible_calls(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Call]:
    """The calls ``user`` may see: every call for the center's supervisors, analysts and the
    maintainer; an agent's own (their ``Call.agent``, or a leg they answered); else none."""
    role = user_role(user)
    if role in SEE_ALL:
        return Call.objects.all()
    if role == Role.AGENT:
        answered_by_them = CallEvent.objects.filter(type=EventType.ANSWERED, agent_id=user.pk).values("call_id")
        return Call.objects.filter(Q(agent_id=user.pk) | Q(pk__in=answered_by_them))
    return Call.objects.none()


def _outcome_q(outcome: str) -> Q:
    t_ms = settings.CALLS_SERVICE_LEVEL_T_S * 1000
    s_ms = settings.CALLS_SHORT_ABANDON_S * 1000
    answered = Q(answered_at__isnull=False)
    return {
        "answered": answered,
        "answered_in_t": answered & Q(wait_ms__lte=t_ms),
        "answered_late": answered & Q(wait_ms__gt=t_ms),
        "abandoned": Q(abandoned=True),
        "short_abandoned": Q(abandoned=True, wait_ms__lt=s_ms),
        "in_progress": Q(answered_at__isnull=True, ended_at__isnull=True),
    }.get(outcome, Q())


def call_search(*, user: AbstractBaseUser | AnonymousUser, filters: CallFilter) -> QuerySet[Call]:
    """The calls matching ``filters`` that ``user`` may see, newest first, with what the list shows
    joined (one query per page)."""
    tz = timezone.get_default_timezone()
    calls = visible_calls(user)
    if not filters.include_test:
        calls = calls & counted_calls()
    start, end = local_day_bounds(filters.date_from, filters.date_to)
    if filters.outcome == "ivr_only":
        moment = "started_at"
        calls = calls.filter(
            queued_at__isnull=True, direction=Direction.INBOUND, started_at__gte=start, started_at__lt=end
        )
    else:
        moment = "queued_at"
        calls = calls.filter(queued_at__gte=start, queued_at__lt=end).filter(_outcome_q(filters.outcome))
    if filters.interval is not None:
        interval_end = filters.interval + timedelta(minutes=INTERVAL_MINUTES)
        calls = calls.filter(**{f"{moment}__gte": filters.interval, f"{moment}__lt": interval_end})
    if filters.weekday is not None:
        calls = calls.annotate(local_weekday=ExtractIsoWeekDay(moment, tzinfo=tz)).filter(local_weekday=filters.weekday)
    if filters.hour is not None:
        calls = calls.annotate(local_hour=ExtractHour(moment, tzinfo=tz)).filter(local_hour=filters.hour)
    if filters.queue:
        in_queue = Q(service_queue__code=filters.queue)
        if filters.outcome == "in_progress":
            # A call still waiting has no service queue yet (it is fixed by the answer or the
            # abandon): it is its home queue's, as on the wallboard. No KPI counts these calls.
            in_queue |= Q(service_queue__isnull=True, home_queue__code=filters.queue)
        calls = calls.filter(in_queue)
    if filters.agent:
        calls = calls.filter(agent__username=filters.agent)
    if filters.caller:
        # The ANI is kept as the switch sent it (``tel:+86-139-1234-5678``, a sip: URI): its digits
        # match, whatever separates them.
        calls = calls.filter(ani__regex="[^0-9]{0,3}".join(filters.caller))
    if filters.customer is not None:
        calls = calls.filter(customer_id=filters.customer)
    if filters.wait_over_s is not None:
        calls = calls.filter(wait_ms__gt=filters.wait_over_s * 1000)
    return (
        calls.select_related("service_queue", "home_queue", "agent").defer(*LIST_DEFERRED).order_by(f"-{moment}", "-pk")
    )


# --- what a row and the call's page show ------------------------------------------------------------


def local_time(moment: datetime | None) -> str:
    """Local time to the second, the one format of both pages."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def duration(ms: int | None) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour); ``""`` when there is none."""
    if ms is None:
        return ""
    seconds = int(round(ms / 1000))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def call_outcome(call: Call) -> str:
    """The one outcome of a call, in the search's terms (``answered`` splits by the threshold)."""
    if call.queued_at is None:
        return "ivr_only"
    if call.answered_at is not None:
        in_t = call.wait_ms is not None and call.wait_ms <= settings.CALLS_SERVICE_LEVEL_T_S * 1000
        return "answered_in_t" if in_t else "answered_late"
    if call.abandoned:
        short = call.wait_ms is not None and call.wait_ms < settings.CALLS_SHORT_ABANDON_S * 1000
        return "short_abandoned" if short else "abandoned"
    return "in_progress"


def outcome_labels() -> dict[str, str]:
    """How a row names its outcome (shorter than the filter's choices)."""
    t, s = settings.CALLS_SERVICE_LEVEL_T_S, settings.CALLS_SHORT_ABANDON_S
    return {
        "answered_in_t": str(_("Answered within %(t)s s") % {"t": t}),
        "answered_late": str(_("Answered after %(t)s s") % {"t": t}),
        "abandoned": str(_("Abandoned")),
        "short_abandoned": str(_("Short abandon (under %(s)s s)") % {"s": s}),
        "in_progress": str(_("Not answered yet")),
        "ivr_only": str(_("Ended in the IVR")),
    }


def call_rows(calls: list[Call], *, user: AbstractBaseUser | AnonymousUser | None = None) -> list[dict[str, Any]]:
    """The list's rows, computed once in Python. With ``user``: each row's customer by name and
    masked mobile (``banking.selectors.customer_labels``) and the work orders recorded for the call
    (``tickets.selectors.tickets_for_calls``), as ``user`` may see them — one query each per page."""
    customers: dict[int, dict[str, Any]] = {}
    tickets: dict[str, list[dict[str, Any]]] = {}
    if user is not None and calls:
        from banking.selectors import customer_labels
        from tickets.selectors import tickets_for_calls

        customers = customer_labels(user=user, customer_ids=[call.customer_id for call in calls])
        tickets = tickets_for_calls(user=user, call_ids=[call.call_id for call in calls])
    labels = outcome_labels()
    dispositions = {code: str(label) for code, label in Disposition.choices}
    rows = []
    for call in calls:
        outcome = call_outcome(call)
        if outcome == "ivr_only" and call.ended_at is None:
            label = str(_("In the IVR"))
        else:
            label = labels[outcome]
        queue = call.service_queue or call.home_queue
        rows.append(
            {
                "pk": call.pk,
                "call_id": call.call_id,
                "at": local_time(call.queued_at or call.started_at),
                "ani": call.ani,
                "customer_id": call.customer_id,
                "customer": customers.get(call.customer_id) if call.customer_id else None,
                "tickets": tickets.get(call.call_id, []),
                "queue": queue.display_name if queue else "",
                "agent": display_name(call.agent) if call.agent_id else "",  # type: ignore[arg-type]
                "wait": duration(call.wait_ms),
                "talk": duration(call.talk_ms),
                "outcome": outcome,
                "outcome_label": label,
                "disposition": dispositions.get(call.disposition, call.disposition),
                "is_test": call.is_test,
            }
        )
    return rows


def call_get_visible(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> Call:
    """Call ``pk`` if ``user`` may see it, else ``CallNotFound`` (another agent's call is a 404)."""
    call = (
        visible_calls(user)
        .select_related("service_queue", "home_queue", "entry_queue", "queue", "agent")
        .filter(pk=pk)
        .first()
    )
    if call is None:
        raise errors.CallNotFound()
    return call


def _parse(moment: Any) -> datetime | None:
    if not moment:
        return None
    parsed = datetime.fromisoformat(str(moment))
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.get_default_timezone())


def call_timeline(call: Call, *, ivr: dict[str, Any] | None, queue_names: dict[str, str]) -> list[dict[str, Any]]:
    """The call's CTI events (the switch's, the router's, the desktop's) merged with its IVR events,
    by time: ``[{"at", "source", "type", "label", "queue", "agent", "detail", "ignored"}]``."""
    ignored = {item.get("event_id") for item in call.anomalies or []}
    types = {code: str(label) for code, label in EventType.choices}
    sources = {code: str(label) for code, label in EventSource.choices}
    dispositions = {code: str(label) for code, label in Disposition.choices}
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    for event in CallEvent.objects.filter(call=call).select_related("agent").order_by("ts", "pk"):
        data = event.data or {}
        detail = ""
        if event.type == EventType.WRAPUP and data.get("disposition"):
            detail = dispositions.get(str(data["disposition"]), str(data["disposition"]))
        elif event.type == EventType.TRANSFERRED and data.get("reason") == "overflow":
            detail = str(_("overflow"))
        elif event.type == EventType.ENDED and data.get("reason"):
            detail = str(data["reason"])
        entries.append(
            (
                event.ts,
                1,
                {
                    "at": local_time(event.ts),
                    "source": event.source,
                    "source_label": sources.get(event.source, event.source),
                    "type": event.type,
                    "label": types.get(event.type, event.type),
                    "queue": queue_names.get(event.queue, event.queue),
                    "agent": display_name(event.agent) if event.agent_id else "",  # type: ignore[arg-type]
                    "detail": detail,
                    "ignored": event.event_id in ignored,
                },
            )
        )
    for item in (ivr or {}).get("events", []):
        detail = ""
        if item["transfer"]:
            detail = str(_("to %(queue)s") % {"queue": queue_names.get(item["transfer"], item["transfer"])})
        elif item["hangup"]:
            detail = str(_("the IVR hung up"))
        entries.append(
            (
                item["at"],
                0,
                {
                    "at": local_time(item["at"]),
                    "source": "ivr",
                    "source_label": sources[EventSource.IVR],
                    "type": item["type"],
                    "label": item["type_label"],
                    "node": item["node_label"],
                    # A card or account number typed at a login is shown masked, as everywhere.
                    "digits": mask_query(item["digits"]) if item["digits"] else "",
                    "secret": item["secret"],
                    "queue": "",
                    "agent": "",
                    "detail": detail,
                    "ignored": False,
                },
            )
        )
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry for _at, _rank, entry in entries]


def call_legs(call: Call) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The agents' legs ``[{"agent", "answered", "ended", "duration"}]`` (one query for their names)
    and the holds ``[{"start", "end", "duration"}]``."""
    agent_ids = {leg.get("agent") for leg in call.legs or [] if leg.get("agent")}
    names = {user.pk: display_name(user) for user in User.objects.filter(pk__in=agent_ids)} if agent_ids else {}
    legs = []
    for leg in call.legs or []:
        answered, ended = _parse(leg.get("answered")), _parse(leg.get("ended"))
        legs.append(
            {
                "agent": names.get(leg.get("agent"), ""),
                "answered": local_time(answered),
                "ended": local_time(ended),
                "duration": duration(int((ended - answered).total_seconds() * 1000)) if answered and ended else "",
            }
        )
    holds = []
    for start_at, end_at in call.holds or []:
        start, end = _parse(start_at), _parse(end_at)
        holds.append(
            {
                "start": local_time(start),
                "end": local_time(end),
                "duration": duration(int((end - start).total_seconds() * 1000)) if start and end else "",
            }
        )
    return legs, holds
