"""The recordings pages (issue 17): the search (``/recordings/``) and a recording's page
(``/recordings/<pk>/``) with the player, its metadata, integrity facts and its audit trail.

Who sees which recording is ``calls.recordings.access`` (one rule for these pages, the API and
the audio stream); the audio itself streams from ``/api/recordings/<pk>/audio/`` (HTTP Range),
which audits every playback and download. These pages only read.

The search never counts its matches: over a million rows a ``COUNT(*)`` costs more than the page
itself, so paging is by "previous / next" (one row more than a page is fetched to know whether
there is a next page).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.api.validation import validate_in_range
from org.navigation import display_name
from org.permissions import role_required
from org.roles import Role
from org.scoping import user_role

from .. import search as call_search
from ..models import Disposition
from ..selectors import queue_list
from . import access, selectors
from .models import Recording

PAGE_SIZE = 50
MAX_DAYS = 367
DEFAULT_DAYS = 7

# Who may open the pages; ``access.visible`` narrows the rows per role and unit.
PAGE_ROLES = tuple(sorted(access.READERS))
# Who may filter by agent (the others see one agent's or a few work orders' recordings).
SEE_ALL = access.SEE_ALL | {Role.ANALYST}
LIST_FIELDS = (
    "id",
    "started_at",
    "duration_ms",
    "size",
    "format",
    "customer_id",
    "legal_hold",
    "purged_at",
    "masked_segments",
    "agent__username",
    "agent__first_name",
    "agent__last_name",
    "call__id",
    "call__call_id",
    "call__ani",
    "call__disposition",
    "call__service_queue__code",
    "call__service_queue__name",
    "call__queue__code",
)


def visible_recordings(user) -> QuerySet[Recording]:
    """The recordings ``user`` may hear (``access.visible``, the one rule)."""
    return access.visible(user)


def _api_url(name: str, pk: int, fallback: str) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return fallback


def masked_labels() -> dict[str, str]:
    """What the player writes on a masked segment, per reason."""
    return {"password": _("Masked (password)"), "": _("Masked")}


def player_texts() -> dict[str, str]:
    return {
        "play": _("Play"),
        "pause": _("Pause"),
        "no_waveform": _("No waveform for this file."),
        "error": _("The recording cannot be played."),
        "masked": _("Masked"),
    }


def player_context(recording: Recording) -> dict[str, Any]:
    """What ``calls/recordings/_player.html`` needs (also the template tag's context)."""
    return {
        "id": recording.pk,
        "src": _api_url("recordings-api:audio", recording.pk, f"/api/recordings/{recording.pk}/audio/"),
        "peaks": json.dumps([int(value) for value in (recording.peaks or [])]),
        "masked": json.dumps(
            [
                {
                    "start_ms": int(seg.get("start_ms", 0)),
                    "end_ms": int(seg.get("end_ms", 0)),
                    "reason": str(seg.get("reason", "")),
                }
                for seg in (recording.masked_segments or [])
            ]
        ),
        "duration_ms": recording.duration_ms,
        "labels": json.dumps(masked_labels(), ensure_ascii=False),
        "texts": json.dumps(player_texts(), ensure_ascii=False),
        "purged": recording.purged_at is not None,
    }


# --- the search --------------------------------------------------------------------------------


class RecordingSearchForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("Recorded from"), required=False, validators=[validate_in_range])
    date_to = forms.DateField(label=gettext_lazy("to"), required=False, validators=[validate_in_range])
    agent = forms.CharField(label=gettext_lazy("Agent"), required=False, max_length=150)
    caller = forms.CharField(label=gettext_lazy("Caller number"), required=False, max_length=64)
    customer = forms.IntegerField(label=gettext_lazy("Customer number"), required=False, min_value=1, max_value=2**62)
    queue = forms.SlugField(label=gettext_lazy("Queue"), required=False, max_length=40)
    disposition = forms.ChoiceField(
        label=gettext_lazy("Disposition"),
        required=False,
        choices=lambda: [("", _("All dispositions")), *Disposition.choices],
    )
    ticket = forms.IntegerField(label=gettext_lazy("Work order"), required=False, min_value=1, max_value=2**62)
    call_id = forms.CharField(label=gettext_lazy("Switch call id"), required=False, max_length=128)
    qa = forms.ChoiceField(
        label=gettext_lazy("Quality score"),
        required=False,
        choices=lambda: [("", _("Any")), ("scored", _("Scored")), ("unscored", _("Not scored"))],
    )

    def clean_caller(self) -> str:
        raw = self.cleaned_data.get("caller") or ""
        digits = "".join(char for char in raw if char.isascii() and char.isdigit())
        if raw.strip() and not digits:
            raise forms.ValidationError(_("Enter digits of the caller's number."), code="invalid")
        return digits

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        today = timezone.localdate()
        pinned = bool(cleaned.get("call_id") or cleaned.get("ticket"))
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start is None and end is None and pinned:
            # A call or a work order names its recordings: any date (the links of the call and
            # work-order pages carry no dates).
            cleaned["date_from"] = cleaned["date_to"] = None
            return cleaned
        end = end or (start if start and start > today else today)
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("date_to", _("date_to is before date_from."))
        elif (end - start).days >= MAX_DAYS:
            self.add_error("date_to", _("At most 367 days at a time."))
        cleaned["date_from"], cleaned["date_to"] = start, end
        return cleaned


