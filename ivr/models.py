"""IVR: the menu as versioned data, announcements, and the persisted state of every call.

A menu version is a tree of nodes (``MenuNode``) with keypad options (``MenuOption``) and the
prompt texts it says (``Prompt``). Only drafts are edited; publishing freezes a version, and a
call keeps the version it started on until it ends (``IvrCall.version``).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audit.models import AppendOnlyModel


class MenuVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    number = models.PositiveIntegerField(_("version"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    note = models.CharField(_("note"), max_length=200, blank=True)
    root_key = models.SlugField(_("first menu"), max_length=40, default="main")
    based_on = models.ForeignKey(
        "self", verbose_name=_("based on"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Bumped by every edit of a draft. ``edit_token`` changes with it and is what the engine's
    # in-process cache of compiled menus keys on (ids can be reused after a discarded draft).
    revision = models.PositiveIntegerField(_("revision"), default=1)
    edit_token = models.UUIDField(_("edit token"), default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-number"]
        verbose_name = _("menu version")
        verbose_name_plural = _("menu versions")
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="published"), name="ivr_one_published_menu_version"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.number} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class MenuNode(models.Model):
    """One step of the call flow. ``kind`` names the built-in action the engine runs."""

    class Kind(models.TextChoices):
        MENU = "menu", _("Menu (press a key)")
        INFO = "info", _("Information text")
        AUTH = "auth", _("Log in (number and phone-banking password)")
        BALANCE = "balance", _("Balance")
        TODAY_TRANSACTIONS = "today_transactions", _("Today's transactions")
        RECENT_TRANSACTIONS = "recent_transactions", _("Recent transactions")
        TRANSFER = "transfer", _("Transfer")
        LOSS_REPORT = "loss_report", _("Verbal loss report")
        AGENT = "agent", _("Transfer to an agent")
        HANGUP = "hangup", _("Goodbye and hang up")

    version = models.ForeignKey(MenuVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="nodes")
    key = models.SlugField(_("key"), max_length=40)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=100, blank=True)
    # The key of the prompt this node says first (menus, information, agent, goodbye).
    prompt_key = models.SlugField(_("prompt"), max_length=40, blank=True)
    # Information nodes: the text said (prompt ``info``), editable by the maintainer.
    text = models.TextField(_("text"), blank=True)
    next_key = models.SlugField(_("next node"), max_length=40, blank=True)
    queue = models.SlugField(_("queue"), max_length=40, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["version", "position", "key"]
        verbose_name = _("menu node")
        verbose_name_plural = _("menu nodes")
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="ivr_node_key_unique_per_version")]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_kind_display()})"


class MenuOption(models.Model):
    """A key the caller may press in a menu node, and where it leads."""

    node = models.ForeignKey(MenuNode, verbose_name=_("node"), on_delete=models.CASCADE, related_name="options")
    digit = models.CharField(_("key"), max_length=1)
    target_key = models.SlugField(_("target node"), max_length=40)

    class Meta:
        ordering = ["node", "digit"]
        verbose_name = _("menu option")
        verbose_name_plural = _("menu options")
        constraints = [models.UniqueConstraint(fields=["node", "digit"], name="ivr_option_digit_unique_per_node")]

    def __str__(self) -> str:
        return f"{self.digit} → {self.target_key}"


class Prompt(models.Model):
    """What the IVR says for a prompt key, in Mandarin; ``{placeholders}`` take call data."""

    version = models.ForeignKey(
        MenuVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="prompts"
    )
    key = models.SlugField(_("key"), max_length=40)
    text = models.TextField(_("text"))

    class Meta:
        ordering = ["version", "key"]
        verbose_name = _("prompt")
        verbose_name_plural = _("prompts")
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="ivr_prompt_key_unique_per_version")]

    def __str__(self) -> str:
        return self.key


class Announcement(models.Model):
    """A promotional or notice insert said in a time window (wealth products, card upgrades)."""

    class Position(models.TextChoices):
        AFTER_WELCOME = "after_welcome", _("After the welcome")
        WHILE_WAITING = "while_waiting", _("While waiting for an agent")

    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"))
    position = models.CharField(_("position"), max_length=16, choices=Position.choices, default=Position.AFTER_WELCOME)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    enabled = models.BooleanField(_("enabled"), default=True)
    priority = models.PositiveSmallIntegerField(_("order"), default=10)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["position", "priority", "starts_at", "pk"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="ivr_announcement_window")
        ]

    def __str__(self) -> str:
        return self.title


class IvrCall(models.Model):
    """The state of one call in the IVR, persisted after every event (a call survives a restart)."""

    class Outcome(models.TextChoices):
        IN_PROGRESS = "", _("In progress")
        HANGUP = "hangup", _("Caller hung up")
        GOODBYE = "goodbye", _("Ended by the IVR")
        AGENT = "agent", _("Transferred to an agent")

    # As the switch names the call and sends the caller (core.api.telephony): the ANI
    # may be a tel: or sip: URI, kept as sent.
    call_id = models.CharField(_("call id"), max_length=128)
    ani = models.CharField(_("caller number"), max_length=255, blank=True)
    dnis = models.CharField(_("called number"), max_length=255, blank=True)
    version = models.ForeignKey(MenuVersion, verbose_name=_("menu version"), on_delete=models.PROTECT, related_name="+")
    # Not indexed (nothing looks calls up by node or queue): an update that changes no indexed
    # column can stay on its page (a HOT update), and every step updates the call.
    node = models.SlugField(_("node"), max_length=40, blank=True, db_index=False)
    # Sub-step inside a node ("number", "password", "target", "amount", "confirm").
    step = models.CharField(_("step"), max_length=16, blank=True)
    # Working values of the flow (account ids, amounts, failure counters); never a password.
    data = models.JSONField(_("data"), default=dict, blank=True)
    path = models.JSONField(_("path"), default=list, blank=True)
    verified = models.BooleanField(_("verified"), default=False)
    account_id = models.BigIntegerField(_("authenticated account"), null=True, blank=True)
    # The account whose phone-banking password is being asked (set by its number, cleared when
    # the login ends either way): the password step reads it, and its registration, with the call.
    login_account_id = models.BigIntegerField(_("account logging in"), null=True, blank=True)
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    auth_failures = models.PositiveSmallIntegerField(_("authentication failures"), default=0)
    locked_out = models.BooleanField(_("locked out"), default=False)
    last_seq = models.PositiveIntegerField(_("last event"), default=0)
    ended = models.BooleanField(_("ended"), default=False)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True, default="")
    queue = models.SlugField(_("queue"), max_length=40, blank=True, db_index=False)
    is_test = models.BooleanField(_("test call"), default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), auto_now_add=True, db_index=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("IVR call")
        verbose_name_plural = _("IVR calls")
        # A constraint rather than ``unique=True``: the same unique index without the second,
        # pattern-matching one PostgreSQL would get for a unique CharField.
        constraints = [models.UniqueConstraint(fields=["call_id"], name="ivr_call_id_unique")]

    def __str__(self) -> str:
        return self.call_id


class IvrEvent(AppendOnlyModel):
    """Each event of a call and the response given, so a retried ``seq`` gets the same answer.

    ``seq`` 0 is the call's start. Digits typed at a password prompt are stored as
    ``REDACTED`` only.
    """

    REDACTED = "[redacted]"

    class Type(models.TextChoices):
        START = "start", _("Start")
        DIGITS = "digits", _("Digits")
        TIMEOUT = "timeout", _("Timeout")
        HANGUP = "hangup", _("Hang-up")

    # Indexed by the unique (call, seq) constraint, which starts with it; the node is not looked up.
    call = models.ForeignKey(
        IvrCall, verbose_name=_("call"), on_delete=models.PROTECT, related_name="events", db_index=False
    )
    seq = models.PositiveIntegerField(_("sequence"))
    type = models.CharField(_("type"), max_length=8, choices=Type.choices)
    digits = models.CharField(_("digits"), max_length=32, blank=True)
    node = models.SlugField(_("node"), max_length=40, blank=True, db_index=False)
    step = models.CharField(_("step"), max_length=16, blank=True)
    response = models.JSONField(_("response"), default=dict)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["call", "seq"]
        verbose_name = _("IVR event")
        verbose_name_plural = _("IVR events")
        constraints = [models.UniqueConstraint(fields=["call", "seq"], name="ivr_event_seq_unique_per_call")]

    def __str__(self) -> str:
        return f"{self.call_id}#{self.seq} {self.type}"
