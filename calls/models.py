"""Calls: queues, the call record (CDR) and the events it is built from.

A ``Call`` is a projection: every change to a call is a ``CallEvent`` (from the switch's CTI
feed, the IVR, the router or an agent's desktop), and the call's derived fields are recomputed
from the whole, time-sorted event set each time one arrives (``calls.cdr.fold``). Events may
therefore arrive late, twice or out of order and the record comes out the same.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from audit.models import AppendOnlyModel


class Queue(models.Model):
    """An agent queue (``general``, ``card``, ``complaint``...). Agents serve it through a skill."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=10)
    min_skill_level = models.PositiveSmallIntegerField(
        _("minimum skill level"), default=1, help_text=_("Agents below this level of the skill get no calls from it.")
    )
    overflow_queue = models.ForeignKey(
        "self",
        verbose_name=_("overflow queue"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Calls waiting longer than the overflow time are also offered to this queue's agents."),
    )
    overflow_after_s = models.PositiveIntegerField(_("overflow after (s)"), null=True, blank=True)
    callback_offer_after_s = models.PositiveIntegerField(
        _("offer a callback after (s)"),
        null=True,
        blank=True,
        help_text=_("Callers waiting this long are offered a callback; empty: never."),
    )
    alert_waiting = models.PositiveSmallIntegerField(
        _("alert at waiting calls"), default=5, help_text=_("The wallboard flags the queue at this many waiting calls.")
    )
    alert_longest_wait_s = models.PositiveIntegerField(
        _("alert at longest wait (s)"), default=60, help_text=_("The wallboard flags the queue past this wait.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        constraints = [
            models.CheckConstraint(
                condition=Q(overflow_queue__isnull=True) | Q(overflow_after_s__isnull=False),
                name="calls_queue_overflow_has_delay",
                violation_error_message=_("An overflow queue needs an overflow time."),
            ),
            models.CheckConstraint(
                condition=Q(min_skill_level__gte=1) & Q(min_skill_level__lte=5),
                name="calls_queue_min_level_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class CallState(models.TextChoices):
    IVR = "ivr", _("In the IVR")
    QUEUED = "queued", _("Waiting in queue")
    OFFERED = "offered", _("Ringing an agent")
    CONNECTED = "connected", _("Connected")
    ENDED = "ended", _("Ended")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Disposition(models.TextChoices):
    RESOLVED = "resolved", _("Answered / resolved")
    CONSULTATION = "consultation", _("Consultation")
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")
    LOSS_REPORT = "loss_report", _("Verbal loss report")
    TRANSFERRED = "transferred", _("Transferred")
    CALLBACK = "callback", _("Callback scheduled")
    WRONG_NUMBER = "wrong_number", _("Wrong number / silent")
    OTHER = "other", _("Other")
    AUTO = "auto", _("Closed automatically")


class Call(models.Model):
    """One call (CDR): who called, where it waited, who took it and how long each stage lasted.

    Every field below ``direction`` is derived from the call's events (``calls.cdr.fold``) and
    rewritten when an event arrives; ``callback_offered_at`` is the only live flag set directly.
    Durations are integer milliseconds.
    """

    # Not a field: set on the returned instance by ``calls.services.control.call_wrapup`` for the API's reply.
    wrapup_ticket: Any

    # As the switch names the call and sends the caller (core.api.telephony): the ANI
    # may be a tel: or sip: URI, kept as sent (look-ups use its digits).
    # Unique by the constraint in ``Meta`` (a field's ``unique`` would add a second, LIKE index).
    call_id = models.CharField(_("call id"), max_length=128)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices, default=Direction.INBOUND)
    ani = models.CharField(_("caller number"), max_length=255, blank=True)
    dnis = models.CharField(_("called number"), max_length=255, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=CallState.choices, default=CallState.IVR)
    held = models.BooleanField(_("on hold"), default=False)
    # Every index below is one more entry written for every event of every call (an event's
    # update changes indexed columns, so it is never a heap-only update): the queue is read with
    # the state (``calls_state_queue_idx``), the agent with the start (``calls_agent_idx``).
    queue = models.ForeignKey(
        Queue,
        verbose_name=_("queue"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    entry_queue = models.ForeignKey(
        Queue,
        verbose_name=_("first queue"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls",
        db_index=False,
        help_text=_("The queue the call entered first."),
    )
    # A queue's calls (docs/cti.md): the wallboard counts a waiting call under its home queue,
    # and today's figures and the KPIs count a call under its service queue. No indexes of their
    # own: their reads filter on state or queued_at first, and every index is one more write for
    # every event of every call.
    home_queue = models.ForeignKey(
        Queue,
        verbose_name=_("home queue"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text=_("The last queue the call was placed in; an overflow does not move it."),
    )
    service_queue = models.ForeignKey(
        Queue,
        verbose_name=_("service queue"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text=_("The call's home queue when it was first answered or abandoned; KPIs count the call there."),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text=_("The agent being rung or connected; after the call, the last agent who answered."),
    )
    priority = models.SmallIntegerField(_("priority"), default=0)
    verified = models.BooleanField(_("verified in the IVR"), default=False)
    ivr_path = models.JSONField(_("IVR path"), default=list, blank=True)
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    # "ivr": verified in the IVR; "agent": linked by the agent on the desktop (not a verification).
    customer_source = models.CharField(_("customer identified by"), max_length=8, blank=True)
    account_id = models.BigIntegerField(_("account"), null=True, blank=True)
    # Started from the IVR simulator: routed like any other call, marked on the agent's screen,
    # never counted in a KPI (DESIGN.md §5).
    is_test = models.BooleanField(_("test call"), default=False)

    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    offered_at = models.DateTimeField(_("first rung an agent"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    wrapup_at = models.DateTimeField(_("after-call work done"), null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offer expires"), null=True, blank=True)
    overflowed_at = models.DateTimeField(_("overflowed"), null=True, blank=True)

    wait_ms = models.PositiveIntegerField(_("wait (ms)"), null=True, blank=True)
    talk_ms = models.PositiveIntegerField(_("talk (ms)"), null=True, blank=True)
    hold_ms = models.PositiveIntegerField(_("hold (ms)"), default=0)
    acw_ms = models.PositiveIntegerField(_("after-call work (ms)"), null=True, blank=True)
    abandoned = models.BooleanField(_("abandoned"), default=False)
    missed_offers = models.PositiveSmallIntegerField(_("unanswered offers"), default=0)
    transfers = models.PositiveSmallIntegerField(_("transfers"), default=0)
    holds = models.JSONField(_("hold segments"), default=list, blank=True)
    legs = models.JSONField(_("agent legs"), default=list, blank=True)
    anomalies = models.JSONField(_("ignored events"), default=list, blank=True)
    disposition = models.CharField(_("disposition"), max_length=16, choices=Disposition.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    end_reason = models.CharField(_("end reason"), max_length=20, blank=True)
    event_count = models.PositiveIntegerField(_("events"), default=0)

    callback_offered_at = models.DateTimeField(_("callback offered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        indexes = [
            models.Index(fields=["state", "queue"], name="calls_state_queue_idx"),
            models.Index(fields=["queued_at"], name="calls_queued_at_idx"),
            models.Index(fields=["customer_id", "started_at"], name="calls_customer_idx"),
            models.Index(fields=["agent", "started_at"], name="calls_agent_idx"),
            models.Index(fields=["started_at"], name="calls_started_at_idx"),
        ]
        constraints = [models.UniqueConstraint(fields=["call_id"], name="calls_call_id_unique")]

    def __str__(self) -> str:
        return self.call_id

    @property
    def is_active(self) -> bool:
        return self.state in (CallState.OFFERED, CallState.CONNECTED)


class EventType(models.TextChoices):
    OFFERED = "offered", _("Entered the switch")
    QUEUED = "queued", _("Queued")
    RINGING = "ringing", _("Ringing an agent")
    ANSWERED = "answered", _("Answered")
    HELD = "held", _("Put on hold")
    RETRIEVED = "retrieved", _("Taken off hold")
    TRANSFERRED = "transferred", _("Transferred")
    ENDED = "ended", _("Ended")
    WRAPUP = "wrapup", _("After-call work done")
    # Internal only (never accepted from the CTI API): the router withdrew an unanswered offer.
    OFFER_EXPIRED = "offer_expired", _("Offer not answered")
    # Internal only: the agent identified the caller on the desktop ("this is the caller").
    CUSTOMER_LINKED = "customer_linked", _("Caller identified by the agent")


CTI_EVENT_TYPES = tuple(t for t in EventType.values if t not in (EventType.OFFER_EXPIRED, EventType.CUSTOMER_LINKED))


class EventSource(models.TextChoices):
    CTI = "cti", _("Switch (CTI)")
    IVR = "ivr", _("IVR")
    ROUTER = "router", _("Router")
    AGENT = "agent", _("Agent desktop")
    SYSTEM = "system", _("System")


class CallEvent(AppendOnlyModel):
    """One fact about a call. ``event_id`` is unique: a repeated event changes nothing."""

    # Three indexes, each written for every event: the unique event id (a constraint, without the
    # LIKE index a field's ``unique`` adds), the call's events by time (which also serves the
    # call's foreign key) and the primary key.
    event_id = models.CharField(_("event id"), max_length=100)
    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="events", db_index=False
    )
    type = models.CharField(_("type"), max_length=16, choices=EventType.choices)
    ts = models.DateTimeField(_("time"))
    source = models.CharField(_("source"), max_length=8, choices=EventSource.choices)
    queue = models.CharField(_("queue"), max_length=40, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Everything else the event carries (ani, dnis, IVR context, disposition, transfer target).
    data = models.JSONField(_("data"), default=dict, blank=True)
    # Digest of the event's content: the same event_id with other content is refused.
    digest = models.CharField(_("digest"), max_length=64)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        ordering = ["call", "ts", "pk"]
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        indexes = [models.Index(fields=["call", "ts"], name="calls_event_call_ts_idx")]
        constraints = [models.UniqueConstraint(fields=["event_id"], name="calls_event_id_unique")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


from .outbound.models import Campaign, CampaignContact, DialAttempt, DoNotCall, ImportJob  # noqa: E402, F401
from .recordings.models import AudioFormat, IntegrityCheck, Recording, RecordingPause  # noqa: E402, F401