def _qa_scored_ids() -> Any:
    """The recordings with a quality score (``agents.quality``)."""
    from agents.quality.selectors import scored_recording_ids

    return scored_recording_ids()


def recording_search(*, user, data: dict[str, Any]) -> QuerySet[Recording]:
    """The recordings ``user`` may hear that match the search form's cleaned ``data``, newest
    first (``selectors.recordings_for``, plus the work-order number and the quality score)."""
    recordings = selectors.recordings_for(
        user,
        selectors.RecordingFilter(
            call_id=data.get("call_id") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            agent=(data.get("agent") or "").strip(),
            ani=data.get("caller") or "",
            customer=data.get("customer"),
            disposition=data.get("disposition") or "",
        ),
    )
    if data.get("queue"):
        # The selector's queue rule (the queue the call was served in, else its last queue), by
        # id: through a join to the queue table PostgreSQL cannot see how selective the code is
        # and scans the calls (1,000,000 rows: 670 ms instead of 70 ms, bench_recordings).
        queue_id = next((q.pk for q in queue_list(active_only=False) if q.code == data["queue"]), None)
        recordings = recordings.filter(
            Q(call__service_queue_id=queue_id) | Q(call__service_queue_id__isnull=True, call__queue_id=queue_id)
        )
    if data.get("ticket"):
        from tickets.selectors import ticket_list

        # Only a work order the user may see links anything (a unit's staff: their unit's).
        linked = ticket_list(user=user).filter(pk=data["ticket"]).exclude(call_id="").order_by().values("call_id")
        recordings = recordings.filter(call__call_id__in=linked)
    if data.get("qa"):
        scored = _qa_scored_ids()
        recordings = recordings.filter(pk__in=scored) if data["qa"] == "scored" else recordings.exclude(pk__in=scored)
    return recordings.only(*LIST_FIELDS)


def _agent_choices() -> list[tuple[str, str]]:
    users = (
        get_user_model()
        .objects.filter(profile__role__in=[Role.AGENT, Role.TEAM_LEAD])
        .order_by("username")
        .only("username", "first_name", "last_name")
    )
    return [(user.username, f"{display_name(user)} ({user.username})") for user in users]


