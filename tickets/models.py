"""Contacts and work orders (DESIGN.md §3 ``tickets/``), their history, and the working-day calendar.

A ``Ticket`` is the record of one consultation, complaint or suggestion. When the center cannot
settle it on the phone it becomes a work order: dispatched to a unit (branch or head-office
department), replied to by that unit, called back and closed. Flows live in ``services.py``; the
allowed state changes in ``TRANSITIONS`` below.

Unit scoping (docs/architecture.md): every model here reads through ``visible_to(user)``; a ticket
belongs to the unit it is dispatched to, its child rows to that ticket's unit.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from audit.models import AppendOnlyModel, AppendOnlyQuerySet
from core.api.telephony import ani_digits
from org.scoping import UnitScopedQuerySet


class ContactKind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    COMPLAINT = "complaint", _("Complaint")
    SUGGESTION = "suggestion", _("Suggestion")


class Category(models.TextChoices):
    ATM_MISPOST = "atm_mispost", _("ATM mis-posting adjustment")
    REFUND_POSTING = "refund_posting", _("Refund posting")
    POS_PRIZE = "pos_prize", _("POS prize credit")
    SERVICE_ATTITUDE = "service_attitude", _("Service attitude")
    FEES = "fees", _("Fees")
    OTHER = "other", _("Other")


# Categories that carry money: the unit may confirm an amount owed to the customer, and the work
# order is not closed until it is posted (调账) or waived (``tickets.policy.money_owed``).
ADJUSTMENT_CATEGORIES = frozenset({Category.ATM_MISPOST, Category.REFUND_POSTING, Category.POS_PRIZE})


class State(models.TextChoices):
    # A context: "Closed", "New"... also name other things (a closed account is 销户, not 办结).
    NEW = "new", pgettext_lazy("work order state", "New")
    DISPATCHED = "dispatched", pgettext_lazy("work order state", "Dispatched")
    IN_PROGRESS = "in_progress", pgettext_lazy("work order state", "In progress")
    REPLIED = "replied", pgettext_lazy("work order state", "Replied")
    RETURNED = "returned", pgettext_lazy("work order state", "Returned for rework")
    CALLBACK_PENDING = "callback_pending", pgettext_lazy("work order state", "Awaiting callback")
    # The customer was called back (satisfied) but the money the unit confirmed is not posted yet.
    AWAITING_ADJUSTMENT = "awaiting_adjustment", pgettext_lazy("work order state", "Awaiting adjustment")
    CLOSED = "closed", pgettext_lazy("work order state", "Closed")
    WITHDRAWN = "withdrawn", pgettext_lazy("work order state", "Withdrawn")


# The unit owes work: the deadline runs, reminders and escalations apply.
WORKING_STATES = frozenset({State.DISPATCHED, State.IN_PROGRESS, State.RETURNED})
# Dispatched and not yet finished (what a unit's inbox shows).
OPEN_STATES = frozenset({*WORKING_STATES, State.REPLIED, State.CALLBACK_PENDING, State.AWAITING_ADJUSTMENT})
TERMINAL_STATES = frozenset({State.CLOSED, State.WITHDRAWN})

# action → {from state: to state}. Anything else is refused with ``invalid_transition``.
TRANSITIONS: dict[str, dict[str, str]] = {
    "dispatch": {
        State.NEW: State.DISPATCHED,
        # re-dispatch to another unit (wrong unit, or the unit replied it cannot resolve)
        State.DISPATCHED: State.DISPATCHED,
        State.IN_PROGRESS: State.DISPATCHED,
        State.RETURNED: State.DISPATCHED,
        State.REPLIED: State.DISPATCHED,
    },
    "accept": {State.DISPATCHED: State.IN_PROGRESS, State.RETURNED: State.IN_PROGRESS},
    "reply": {State.DISPATCHED: State.REPLIED, State.IN_PROGRESS: State.REPLIED, State.RETURNED: State.REPLIED},
    "review_accept": {State.REPLIED: State.CALLBACK_PENDING},
    "return": {State.REPLIED: State.RETURNED, State.CALLBACK_PENDING: State.RETURNED},
    "callback_satisfied": {State.REPLIED: State.CLOSED, State.CALLBACK_PENDING: State.CLOSED},
    # A satisfied callback while money is still owed: the work order waits for the posting.
    "callback_satisfied_owed": {
        State.REPLIED: State.AWAITING_ADJUSTMENT,
        State.CALLBACK_PENDING: State.AWAITING_ADJUSTMENT,
    },
    "callback_not_satisfied": {State.REPLIED: State.RETURNED, State.CALLBACK_PENDING: State.RETURNED},
    # Awaiting its adjustment, a work order closes only by the posting or the waiver (services).
    "close": {State.NEW: State.CLOSED, State.REPLIED: State.CLOSED, State.CALLBACK_PENDING: State.CLOSED},
    "withdraw": dict.fromkeys((State.NEW, *(OPEN_STATES - {State.AWAITING_ADJUSTMENT})), State.WITHDRAWN),
    "merge": dict.fromkeys((State.NEW, *(OPEN_STATES - {State.AWAITING_ADJUSTMENT})), State.WITHDRAWN),
}
# Actions that do not change the state, and the states they are allowed in.
STATE_GUARDS: dict[str, frozenset[str]] = {
    "pause": WORKING_STATES,
    "resume": WORKING_STATES,
    "extend": WORKING_STATES,
    "attach": frozenset({State.NEW, *OPEN_STATES}),
    # Posting, approving and waiving the money the unit confirmed: never once the order is closed.
    "adjust": frozenset({State.REPLIED, State.CALLBACK_PENDING, State.AWAITING_ADJUSTMENT}),
    "chase": WORKING_STATES,
}


class TicketQuerySet(UnitScopedQuerySet):
    if TYPE_CHECKING:  # the scoping queryset's filter keeps the work-order methods

        def visible_to(self, user: Any) -> TicketQuerySet: ...

    def working(self) -> TicketQuerySet:
        return self.filter(state__in=sorted(WORKING_STATES))

    def open(self) -> TicketQuerySet:
        return self.filter(state__in=sorted(OPEN_STATES))

    def overdue(self, now: datetime | None = None) -> TicketQuerySet:
        return self.working().filter(due_at__lt=now or timezone.now(), paused_at__isnull=True)


class Ticket(models.Model):
    """A contact record (consultation / complaint / suggestion) and, once dispatched, a work order."""

    kind = models.CharField(_("kind"), max_length=16, choices=ContactKind.choices)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    description = models.TextField(_("description"))
    customer = models.ForeignKey(
        "banking.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    account = models.ForeignKey(
        "banking.Account",
        verbose_name=_("account concerned"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    # The call the contact came in on; recordings are found by it (``GET /api/recordings/?call_id=``).
    call_id = models.CharField(_("call"), max_length=128, blank=True, db_index=True)
    # The caller's number (ANI) as the call had it: who to call back or text when no customer is linked.
    caller_number = models.CharField(_("caller number"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, null=True, related_name="+"
    )

    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.NEW)
    unit = models.ForeignKey(
        "org.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    first_dispatched_at = models.DateTimeField(_("first dispatched"), null=True, blank=True)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dispatched by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    original_due_at = models.DateTimeField(_("original due time"), null=True, blank=True)
    due_estimated = models.BooleanField(
        _("due time estimated"),
        default=False,
        help_text=_("The calendar has no data for a year involved: Monday–Friday was assumed."),
    )
    extension_days = models.JSONField(_("approved extensions (days)"), default=list, blank=True)
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_days = models.PositiveIntegerField(_("paused days"), default=0)
    chased_at = models.DateTimeField(_("last chased"), null=True, blank=True)

    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("replied by"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    reply_result = models.TextField(_("result"), blank=True)
    reply_resolved = models.BooleanField(_("resolved"), null=True, blank=True)
    replied_on_time = models.BooleanField(_("replied on time"), null=True, blank=True)
    reply_count = models.PositiveSmallIntegerField(_("replies"), default=0)
    adjustment_confirmed_fen = models.BigIntegerField(
        _("adjustment confirmed by the unit (fen)"), null=True, blank=True
    )
    # The analyst or director decided the confirmed amount is not to be posted (with a reason).
    adjustment_waived_at = models.DateTimeField(_("adjustment waived"), null=True, blank=True)
    adjustment_waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("adjustment waived by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    adjustment_waiver_reason = models.TextField(_("reason the adjustment was waived"), blank=True)

    satisfied = models.BooleanField(_("satisfied"), null=True, blank=True)
    satisfaction_note = models.TextField(_("satisfaction note"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TicketQuerySet.as_manager()
    unit_scope_path = "unit"

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        indexes = [
            # Branch inbox: WHERE unit = ? AND state IN (...) ORDER BY due_at.
            # paused_at is carried in the index so the inbox counters are index-only scans.
            models.Index(fields=["unit", "state", "due_at"], include=["paused_at"], name="tickets_unit_state_due_idx"),
            # Open-work-order counters, and lists of one state by due time.
            models.Index(fields=["state", "due_at"], include=["paused_at"], name="tickets_state_due_idx"),
            # Overdue chase and escalation sweep: the few work orders with a unit whose clock runs.
            models.Index(
                fields=["due_at"],
                condition=Q(state__in=sorted(WORKING_STATES), paused_at__isnull=True),
                name="tickets_running_due_idx",
            ),
            # The analyst's list, newest first.
            models.Index(fields=["-received_at", "-id"], name="tickets_received_idx"),
            models.Index(fields=["customer", "-received_at"], name="tickets_customer_idx"),
            models.Index(fields=["first_dispatched_at"], name="tickets_dispatched_idx"),
            models.Index(fields=["closed_at"], name="tickets_closed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state__in=sorted(OPEN_STATES)) | (Q(unit__isnull=False) & Q(due_at__isnull=False)),
                name="tickets_open_has_unit_and_due",
            ),
            models.CheckConstraint(condition=Q(received_at__lte=models.F("created_at")), name="tickets_received_past"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_category_display()}"

    @property
    def number(self) -> str:
        return f"{self.pk:06d}" if self.pk else ""

    @property
    def contact_phone(self) -> str:
        """Who to call back or text: the linked customer's mobile, else the caller's number."""
        if self.customer is not None and self.customer.mobile:
            return self.customer.mobile
        return ani_digits(self.caller_number)

    def is_overdue(self, now=None) -> bool:
        return (
            self.state in WORKING_STATES
            and self.paused_at is None
            and self.due_at is not None
            and self.due_at < (now or timezone.now())
        )


# django-stubs types each queryset's as_manager() as its own generated manager class, which the
# base's cannot accept: the ignores below are that stub gap, not a real mismatch.
class TicketEventQuerySet(UnitScopedQuerySet, AppendOnlyQuerySet):  # type: ignore[override]
    pass


class TicketEvent(AppendOnlyModel):
    """One change of a ticket: who, when, what, and the fields before and after. Never changed."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept as text so the history reads the same after a user is renamed.
    actor_username = models.CharField(_("actor username"), max_length=150, blank=True)
    actor_role = models.CharField(_("actor role"), max_length=20, blank=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = TicketEventQuerySet.as_manager()  # type: ignore[misc, assignment]  # stub gap, see the queryset
    unit_scope_path = "ticket__unit"

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("work-order event")
        verbose_name_plural = _("work-order events")
        indexes = [models.Index(fields=["ticket", "created_at"], name="tickets_event_ticket_idx")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.action} {self.created_at:%Y-%m-%d %H:%M}"


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class TicketExtension(models.Model):
    """A request for more time: stage 1 extends to at most 30 days after receipt, stage 2 (head-office
    approval) by at most 30 more. The customer is told when one is approved."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="extensions"
    )
    stage = models.PositiveSmallIntegerField(_("stage"))
    days = models.PositiveSmallIntegerField(_("days"))
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=ExtensionStatus.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    due_before = models.DateTimeField(_("due before"), null=True, blank=True)
    due_after = models.DateTimeField(_("due after"), null=True, blank=True)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "ticket__unit"

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "stage"], condition=~Q(status="rejected"), name="tickets_extension_one_per_stage"
            ),
            models.CheckConstraint(condition=Q(stage__in=[1, 2]), name="tickets_extension_stage"),
            models.CheckConstraint(condition=Q(days__gte=1), name="tickets_extension_days_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} +{self.days}d ({self.status})"


class TicketPause(models.Model):
    """Time waiting for an outside appraisal: not counted; resuming moves the deadline."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="pauses")
    reason = models.TextField(_("reason"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("paused by"), on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resumed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    days_counted = models.PositiveIntegerField(_("days not counted"), null=True, blank=True)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "ticket__unit"

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(ended_at__isnull=True), name="tickets_one_running_pause"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.started_at:%Y-%m-%d}"


class AttachmentStorage(FileSystemStorage):
    """Outside MEDIA_ROOT and without a URL: attachments are only ever served by the scoped view.
    The location is read from settings on every use (tests point it at a temporary directory)."""

    def __init__(self) -> None:
        super().__init__(base_url=None)

    @property
    def base_location(self) -> str:
        return str(settings.TICKETS_ATTACHMENT_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


def attachment_storage() -> FileSystemStorage:
    return AttachmentStorage()


class TicketAttachment(models.Model):
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.FileField(_("file"), storage=attachment_storage, upload_to="%Y/%m/", max_length=255)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "ticket__unit"

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name


class TicketCallbackStatus(models.TextChoices):
    """Of a ``TicketCallback`` (calling the customer back about a work order), not of the agents'
    callbacks (``agents.models.CallbackStatus``)."""

    OPEN = "open", _("To call")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class TicketCallback(models.Model):
    """The agents' task of calling the customer back after a unit's reply (回访)."""

    ticket = models.ForeignKey(Ticket, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="callbacks")
    status = models.CharField(
        _("status"), max_length=10, choices=TicketCallbackStatus.choices, default=TicketCallbackStatus.OPEN
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("called back by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    satisfied = models.BooleanField(_("satisfied"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "ticket__unit"

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        constraints = [
            models.UniqueConstraint(fields=["ticket"], condition=Q(status="open"), name="tickets_one_open_callback"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="tickets_callback_status_idx")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.status}"


class EscalationKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder before due")
    OVERDUE_HEAD = "overdue_head", _("Overdue: head of unit")
    OVERDUE_DIRECTOR = "overdue_director", _("Overdue: director")


class TicketEscalation(models.Model):
    """A reminder or escalation sent for one deadline. Unique per (ticket, kind, due time): a breach
    is escalated once; a new deadline (extension, pause) is a new breach."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="escalations"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EscalationKind.choices)
    due_at = models.DateTimeField(_("due"))
    recipients = models.JSONField(_("recipients"), default=list, blank=True)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "ticket__unit"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "due_at"], name="tickets_escalation_once_per_breach"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.kind} {self.due_at:%Y-%m-%d}"


class AdjustmentStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Waiting for the director's approval")
    POSTED = "posted", _("Posted")
    REJECTED = "rejected", _("Rejected by the director")


class TicketAdjustment(models.Model):
    """The one posting (调账) made from a work order; the ledger transaction carries the same key.

    An amount above ``TICKETS_ADJUSTMENT_APPROVAL_FEN`` waits here for the director
    (``pending_approval``); rejected, the analyst may ask again (the row is reused, the history
    keeps every step)."""

    ticket = models.OneToOneField(
        Ticket, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="adjustment"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=AdjustmentStatus.choices, default=AdjustmentStatus.POSTED
    )
    account = models.ForeignKey(
        "banking.Account", verbose_name=_("account"), on_delete=models.PROTECT, related_name="+"
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    transaction = models.OneToOneField(
        "banking.LedgerTransaction",
        verbose_name=_("ledger transaction"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "ticket__unit"

    class Meta:
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="tickets_adjustment_positive"),
            # Posted means a ledger transaction exists; nothing else has one.
            models.CheckConstraint(
                condition=(Q(status="posted") & Q(transaction__isnull=False) & Q(posted_at__isnull=False))
                | (~Q(status="posted") & Q(transaction__isnull=True)),
                name="tickets_adjustment_posted_has_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.amount_fen}"

    @property
    def is_posted(self) -> bool:
        return self.status == AdjustmentStatus.POSTED


# --- the working-day calendar --------------------------------------------------------------------


class CalendarSource(models.TextChoices):
    PACKAGE = "package", _("chinese-calendar package")
    MAINTAINER = "maintainer", _("System maintainer")


class CalendarYear(models.Model):
    """A year whose holidays and make-up working days are known. Years without a complete row are
    counted Monday–Friday and the deadlines they touch are flagged as estimated."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    complete = models.BooleanField(
        _("complete"), default=False, help_text=_("Deadlines use this year's days only once it is complete.")
    )
    source = models.CharField(_("source"), max_length=12, choices=CalendarSource.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """An exception to Monday–Friday: a public holiday (rest day) or a make-up working day (调休)."""

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=60, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=CalendarSource.choices)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date} {'working' if self.is_working_day else 'rest'}"
