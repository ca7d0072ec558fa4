"""The SMS outbox: a row written in the same database transaction as the event it reports, so a
committed posting always has its notice and a rolled-back one never does. Delivery (gateways,
retries) is a separate concern that reads ``pending`` rows."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SmsOutbox(models.Model):
    class Kind(models.TextChoices):
        TRANSACTION_NOTICE = "transaction_notice", _("Transaction notice")
        LOSS_REPORT = "loss_report", _("Loss report")
        SERVICE = "service", _("Service message")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    phone = models.CharField(_("phone"), max_length=20)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    text = models.CharField(_("text"), max_length=500)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
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
        ]

    def __str__(self) -> str:
        return f"{self.phone} {self.kind} {self.status}"