def _row(
    recording: Recording, *, dispositions: dict[str, str], tickets: dict[str, list], queues: dict[str, str]
) -> dict[str, Any]:
    call = recording.call
    queue = call.service_queue.code if call.service_queue_id else ""  # type: ignore[union-attr]
    return {
        "pk": recording.pk,
        "url": reverse("recordings:detail", args=[recording.pk]),
        "at": call_search.local_time(recording.started_at),
        "duration": call_search.duration(recording.duration_ms),
        "agent": display_name(recording.agent) if recording.agent_id else "",  # type: ignore[arg-type]
        "ani": call.ani,
        "customer_id": recording.customer_id,
        "queue": queues.get(queue, queue),
        "disposition": dispositions.get(call.disposition, call.disposition),
        "tickets": tickets.get(call.call_id, []),
        "masked": bool(recording.masked_segments),
        "legal_hold": recording.legal_hold,
        "purged": recording.purged_at is not None,
    }


@role_required(*PAGE_ROLES)
def recording_list(request):
    role = user_role(request.user)
    form = RecordingSearchForm(request.GET)
    rows: list[dict[str, Any]] = []
    page_number = _page_number(request.GET.get("page"))
    has_next = False
    if form.is_valid():
        found = list(
            recording_search(user=request.user, data=form.cleaned_data)[
                (page_number - 1) * PAGE_SIZE : page_number * PAGE_SIZE + 1
            ]
        )
        has_next = len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
        # One click from a call or a work order: when it names exactly one recording, open it.
        pinned = form.cleaned_data.get("call_id") or form.cleaned_data.get("ticket")
        if pinned and page_number == 1 and len(found) == 1 and "list" not in request.GET:
            return HttpResponseRedirect(reverse("recordings:detail", args=[found[0].pk]))
        from tickets.selectors import tickets_for_calls

        tickets = tickets_for_calls(user=request.user, call_ids=[r.call.call_id for r in found])
        dispositions = {code: str(label) for code, label in Disposition.choices}
        queues = {q.code: q.display_name for q in queue_list(active_only=False)}
        rows = [_row(r, dispositions=dispositions, tickets=tickets, queues=queues) for r in found]
        from banking.selectors import customer_labels

        names = customer_labels(user=request.user, customer_ids=[row["customer_id"] for row in rows])
        for row in rows:
            row["customer"] = names.get(row["customer_id"]) if row["customer_id"] else None
    if form.is_valid() and form.cleaned_data.get("date_from"):
        dates = {
            "date_from": form.cleaned_data["date_from"].isoformat(),
            "date_to": form.cleaned_data["date_to"].isoformat(),
        }
    else:
        dates = {name: request.GET.get(name, "") for name in ("date_from", "date_to")}
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "form": form,
        "rows": rows,
        "searched": form.is_valid(),
        "page_number": page_number,
        "has_next": has_next,
        "first_row": (page_number - 1) * PAGE_SIZE + 1,
        "last_row": (page_number - 1) * PAGE_SIZE + len(rows),
        "query": params.urlencode(),
        "values": {name: request.GET.get(name, "") for name in form.fields},
        "dates": dates,
        "queues": [(queue.code, queue.display_name) for queue in queue_list(active_only=False)],
        "agents": _agent_choices() if role in SEE_ALL else [],
        "dispositions": Disposition.choices,
        "sees_all": role in SEE_ALL,
        "role": role,
        "can_open_tickets": role in TICKET_READERS or role == Role.UNIT_STAFF,
    }
    return render(request, "calls/recordings/search.html", context)


def _page_number(raw: str | None) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), 10_000)


# --- a recording's page ------------------------------------------------------------------------

TICKET_READERS = frozenset({Role.DIRECTOR, Role.ANALYST, Role.TEAM_LEAD, Role.AGENT})
CALL_READERS = frozenset(call_search.CALL_READERS)


def _audit_rows(recording: Recording) -> list[dict[str, Any]]:
    events = selectors.recording_audit(recording)[:200]
    labels = audit_labels()
    return [
        {
            "at": call_search.local_time(event.created_at),
            "actor": event.actor_username or "—",
            "role": event.actor_role,
            "action": labels.get(event.action, event.action),
            "code": event.action,
            "ip": event.ip_address or "",
            "range": (event.details or {}).get("range", ""),
        }
        for event in events
    ]


