"""Outbound tables (issue 19), imported by ``calls.models`` (app label calls).

A ``Campaign`` is worked by the agents of its queue; its ``CampaignContact`` rows are the list.
Every dial is a ``DialAttempt``: decided by the compliance check (its reasons stored with it),
sent to the switch as an ``originate`` command identified by ``command_id`` (idempotent: re-sent
until acknowledged, never dialled twice), then followed through the CTI events of the switch's
call. ``DoNotCall`` is checked at dial time, not only at import.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CampaignKind(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    REVISIT = "revisit", _("Revisit after a work order")
    LOSS_FOLLOWUP = "loss_followup", _("Loss-report follow-up")
    SURVEY = "survey", _("Satisfaction survey")


class DialMode(models.TextChoices):
    PREVIEW = "preview", _("Preview")
    PROGRESSIVE = "progressive", _("Progressive")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("campaign", "Draft")
    RUNNING = "running", pgettext_lazy("campaign", "Running")
    PAUSED = "paused", pgettext_lazy("campaign", "Paused")
    FINISHED = "finished", pgettext_lazy("campaign", "Finished")


class Outcome(models.TextChoices):
    """What the agent records after an outbound call (and what the dialer records without one)."""

    INTERESTED = "interested", _("Interested")
    NOT_INTERESTED = "not_interested", _("Not interested")
    CALLBACK = "callback", _("Call back at…")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    DNC_REQUEST = "dnc_request", _("Asked not to be called")
    SALE = "sale", _("Sale")
    COMPLETED = "completed", _("Completed")  # a revisit or survey done
    # no agent outcome: the switch's cause
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no_answer", _("No answer")
    REJECTED = "rejected", _("Rejected")
    INVALID_NUMBER = "invalid_number", _("Invalid number")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped by the agent")


class Campaign(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=CampaignKind.choices)
    mode = models.CharField(_("dialing mode"), max_length=12, choices=DialMode.choices, default=DialMode.PREVIEW)
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    script = models.TextField(_("script"), blank=True)
    # The agents who work it: those with the queue's skill.
    queue = models.ForeignKey("calls.Queue", verbose_name=_("queue"), on_delete=models.PROTECT, related_name="+")
    # Blended: its agents also take inbound calls and leave outbound when the inbound service level drops.
    blended = models.BooleanField(_("blended with inbound"), default=True)
    outcomes = models.JSONField(_("outcome codes"), default=list, blank=True)  # [] = every Outcome of an agent
    window_start = models.TimeField(_("calling from"))
    window_end = models.TimeField(_("calling until"))
    allow_holidays = models.BooleanField(_("calls on public holidays"), default=False)
    date_from = models.DateField(_("first day"))
    date_to = models.DateField(_("last day"))
    max_attempts = models.PositiveSmallIntegerField(_("attempts per contact"), default=3)
    # Minutes before the next attempt by outcome/cause, e.g. {"busy": 10, "no_answer": 120}.
    retry_minutes = models.JSONField(_("retry after (min)"), default=dict, blank=True)
    caller_id = models.CharField(_("caller id"), max_length=32, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(condition=Q(date_to__gte=models.F("date_from")), name="calls_campaign_dates"),
            models.CheckConstraint(condition=Q(window_end__gt=models.F("window_start")), name="calls_campaign_window"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ContactStatus(models.TextChoices):
    PENDING = "pending", _("To call")
    DIALING = "dialing", _("Being called")
    DONE = "done", _("Done")
    DNC = "dnc", _("Do not call")
    INVALID = "invalid", _("Invalid number")
    EXHAUSTED = "exhausted", _("Attempts used up")


class ContactSource(models.TextChoices):
    IMPORT = "import", _("Imported list")
    SEGMENT = "segment", _("Customer segment")
    TICKET = "ticket", _("Closed work order")
    CALLBACK = "callback", _("Callback")
    MANUAL = "manual", _("Added by hand")


class CampaignContact(models.Model):
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="contacts"
    )
    phone = models.CharField(_("phone"), max_length=20)  # normalised digits (mobile 11, fixed line with area code)
    name = models.CharField(_("name"), max_length=100, blank=True)
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=ContactSource.choices, default=ContactSource.IMPORT)
    source_ref = models.CharField(_("source reference"), max_length=64, blank=True)  # work order no., callback id
    data = models.JSONField(_("extra fields"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ContactStatus.choices, default=ContactStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_outcome = models.CharField(_("last outcome"), max_length=16, choices=Outcome.choices, blank=True)
    # Preview: the agent the contact is shown to (reserved), until they dial or skip it.
    reserved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reserved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reserved_at = models.DateTimeField(_("reserved at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["campaign", "pk"]
        verbose_name = _("campaign contact")
        verbose_name_plural = _("campaign contacts")
        constraints = [models.UniqueConstraint(fields=["campaign", "phone"], name="calls_contact_once_per_campaign")]
        indexes = [
            models.Index(
                fields=["campaign", "next_attempt_at"],
                name="calls_contact_due_idx",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.phone} {self.status}"


class DncReason(models.TextChoices):
    CUSTOMER_OPTOUT = "optout", _("Customer opted out")
    CALL_REQUEST = "call_request", _("Asked on a call")
    COMPLAINT = "complaint", _("Complaint")
    REGULATOR = "regulator", _("Regulator or court order")


class DoNotCall(models.Model):
    """A number that must not be called for marketing (and, with ``all_campaigns``, at all).
    Removing one is an audited ``removed_at``, never a delete."""

    phone = models.CharField(_("phone"), max_length=20)
    reason = models.CharField(_("reason"), max_length=12, choices=DncReason.choices)
    all_campaigns = models.BooleanField(
        _("every campaign"), default=False, help_text=_("Off: marketing only (revisits after a complaint still call).")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # A customer's opt-out recorded on their profile (the number is the customer's mobile).
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("removed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    removal_note = models.CharField(_("reason for removal"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("do-not-call number")
        verbose_name_plural = _("do-not-call list")
        constraints = [
            models.UniqueConstraint(
                fields=["phone"], condition=Q(removed_at__isnull=True), name="calls_dnc_active_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone} {self.reason}"


class AttemptStatus(models.TextChoices):
    SENT = "sent", _("Sent to the switch")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    DIALING = "dialing", _("Dialing")
    RINGING = "ringing", _("Ringing")
    ANSWERED = "answered", _("Answered")
    ENDED = "ended", _("Ended")
    CANCELLED = "cancelled", _("Cancelled")


class DialAttempt(models.Model):
    """One dial of one contact: the decision (``allowed_because``: every check it passed), the
    command to the switch and what became of it. Never deleted."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="attempts"
    )
    contact = models.ForeignKey(
        CampaignContact, verbose_name=_("contact"), on_delete=models.PROTECT, related_name="dial_attempts"
    )
    phone = models.CharField(_("phone"), max_length=20)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    mode = models.CharField(_("dialing mode"), max_length=12, choices=DialMode.choices)
    allowed_because = models.JSONField(_("allowed because"), default=dict)
    command_id = models.CharField(_("command id"), max_length=64, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=AttemptStatus.choices, default=AttemptStatus.SENT)
    sends = models.PositiveSmallIntegerField(_("times sent"), default=0)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    # The switch's own call id once it answers; the Call row it builds (CTI events) carries it too.
    call_id = models.CharField(_("call id"), max_length=128, blank=True)
    cause = models.CharField(_("end cause"), max_length=16, choices=Outcome.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    callback_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    decided_at = models.DateTimeField(_("decided at"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        ordering = ["-decided_at", "-pk"]
        verbose_name = _("dial attempt")
        verbose_name_plural = _("dial attempts")
        indexes = [
            models.Index(fields=["phone", "decided_at"], name="calls_attempt_phone_idx"),
            models.Index(fields=["campaign", "decided_at"], name="calls_attempt_campaign_idx"),
            models.Index(
                fields=["last_sent_at"],
                name="calls_attempt_unacked_idx",
                condition=Q(status="sent"),
            ),
        ]
        constraints = [
            # One live dial per agent: progressive pacing never gives an agent two calls.
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(status__in=["sent", "acknowledged", "dialing", "ringing", "answered"]),
                name="calls_attempt_one_live_per_agent",
            ),
            # One live dial per contact.
            models.UniqueConstraint(
                fields=["contact"],
                condition=Q(status__in=["sent", "acknowledged", "dialing", "ringing", "answered"]),
                name="calls_attempt_one_live_per_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.command_id} {self.phone} {self.status}"


class ImportJob(models.Model):
    """A list being imported (CSV or XLSX, streamed) or built from a customer segment: progress
    and what was refused, row by row."""

    class Status(models.TextChoices):
        RUNNING = "running", pgettext_lazy("list import", "Running")
        DONE = "done", pgettext_lazy("list import", "Done")
        FAILED = "failed", pgettext_lazy("list import", "Failed")

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="imports")
    source = models.CharField(_("source"), max_length=10, choices=ContactSource.choices)
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    # The uploaded file while the task reads it (under OUTBOUND_IMPORT_DIR), removed when done.
    stored_path = models.CharField(_("stored file"), max_length=300, blank=True, editable=False)
    # A segment's criteria, as the team lead chose them.
    params = models.JSONField(_("criteria"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_added = models.PositiveIntegerField(_("added"), default=0)
    rows_duplicate = models.PositiveIntegerField(_("duplicates"), default=0)
    rows_invalid = models.PositiveIntegerField(_("invalid"), default=0)
    rows_dnc = models.PositiveIntegerField(_("on the do-not-call list"), default=0)
    problems = models.JSONField(_("problems"), default=list, blank=True)  # first N [{"row", "code", "value"}]
    error = models.CharField(_("error"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("list import")
        verbose_name_plural = _("list imports")

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.file_name or self.source} {self.status}"
