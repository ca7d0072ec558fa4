"""Agents: their live state, skills, the append-only state log and callbacks."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audit.models import AppendOnlyModel

# The calls app's models, by name: agents never imports calls (calls depends on agents).
CALL = "calls.Call"
QUEUE = "calls.Queue"


class AgentState(models.TextChoices):
    OFFLINE = "offline", _("Offline")
    READY = "ready", _("Ready")
    NOT_READY = "not_ready", _("Not ready")
    RINGING = "ringing", _("Ringing")
    ON_CALL = "on_call", _("On a call")
    ACW = "acw", _("After-call work")


# What an agent may ask for himself (DESIGN.md §6 ``POST /api/agents/me/state/``).
REQUESTABLE_STATES = (AgentState.READY, AgentState.NOT_READY, AgentState.OFFLINE)


class Reason(models.TextChoices):
    """Why an agent is not ready (reason codes on the state bar and in the state log)."""

    BREAK = "break", _("Short break")
    MEAL = "meal", _("Meal")
    TRAINING = "training", _("Training")
    MEETING = "meeting", _("Meeting")
    COACHING = "coaching", _("Coaching")
    CALLBACKS = "callbacks", _("Making callbacks")
    PAPERWORK = "paperwork", _("Paperwork")
    OTHER = "other", _("Other")
    # Set by the system, not chosen by the agent.
    MISSED_OFFER = "missed_offer", _("Missed a call")
    LOGIN = "login", _("Just logged in")
    SUPERVISOR = "supervisor", _("Set by the team lead")
    # Why an agent went offline without asking: every desktop of theirs was closed
    # (``AGENTS_DISCONNECT_OFFLINE_S``; agents/presence.py).
    DISCONNECTED = "disconnected", _("Desktop disconnected")


SYSTEM_REASONS = (Reason.MISSED_OFFER, Reason.LOGIN, Reason.SUPERVISOR, Reason.DISCONNECTED)
# Reasons an offline state may carry (the others are reasons for not ready).
OFFLINE_REASONS = (Reason.DISCONNECTED,)


class AgentStatus(models.Model):
    """An agent's state right now (one row per agent). Its history is ``AgentStateLog``.

    ``call`` is the call ringing the agent or connected to them: a one-to-one column, so the
    database itself refuses two calls for one agent and one call for two agents.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="agent_status"
    )
    state = models.CharField(_("state"), max_length=10, choices=AgentState.choices, default=AgentState.OFFLINE)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices, blank=True)
    since = models.DateTimeField(_("in this state since"))
    # Longest idle first: when the agent last became ready with nothing to do.
    ready_since = models.DateTimeField(_("idle since"), null=True, blank=True)
    call = models.OneToOneField(
        CALL,
        verbose_name=_("current call"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="holder",
    )
    # The call whose after-call work is pending (state ``acw``).
    acw_call = models.ForeignKey(
        CALL,
        verbose_name=_("call in after-call work"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    shift_started_at = models.DateTimeField(_("shift started"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["user__username"]
        verbose_name = _("agent status")
        verbose_name_plural = _("agent statuses")
        indexes = [models.Index(fields=["state", "ready_since"], name="agents_ready_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(call__isnull=True) | Q(state__in=["ringing", "on_call"]),
                name="agents_call_only_when_ringing_or_on_call",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()}: {self.get_state_display()}"


class AgentSkill(models.Model):
    """An agent serves a queue at a level (1 = basic … 5 = expert)."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="skills"
    )
    queue = models.ForeignKey(QUEUE, verbose_name=_("queue"), on_delete=models.CASCADE, related_name="skills")
    level = models.PositiveSmallIntegerField(_("level"), default=3)

    class Meta:
        ordering = ["agent__username", "queue__position"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        constraints = [
            models.UniqueConstraint(fields=["agent", "queue"], name="agents_one_skill_per_queue"),
            models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=5), name="agents_skill_level_range"),
        ]

    def __str__(self) -> str:
        return f"{self.agent.get_username()} {self.queue.code}:{self.level}"


class AgentStateLog(AppendOnlyModel):
    """Every state change of every agent, never edited (occupancy and adherence read it)."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("state"), max_length=10, choices=AgentState.choices)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices, blank=True)
    previous_state = models.CharField(_("previous state"), max_length=10, choices=AgentState.choices, blank=True)
    started_at = models.DateTimeField(_("from"), db_index=True)
    call_id = models.CharField(_("call"), max_length=128, blank=True)  # a switch call id (≤128)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the system changed the state (a call, a missed offer)."),
    )

    class Meta:
        ordering = ["agent", "started_at", "pk"]
        verbose_name = _("agent state change")
        verbose_name_plural = _("agent state log")
        indexes = [models.Index(fields=["agent", "started_at"], name="agents_log_agent_idx")]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.agent_id} {self.state}"


class CallbackStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Reached")
    FAILED = "failed", _("Not reached")
    CANCELLED = "cancelled", _("Cancelled")


class Callback(models.Model):
    """A promise to call a customer back: a caller who accepted the offer in the queue, or one
    an agent scheduled."""

    call = models.ForeignKey(
        CALL, verbose_name=_("call"), on_delete=models.PROTECT, null=True, blank=True, related_name="callbacks"
    )
    phone = models.CharField(_("phone"), max_length=32)
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    queue = models.ForeignKey(QUEUE, verbose_name=_("queue"), on_delete=models.PROTECT, related_name="callbacks")
    status = models.CharField(_("status"), max_length=10, choices=CallbackStatus.choices, default=CallbackStatus.OPEN)
    due_at = models.DateTimeField(_("due"))
    note = models.TextField(_("note"), blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    outcome_note = models.TextField(_("outcome"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["status", "due_at", "pk"]
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        constraints = [
            # One open callback per call: a repeated acceptance changes nothing.
            models.UniqueConstraint(
                fields=["call"],
                condition=Q(status="open", call__isnull=False),
                name="agents_one_open_callback_per_call",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="agents_callback_due_idx")]

    def __str__(self) -> str:
        return f"{self.phone} {self.get_status_display()}"


# Quality scoring of recorded calls (issue 17 point 8); its models belong to this app too.
from .quality.models import (  # noqa: E402, F401
    Criterion,
    CriterionScore,
    Dispute,
    DisputeStatus,
    Evaluation,
    EvaluationComment,
    EvaluationStatus,
    SampleProposal,
    Scorecard,
    ScorecardVersion,
    Team,
    TeamMember,
)

# Workforce management (issue 18) lives in its own module; its models belong to this app.
from .scheduling.models import (  # noqa: E402, F401
    Leave,
    LeaveKind,
    RequestKind,
    RequestStatus,
    Roster,
    RosterAssignment,
    RosterStatus,
    ShiftPreference,
    ShiftRequest,
    ShiftTemplate,
    WorkRule,
)