def audit_labels() -> dict[str, str]:
    """Readable names of the recording's audit actions (written by ``services`` and ``retention``)."""
    return {
        "recording.play": _("Played"),
        "recording.download": _("Downloaded"),
        "recording.ingested": _("Uploaded by the switch"),
        "recording.legal_hold_set": _("Legal hold set"),
        "recording.legal_hold_cleared": _("Legal hold released"),
        "recording.purged": _("File purged (retention)"),
    }


@role_required(*PAGE_ROLES)
def recording_detail(request, pk: int):
    try:
        recording = selectors.recording_get(user=request.user, recording_id=pk)
    except selectors.RecordingNotFound:
        raise Http404(_("No such recording.")) from None
    role = user_role(request.user)
    call = recording.call
    from tickets.selectors import tickets_for_calls

    customer = None
    if recording.customer_id:
        from banking.selectors import customer_labels

        label = customer_labels(user=request.user, customer_ids=[recording.customer_id]).get(recording.customer_id)
        customer = {"id": recording.customer_id, **(label or {"name": "", "mobile": ""})}
    queue = call.service_queue.display_name if call.service_queue_id else ""  # type: ignore[union-attr]
    can_open_call = role in CALL_READERS and call_search.visible_calls(request.user).filter(pk=call.pk).exists()
    masked = [
        {
            "start": call_search.duration(seg.get("start_ms", 0)),
            "end": call_search.duration(seg.get("end_ms", 0)),
            "label": masked_labels().get(str(seg.get("reason", "")), masked_labels()[""]),
        }
        for seg in recording.masked_segments or []
    ]
    context = {
        "recording": recording,
        "call": call,
        "player": player_context(recording),
        "agent": display_name(recording.agent) if recording.agent_id else "",  # type: ignore[arg-type]
        "customer": customer,
        "queue": queue,
        "disposition": dict(Disposition.choices).get(call.disposition, call.disposition),
        "started": call_search.local_time(recording.started_at),
        "uploaded": call_search.local_time(recording.uploaded_at),
        "purged": call_search.local_time(recording.purged_at),
        "duration": call_search.duration(recording.duration_ms),
        "masked": masked,
        "tickets": tickets_for_calls(user=request.user, call_ids=[call.call_id]).get(call.call_id, []),
        "can_open_tickets": role in TICKET_READERS or role == Role.UNIT_STAFF,
        "can_open_call": can_open_call,
        "can_download": recording.purged_at is None and access.can_download(request.user, recording),
        "download_url": _api_url("recordings-api:download", recording.pk, f"/api/recordings/{recording.pk}/download/"),
        "audit": _audit_rows(recording),
        "can_hold": access.can_hold(request.user, recording),
        "back_url": reverse("recordings:list"),
    }
    return render(request, "calls/recordings/detail.html", context)


def recordings_of_call_url(call_id: str) -> str:
    """The link the call and work-order pages use (``/recordings/?call_id=``)."""
    from urllib.parse import urlencode

    return f"{reverse('recordings:list')}?{urlencode({'call_id': call_id})}"


@role_required(*sorted(access.HOLDERS))
@require_POST
def recording_legal_hold(request, pk: int):
    """Set or release a legal hold from the recording's page (``services.recording_legal_hold_set``:
    director and maintainer, a reason always, audited)."""
    from core.errors import DomainError

    from .services import recording_legal_hold_set

    try:
        recording = selectors.recording_get(user=request.user, recording_id=pk)
    except selectors.RecordingNotFound:
        raise Http404(_("No such recording.")) from None
    hold = request.POST.get("hold") == "1"
    try:
        with transaction.atomic():
            recording_legal_hold_set(
                recording=recording,
                actor=request.user,
                hold=hold,
                reason=request.POST.get("reason", "")[:200],
                request=request,
            )
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Legal hold set.") if hold else _("Legal hold released."))
    return HttpResponseRedirect(reverse("recordings:detail", args=[pk]))
