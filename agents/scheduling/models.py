"""Workforce management tables (issue 18): shift templates, agents' work rules, leave and
preferences, rosters with their assignments. Imported by ``agents.models`` (app label agents)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ShiftTemplate(models.Model):
    """A shift the roster may use (configurable: day/night 12 h, three 8 h shifts, …). A shift
    whose end is not after its start ends the next morning."""

    code = models.CharField(_("code"), max_length=8, unique=True)
    name = models.CharField(_("name"), max_length=40)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    paid_minutes = models.PositiveIntegerField(
        _("paid minutes"), null=True, blank=True, help_text=_("Empty: the whole length of the shift.")
    )
    night = models.BooleanField(
        _("night shift"), default=False, help_text=_("Counts as a night (rest and ban rules, fair share).")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["start", "code"]
        verbose_name = _("shift template")
        verbose_name_plural = _("shift templates")

    def __str__(self) -> str:
        return f"{self.code} {self.start:%H:%M}–{self.end:%H:%M}"

    @property
    def minutes(self) -> int:
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        return end - start if end > start else end + 24 * 60 - start


class WorkRule(models.Model):
    """An agent's own limits: a ban on nights (pregnant or nursing staff, PRC Labour Law art.
    61/63) and the weekly hours of their contract."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="wfm_rule"
    )
    no_nights = models.BooleanField(_("no night shifts"), default=False)
    no_nights_reason = models.CharField(
        _("reason"),
        max_length=20,
        blank=True,
        choices=[("pregnant", _("Pregnant")), ("nursing", _("Nursing")), ("other", _("Other"))],
    )
    week_hours = models.PositiveSmallIntegerField(_("hours a week"), default=40)
    in_roster = models.BooleanField(_("in the roster"), default=True)

    class Meta:
        verbose_name = _("agent work rule")
        verbose_name_plural = _("agent work rules")

    def __str__(self) -> str:
        return f"{self.agent_id} {self.week_hours}h"


class LeaveKind(models.TextChoices):
    ANNUAL = "annual", _("Annual leave")
    SICK = "sick", _("Sick leave")
    MATERNITY = "maternity", _("Maternity leave")
    TRAINING = "training", _("Training")
    UNAVAILABLE = "unavailable", _("Unavailable")


class Leave(models.Model):
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="wfm_leave"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=LeaveKind.choices, default=LeaveKind.ANNUAL)
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["date_from", "agent"]
        verbose_name = _("leave")
        verbose_name_plural = _("leave")
        constraints = [
            models.CheckConstraint(condition=Q(date_to__gte=models.F("date_from")), name="agents_leave_dates_ordered")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.kind} {self.date_from}–{self.date_to}"


class ShiftPreference(models.Model):
    """A wish the roster tries to honour (a soft goal): a shift, or a day off (no shift)."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="wfm_preferences"
    )
    date = models.DateField(_("date"))
    shift = models.ForeignKey(
        ShiftTemplate,
        verbose_name=_("shift"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("Empty: a day off."),
    )
    weight = models.PositiveSmallIntegerField(_("weight"), default=10)

    class Meta:
        ordering = ["date", "agent"]
        verbose_name = _("shift preference")
        verbose_name_plural = _("shift preferences")
        constraints = [models.UniqueConstraint(fields=["agent", "date"], name="agents_preference_once_a_day")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.date} {self.shift_id or 'off'}"


class RosterStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    INFEASIBLE = "infeasible", _("Infeasible")
    FAILED = "failed", _("Failed")


class Roster(models.Model):
    start = models.DateField(_("first day"))
    days = models.PositiveSmallIntegerField(_("days"))
    status = models.CharField(_("status"), max_length=10, choices=RosterStatus.choices, default=RosterStatus.RUNNING)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    shifts = models.JSONField(_("shifts"), default=list)  # [{"code", "start", "end"}] as solved
    requirement = models.JSONField(_("required staff"), default=list)  # [[per interval] per day]
    coverage = models.JSONField(_("coverage"), default=list)
    violations = models.JSONField(_("violations"), default=list)  # soft rules bent, or the diagnosis
    objective = models.FloatField(_("objective"), null=True, blank=True)
    bound = models.FloatField(_("bound"), null=True, blank=True)
    solve_seconds = models.FloatField(_("solve time (s)"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=200, blank=True)
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

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("roster")
        verbose_name_plural = _("rosters")

    def __str__(self) -> str:
        return f"{self.start} +{self.days} {self.status}"


class RosterAssignment(models.Model):
    roster = models.ForeignKey(Roster, verbose_name=_("roster"), on_delete=models.CASCADE, related_name="assignments")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="+"
    )
    date = models.DateField(_("date"))
    shift_code = models.CharField(_("shift"), max_length=8)

    class Meta:
        ordering = ["date", "agent"]
        verbose_name = _("roster assignment")
        verbose_name_plural = _("roster assignments")
        constraints = [models.UniqueConstraint(fields=["roster", "agent", "date"], name="agents_assignment_once")]

    def __str__(self) -> str:
        return f"{self.date} {self.agent_id} {self.shift_code}"


class RequestKind(models.TextChoices):
    SWAP = "swap", _("Shift swap")
    LEAVE = "leave", _("Leave")


class RequestStatus(models.TextChoices):
    AWAITING_COLLEAGUE = "awaiting_colleague", _("Awaiting the colleague")
    PENDING = "pending", _("Awaiting a team lead")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    DECLINED = "declined", _("Declined by the colleague")
    CANCELLED = "cancelled", _("Withdrawn")


class ShiftRequest(models.Model):
    """An agent's request to swap a shift with a colleague (the colleague agrees first) or to
    take leave; a team lead approves it with the roster's rules re-checked (``services``). Every
    step is an audit event; the row keeps the outcome."""

    kind = models.CharField(_("kind"), max_length=8, choices=RequestKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=RequestStatus.choices)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    colleague = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("colleague"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    roster = models.ForeignKey(
        Roster, verbose_name=_("roster"), on_delete=models.PROTECT, null=True, blank=True, related_name="requests"
    )
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    leave_kind = models.CharField(_("kind of leave"), max_length=12, choices=LeaveKind.choices, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("shift request")
        verbose_name_plural = _("shift requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(date_to__gte=models.F("date_from")), name="agents_request_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(kind="leave") | (Q(colleague__isnull=False) & Q(date_to=models.F("date_from"))),
                name="agents_swap_names_a_colleague",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="agents_request_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.requester_id} {self.date_from} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in (RequestStatus.AWAITING_COLLEAGUE, RequestStatus.PENDING)
