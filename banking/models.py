"""The embedded core-banking records: customers, accounts, phone-banking registrations, the
double-entry ledger, verbal loss reports and the account event log.

Money is integer fen everywhere (``BigIntegerField``). The ledger tables and the event log are
append-only: Python refuses updates and deletes (``AppendOnlyModel``) and, on PostgreSQL,
triggers do too, plus a deferred constraint trigger that refuses at commit any transaction whose
postings do not sum to zero (migration ``0002``). Flows live in the ``services`` package.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import AppendOnlyModel, AppendOnlyQuerySet
from org.scoping import UnitScopedQuerySet


class Customer(models.Model):
    """A bank customer. The ID number is kept only as a keyed digest (to find a customer by the
    whole number) and its last 6 characters (the agents' search); the UI shows the last 4."""

    name = models.CharField(_("name"), max_length=100)
    mobile = models.CharField(_("mobile"), max_length=20, db_index=True)
    id_number_digest = models.CharField(_("ID number digest"), max_length=64, db_index=True, editable=False)
    id_last6 = models.CharField(_("ID number, last 6"), max_length=6, db_index=True)
    home_unit = models.ForeignKey(
        "org.Unit", verbose_name=_("home branch"), on_delete=models.PROTECT, related_name="customers"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "home_unit"

    class Meta:
        ordering = ["id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"{self.name} ({self.id_last6[-4:]})"


class Account(models.Model):
    """A passbook or card account, or an internal ledger account (suspense, settlement, opening)
    that stands on the other side of batch credits and openings and may go negative."""

    # Present only on rows fetched by ``banking.locks.lock_accounts`` (the active SMS notice
    # subscription, joined in); annotations only, no columns.
    notice_active: bool
    notice_phone: str | None

    class Kind(models.TextChoices):
        SAVINGS_PASSBOOK = "savings_passbook", _("Current savings passbook")
        SETTLEMENT_PASSBOOK = "settlement_passbook", _("Password-withdrawal settlement passbook")
        DEBIT_CARD = "debit_card", _("Debit card")
        INTERNAL = "internal", _("Internal account")

    class CardRole(models.TextChoices):
        MAIN = "main", _("Main card")
        SUB = "sub", _("Sub card")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        VERBALLY_LOST = "verbally_lost", _("Verbally reported lost")
        FORMALLY_LOST = "formally_lost", _("Formally reported lost")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("number"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    card_role = models.CharField(_("card role"), max_length=4, choices=CardRole.choices, null=True, blank=True)
    main_card = models.ForeignKey(
        "self",
        verbose_name=_("main card"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sub_cards",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
    )
    outlet = models.ForeignKey(
        "org.Outlet",
        verbose_name=_("outlet"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
    )
    unit = models.ForeignKey(
        "org.Unit",
        verbose_name=_("owning branch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        help_text=_("Empty only for internal accounts, which belong to the head office."),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    balance_fen = models.BigIntegerField(_("balance (fen)"), default=0, editable=False)
    withdrawal_password = models.CharField(_("withdrawal password hash"), max_length=128, blank=True, editable=False)
    is_internal = models.BooleanField(_("internal account"), default=False)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "unit"

    class Meta:
        ordering = ["id"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(is_internal=True) | Q(balance_fen__gte=0),
                name="banking_account_no_overdraft",
                violation_error_message=_("A customer account cannot go below zero."),
            ),
            models.CheckConstraint(
                condition=Q(is_internal=True) | (Q(customer__isnull=False) & Q(unit__isnull=False)),
                name="banking_account_customer_and_unit",
                violation_error_message=_("Only internal accounts have no customer or branch."),
            ),
            models.CheckConstraint(
                condition=Q(kind="debit_card", card_role__isnull=False)
                | Q(card_role__isnull=True, main_card__isnull=True),
                name="banking_account_card_role_only_on_cards",
                violation_error_message=_("Only debit cards are main or sub cards."),
            ),
            models.CheckConstraint(
                condition=~Q(card_role="sub") | Q(main_card__isnull=False),
                name="banking_account_sub_card_has_main",
                violation_error_message=_("A sub card names its main card."),
            ),
        ]

    def __str__(self) -> str:
        from .masking import mask_number

        return mask_number(self.number, self.kind)

    @property
    def is_debit_main_card(self) -> bool:
        return self.kind == self.Kind.DEBIT_CARD and self.card_role == self.CardRole.MAIN


class PhoneBankingRegistration(models.Model):
    """A customer's phone-banking registration on one account, with a 6-digit password and a
    failure counter shared by every call and channel."""

    account = models.OneToOneField(
        Account, verbose_name=_("registered account"), on_delete=models.PROTECT, related_name="phone_banking"
    )
    password = models.CharField(_("password hash"), max_length=128, editable=False)
    failed_attempts = models.PositiveSmallIntegerField(_("consecutive failed attempts"), default=0)
    locked = models.BooleanField(_("locked"), default=False)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "account__unit"

    class Meta:
        ordering = ["id"]
        verbose_name = _("phone-banking registration")
        verbose_name_plural = _("phone-banking registrations")

    def __str__(self) -> str:
        return str(self.account)

    @property
    def customer(self) -> Customer | None:
        return self.account.customer


class LinkedAccount(models.Model):
    """An account linked (下挂) under a registration with a 2-digit code (``01``…``99``)."""

    registration = models.ForeignKey(
        PhoneBankingRegistration, verbose_name=_("registration"), on_delete=models.CASCADE, related_name="linked"
    )
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="links")
    code = models.CharField(_("account code"), max_length=2)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["registration", "code"]
        verbose_name = _("linked account")
        verbose_name_plural = _("linked accounts")
        constraints = [
            models.UniqueConstraint(fields=["registration", "code"], name="banking_link_unique_code"),
            models.UniqueConstraint(fields=["registration", "account"], name="banking_link_unique_account"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.account}"


class SmsNoticeSubscription(models.Model):
    """短信通: an SMS for every posting on a debit main card."""

    account = models.OneToOneField(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="sms_notice"
    )
    phone = models.CharField(_("phone"), max_length=20)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("SMS notice subscription")
        verbose_name_plural = _("SMS notice subscriptions")

    def __str__(self) -> str:
        return f"{self.account} → {self.phone}"


class LedgerTransaction(AppendOnlyModel):
    """One balanced money movement; its postings sum to zero. Never changed: a correction is a new
    transaction of kind ``correction``."""

    # Set by the ledger services on the instance they return: True when an idempotent repeat
    # answered with the first transaction (annotation only, no column).
    replayed: bool

    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("Transfer")
        BATCH_CREDIT = "batch_credit", _("Batch credit")
        ADJUSTMENT = "adjustment", _("Adjustment")
        OPENING = "opening", _("Opening deposit")
        CORRECTION = "correction", _("Correction")
        # Card, ATM and counter activity booked by the core system (history, daily journals).
        EXTERNAL = "external", _("Card and counter activity")

    class Channel(models.TextChoices):
        IVR = "ivr", _("IVR")
        AGENT = "agent", _("Agent")
        BATCH = "batch", _("Batch")
        SYSTEM = "system", _("System")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True, null=True, blank=True)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64, blank=True)
    registration = models.ForeignKey(
        PhoneBankingRegistration,
        verbose_name=_("registration"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        help_text=_("Set on phone-banking transfers: the daily limit is counted per registration."),
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"), help_text=_("Sum of the credit postings."))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    call_id = models.CharField(_("call"), max_length=128, blank=True)  # a switch call id (≤128)
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("initiated by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        indexes = [
            models.Index(fields=["registration", "kind", "created_at"], name="banking_txn_daily_idx"),
            models.Index(fields=["created_at"], name="banking_txn_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="banking_txn_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.amount_fen}"


class Posting(AppendOnlyModel):
    """One line of a transaction on one account, with the account's balance right after it."""

    transaction = models.ForeignKey(
        LedgerTransaction, verbose_name=_("transaction"), on_delete=models.PROTECT, related_name="postings"
    )
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="postings")
    amount_fen = models.BigIntegerField(_("amount (fen)"), help_text=_("Positive for a credit, negative for a debit."))
    balance_after_fen = models.BigIntegerField(_("balance after (fen)"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        indexes = [models.Index(fields=["account", "created_at"], name="banking_posting_account_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_fen=0), name="banking_posting_amount_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount_fen:+d}"


class LossReport(models.Model):
    """A verbal loss report (口头挂失): blocks the account at once, valid a few days, after which
    the customer must report formally at an outlet."""

    class Channel(models.TextChoices):
        IVR = "ivr", _("IVR")
        AGENT = "agent", _("Agent")
        COUNTER = "counter", _("Counter")

    class Verification(models.TextChoices):
        ID_DOCUMENT = "id_document", _("ID document")
        PASSWORD = "password", _("Withdrawal password")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        FORMALIZED = "formalized", _("Formalized")

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="loss_reports"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    verification = models.CharField(_("verification"), max_length=16, choices=Verification.choices)
    call_id = models.CharField(_("call"), max_length=128, blank=True)  # a switch call id (≤128)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    valid_until = models.DateTimeField(_("valid until"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = UnitScopedQuerySet.as_manager()
    unit_scope_path = "account__unit"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("verbal loss report")
        verbose_name_plural = _("verbal loss reports")
        indexes = [models.Index(fields=["status", "valid_until"], name="banking_loss_status_idx")]

    def __str__(self) -> str:
        return f"{self.account} {self.status}"


class AccountEvent(AppendOnlyModel):
    """Append-only log of every state change that matters to a customer or an auditor (status,
    lock, failed passwords, loss reports). Details never hold a password or a full number."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        STATUS_CHANGED = "status_changed", _("Status changed")
        REGISTERED = "registered", _("Registered for phone banking")
        LINKED = "linked", _("Account linked")
        PASSWORD_FAILED = "password_failed", _("Wrong password")
        REGISTRATION_LOCKED = "registration_locked", _("Phone banking locked")
        REGISTRATION_UNLOCKED = "registration_unlocked", _("Phone banking unlocked")
        LOSS_REPORTED = "loss_reported", _("Verbal loss reported")
        LOSS_CANCELLED = "loss_cancelled", _("Verbal loss cancelled")
        LOSS_EXPIRED = "loss_expired", _("Verbal loss expired")
        SMS_NOTICE_CHANGED = "sms_notice_changed", _("SMS notice changed")

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=8, blank=True)
    call_id = models.CharField(_("call"), max_length=128, blank=True)  # a switch call id (≤128)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()  # type: ignore[misc]  # same manager as the base; stubs see a redefinition

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("account event")
        verbose_name_plural = _("account events")

    def __str__(self) -> str:
        return f"{self.account} {self.kind}"


class Batch(models.Model):
    """A settlement batch (POS prize credits, ATM mis-posting adjustments, refund postings): one
    uploaded file of ``account,amount,reference`` lines, validated, approved by a second person,
    then posted item by item (``banking.services.batches``). One batch per kind and period, unless
    it is a correction naming the batch it corrects."""

    class Kind(models.TextChoices):
        POS_PRIZE = "pos_prize", _("POS prize credits")
        ATM_ADJUSTMENT = "atm_adjustment", _("ATM mis-posting adjustments")
        REFUND = "refund", _("Refund postings")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        VALIDATED = "validated", _("Validated, awaiting approval")
        APPROVED = "approved", _("Approved")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed to reconcile")
        REJECTED = "rejected", _("Rejected")

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Uploaded")
        DROP_FOLDER = "drop_folder", _("Card department's folder")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    period = models.CharField(_("period"), max_length=10, help_text=_("YYYY-MM, or YYYY-MM-DD for a day's batch."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
    )
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.UPLOAD)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    file_format = models.CharField(_("file format"), max_length=8, blank=True)
    file_encoding = models.CharField(_("file encoding"), max_length=16, blank=True)
    file_digest = models.CharField(_("file SHA-256"), max_length=64, db_index=True)
    items_count = models.PositiveIntegerField(_("items"), default=0)
    control_total_fen = models.BigIntegerField(_("control total (fen)"), default=0)
    valid_count = models.PositiveIntegerField(_("valid items"), default=0)
    valid_total_fen = models.BigIntegerField(_("valid total (fen)"), default=0)
    report = models.JSONField(_("validation summary"), default=dict, blank=True)
    posted_count = models.PositiveIntegerField(_("posted"), default=0)
    posted_total_fen = models.BigIntegerField(_("posted total (fen)"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    failed_total_fen = models.BigIntegerField(_("failed total (fen)"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the monthly job picked the file up from the card department's folder."),
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)
    started_at = models.DateTimeField(_("run started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("run finished"), null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("settlement batch")
        verbose_name_plural = _("settlement batches")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period"],
                condition=Q(corrects__isnull=True) & ~Q(status="rejected"),
                name="banking_batch_one_per_kind_period",
                violation_error_message=_("There is already a batch of this kind for this period."),
            ),
            models.CheckConstraint(
                condition=Q(posted_total_fen__gte=0) & Q(failed_total_fen__gte=0) & Q(control_total_fen__gte=0),
                name="banking_batch_totals_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.period}"


class BatchItem(models.Model):
    """One line of a batch file. ``pending`` until posted once (``transaction`` set, the ledger
    key ``batch-item:<id>``) or ``failed`` with a reason code (at validation or at posting).
    A reference is used once per kind among the items not failed (a correction may reuse the
    reference of a failed item)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        POSTED = "posted", _("Posted")
        FAILED = "failed", _("Failed")

    # No index of their own on batch or account ((batch, line) leads with the batch), and no
    # database foreign-key check on them: items are written only by the validating INSERT ... SELECT
    # of ``banking.services.batches``, which takes the account from a join with the accounts and
    # the batch just created in the same transaction, and neither a batch nor an account is ever
    # deleted (PROTECT in Django; an account with postings is held by the ledger's own foreign
    # keys). The two per-row checks were half the time of a million-line upload. The ledger rows
    # an item points to (``transaction``) keep their foreign key.
    batch = models.ForeignKey(
        Batch,
        verbose_name=_("batch"),
        on_delete=models.PROTECT,
        related_name="items",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Batch.Kind.choices)  # the batch's, for the guard
    line = models.PositiveIntegerField(_("line"))
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    account_masked = models.CharField(_("account (masked)"), max_length=40, blank=True)
    amount_fen = models.BigIntegerField(_("amount (fen)"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=64)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    # One item per ledger transaction: a unique index over the posted ones only (a million pending
    # items would otherwise each put a NULL into it at upload).
    transaction = models.ForeignKey(
        LedgerTransaction,
        verbose_name=_("transaction"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batch_item",
        db_index=False,
    )
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)

    class Meta:
        ordering = ["batch", "line"]
        verbose_name = _("batch item")
        verbose_name_plural = _("batch items")
        # The run claims pending items of a batch in id order.
        indexes = [
            models.Index(fields=["batch", "id"], condition=Q(status="pending"), name="banking_batchitem_claim_idx")
        ]
        constraints = [
            models.UniqueConstraint(fields=["batch", "line"], name="banking_batchitem_unique_line"),
            models.UniqueConstraint(
                fields=["transaction"],
                condition=Q(transaction__isnull=False),
                name="banking_batchitem_one_per_transaction",
            ),
            models.UniqueConstraint(
                fields=["kind", "reference"],
                condition=Q(status__in=["pending", "posted"]),
                name="banking_batchitem_reference_once",
                violation_error_message=_("This reference is already in another batch of this kind."),
            ),
            models.CheckConstraint(
                condition=~Q(status="posted") | (Q(transaction__isnull=False) & Q(amount_fen__gt=0)),
                name="banking_batchitem_posted_has_transaction",
            ),
            models.CheckConstraint(
                condition=~Q(status="pending") | (Q(account__isnull=False) & Q(amount_fen__gt=0)),
                name="banking_batchitem_pending_is_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.line} {self.status}"
