"""The SMS outbox: a row written in the same database transaction as the event it reports, so a
committed posting always has its notice and a rolled-back one never does. Delivery
(``notifications.delivery``: Celery, gateways, retries) moves a row ``pending → sending → sent →
delivered / failed``; every move is an append-only ``SmsEvent``.

The columns delivery added have database defaults: the PostgreSQL twin of ``sms_enqueue``
(``notifications_sms_enqueue``, called by the transfer function) inserts only the original ones."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import AppendOnlyModel


class SmsOutbox(models.Model):
    class Kind(models.TextChoices):
        TRANSACTION_NOTICE = "transaction_notice", _("Transaction notice")
        LOSS_REPORT = "loss_report", _("Loss report")
        SERVICE = "service", _("Service message")
        # Work-order reminders and escalations to staff (the mobile in their profile).
        STAFF_NOTICE = "staff_notice", _("Staff notice")
        # Promotion of products: the only kind under quiet hours and marketing rate limits.
        MARKETING = "marketing", _("Marketing")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")  # the dead-letter list: requeue or cancel
        CANCELLED = "cancelled", _("Cancelled")

    phone = models.CharField(_("phone"), max_length=20)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    text = models.CharField(_("text"), max_length=500)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Delivery: the earliest next try, the claim of the worker sending it now, what the gateway said.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claim = models.CharField(_("claim"), max_length=36, blank=True, db_default="", default="")
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    gateway = models.CharField(_("gateway"), max_length=20, blank=True, db_default="", default="")
    gateway_id = models.CharField(_("gateway message id"), max_length=100, blank=True, db_default="", default="")
    segments = models.PositiveSmallIntegerField(_("segments"), db_default=0, default=0)
    last_error = models.CharField(_("last error"), max_length=200, blank=True, db_default="", default="")
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # A plain id, not a foreign key: notifications must not depend on the ledger's tables (nor
    # take a lock on a posting row).
    related_posting_id = models.BigIntegerField(_("related posting"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS outbox")
        indexes = [
            models.Index(fields=["phone", "created_at"], name="sms_phone_idx"),
            models.Index(fields=["status", "created_at"], name="sms_status_idx"),
            models.Index(fields=["gateway", "gateway_id"], name="sms_gateway_id_idx"),
            models.Index(fields=["created_at"], name="sms_created_idx"),  # the maintainer's list
            # What a task's fill and the sweep read, oldest first: the due notices without walking a
            # backlog of marketing waiting for the end of the quiet hours, and that backlog apart.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending") & ~models.Q(kind="marketing"),
                name="sms_pending_notice_idx",
            ),
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending", kind="marketing"),
                name="sms_pending_marketing_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone} {self.kind} {self.status}"


class SmsEvent(AppendOnlyModel):
    """One move of an outbox row (claimed, sent, delivered, retried, failed, requeued, cancelled),
    never edited: the message's history on the maintainer's page."""

    message = models.ForeignKey(SmsOutbox, verbose_name=_("message"), on_delete=models.PROTECT, related_name="events")
    status = models.CharField(_("status"), max_length=10, choices=SmsOutbox.Status.choices)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=0)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("SMS event")
        verbose_name_plural = _("SMS events")
        indexes = [
            models.Index(fields=["message", "at"], name="sms_event_message_idx"),
            models.Index(fields=["at"], name="sms_event_at_idx"),  # the gateway's errors of the last hour
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status}"


class SmsTemplate(models.Model):
    """The maintainer's text for one registered message (``notifications.texts``): overrides only —
    a message without a row is sent with its default. Read by ``texts.current_text`` and, inside
    PostgreSQL, by ``notifications_sms_render``."""

    key = models.CharField(_("template"), max_length=100, unique=True)
    text = models.CharField(_("text"), max_length=1000)
    updated_at = models.DateTimeField(_("edited at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("edited by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["key"]
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")

    def __str__(self) -> str:
        return self.key


class SmsTemplateVersion(AppendOnlyModel):
    """One edit or reset of a message's text, never changed: the template's history. ``text`` is
    the text in force after it (the default's text after a reset)."""

    class Note(models.TextChoices):
        EDITED = "edited", _("Edited")
        RESET = "reset", _("Reset to default")

    key = models.CharField(_("template"), max_length=100)
    text = models.CharField(_("text"), max_length=1000)
    note = models.CharField(_("note"), max_length=10, choices=Note.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("SMS template version")
        verbose_name_plural = _("SMS template versions")
        indexes = [models.Index(fields=["key", "at"], name="sms_template_version_idx")]

    def __str__(self) -> str:
        return f"{self.key} {self.note}"
