"""Risk monitoring's records: the evaluators' watermarks, what the IVR feed showed (login
numbers tried, balance queries), alerts with their evidence, and each alert's append-only log
(comments and every state change).

The rules never run in a request: a beat task scans banking's append-only tables and the IVR's
feed past each source's watermark (``services.risk_evaluate``) and advances the watermark in the
transaction that records the alerts, so every event is evaluated once.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import AppendOnlyModel, AppendOnlyQuerySet


class Watermark(models.Model):
    """How far one source (``account_events``, ``ledger``, ``ivr``) has been evaluated: every
    row with an id up to ``last_id`` was evaluated exactly once. Locked by the evaluator."""

    source = models.CharField(_("source"), max_length=32, primary_key=True)
    last_id = models.BigIntegerField(_("last evaluated id"), default=0)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("risk watermark")
        verbose_name_plural = _("risk watermarks")

    def __str__(self) -> str:
        return f"{self.source} ≤ {self.last_id}"


class IvrObservation(AppendOnlyModel):
    """One IVR event that matters to the rules, as the IVR's feed gave it: a number entered at a
    login (or a loss report), or a balance heard. Numbers and caller numbers are kept as keyed
    digests (to count distinct ones) and masked (to show)."""

    class Kind(models.TextChoices):
        NUMBER_ENTERED = "number_entered", _("Number entered")
        BALANCE_QUERY = "balance_query", _("Balance query")

    source_id = models.BigIntegerField(_("IVR event"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("time"))
    call_id = models.CharField(_("call"), max_length=128, blank=True)
    ani_key = models.CharField(_("caller number digest"), max_length=64, blank=True)
    ani_masked = models.CharField(_("caller number"), max_length=40, blank=True)
    number_key = models.CharField(_("number digest"), max_length=64, blank=True)
    number_masked = models.CharField(_("number"), max_length=40, blank=True)
    account = models.ForeignKey(
        "banking.Account", verbose_name=_("account"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    customer = models.ForeignKey(
        "banking.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = AppendOnlyQuerySet.as_manager()  # type: ignore[misc]  # same manager as the base

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("IVR observation")
        verbose_name_plural = _("IVR observations")
        indexes = [
            models.Index(fields=["kind", "ani_key", "at"], name="risk_obs_ani_idx"),
            models.Index(fields=["kind", "account", "at"], name="risk_obs_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.call_id}"


class Alert(models.Model):
    """A pattern a rule (or an agent) flagged. One open alert per pattern (``dedupe_key``): the
    same pattern seen again while it is open adds evidence to it instead of a second alert."""

    class Rule(models.TextChoices):
        PASSWORD_FAILURES = "password_failures", _("Repeated password failures")
        LOCKOUTS = "lockouts", _("Repeated lockouts")
        TRANSFER_BURST = "transfer_burst", _("Many transfers in a short time")
        TRANSFER_AFTER_CHANGE = "transfer_after_change", _("Transfer soon after a loss report or a registration change")
        IVR_CARD_PROBING = "ivr_card_probing", _("One phone trying many card numbers")
        BALANCE_MANY_PHONES = "balance_many_phones", _("Balance queried from many phones")
        LARGE_TRANSFER = "large_transfer", _("Large transfer")
        BATCH_CONCENTRATION = "batch_concentration", _("Batch credits concentrated on one account")
        AGENT_REPORT = "agent_report", _("Reported by an agent")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ASSIGNED = "assigned", _("Assigned")
        ESCALATED = "escalated", _("Escalated")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        FALSE_POSITIVE = "false_positive", _("False positive")
        REPORTED = "reported_to_department", _("Reported to the department")

    rule = models.CharField(_("rule"), max_length=24, choices=Rule.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    customer = models.ForeignKey(
        "banking.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="risk_alerts",
    )
    account = models.ForeignKey(
        "banking.Account", verbose_name=_("account"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    call_id = models.CharField(_("call"), max_length=128, blank=True)
    dedupe_key = models.CharField(_("pattern"), max_length=160)
    details = models.JSONField(_("details"), default=dict, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when a rule raised it."),
    )
    hits = models.PositiveIntegerField(_("times seen"), default=1)
    created_at = models.DateTimeField(_("raised"), default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("risk alert")
        verbose_name_plural = _("risk alerts")
        indexes = [models.Index(fields=["status", "created_at"], name="risk_alert_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=~Q(status="closed"), name="risk_alert_one_open_per_pattern"
            ),
            models.CheckConstraint(
                condition=Q(status="closed", outcome__in=["false_positive", "reported_to_department"])
                | (~Q(status="closed") & Q(outcome="")),
                name="risk_alert_outcome_when_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule} ({self.status})"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class AlertEvidence(AppendOnlyModel):
    """One event behind an alert: an account event, a ledger transaction, an IVR observation or
    the agent's report, with the call and customer it belongs to."""

    class Source(models.TextChoices):
        ACCOUNT_EVENT = "account_event", _("Account event")
        LEDGER = "ledger", _("Ledger transaction")
        IVR = "ivr", _("IVR")
        AGENT = "agent", _("Agent report")

    alert = models.ForeignKey(Alert, verbose_name=_("alert"), on_delete=models.PROTECT, related_name="evidence")
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    source_id = models.BigIntegerField(_("source id"))
    kind = models.CharField(_("kind"), max_length=32)
    at = models.DateTimeField(_("time"))
    call_id = models.CharField(_("call"), max_length=128, blank=True)
    customer = models.ForeignKey(
        "banking.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    account = models.ForeignKey(
        "banking.Account", verbose_name=_("account"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()  # type: ignore[misc]  # same manager as the base

    class Meta:
        ordering = ["alert", "at", "id"]
        verbose_name = _("alert evidence")
        verbose_name_plural = _("alert evidence")
        constraints = [
            models.UniqueConstraint(fields=["alert", "source", "source_id"], name="risk_evidence_once_per_alert")
        ]

    def __str__(self) -> str:
        return f"{self.source}#{self.source_id}"


class AlertLog(AppendOnlyModel):
    """The alert's history: raised, assigned, commented, escalated, closed (append-only)."""

    class Action(models.TextChoices):
        RAISED = "raised", _("Raised")
        ASSIGNED = "assigned", _("Assigned")
        COMMENTED = "commented", _("Comment")
        ESCALATED = "escalated", _("Escalated")
        CLOSED = "closed", _("Closed")

    alert = models.ForeignKey(Alert, verbose_name=_("alert"), on_delete=models.PROTECT, related_name="log")
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()  # type: ignore[misc]  # same manager as the base

    class Meta:
        ordering = ["alert", "created_at", "id"]
        verbose_name = _("alert history")
        verbose_name_plural = _("alert history")

    def __str__(self) -> str:
        return f"#{self.alert_id} {self.action}"
