"""Quality scoring (质检) of recorded calls (issue 17 point 8), imported by ``agents.models``.

A scorecard's criteria are edited in place (admin); every evaluation points at an immutable
``ScorecardVersion`` — a snapshot of the criteria as they were when it was scored — so editing a
scorecard never changes an old score. An evaluation's scores, total and comments never change
after submission: a correction is a new revision (``revision`` + 1, ``supersedes``) and the old
one is kept, marked superseded. Recordings live in calls (above agents): they are referred to by
their id as a plain integer (``recording_id``), read through ``agents.quality.recording_port``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audit.models import AppendOnlyModel


class ImmutableEvaluation(Exception):
    """An evaluation's scoring fields were about to change (a correction is a new revision)."""


class Team(models.Model):
    """A team of agents and its team lead (班组): the unit QA averages are reported per."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("team lead"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("agent team")
        verbose_name_plural = _("agent teams")

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    """An agent's team (one at a time)."""

    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="members")
    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="qa_team"
    )

    class Meta:
        ordering = ["team", "agent__username"]
        verbose_name = _("team member")
        verbose_name_plural = _("team members")

    def __str__(self) -> str:
        return f"{self.team} · {self.agent.get_username()}"


class Scorecard(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    """One line of a scorecard as it is now (the editable definition). A scored criterion earns
    0…``max_points`` and counts with ``weight``; a fatal one is pass/fail and carries no points."""

    scorecard = models.ForeignKey(
        Scorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE, related_name="criteria"
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=300, blank=True)
    max_points = models.PositiveSmallIntegerField(
        _("maximum points"), default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    weight = models.DecimalField(
        _("weight"), max_digits=5, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(Decimal(0))]
    )
    fatal = models.BooleanField(
        _("fatal item"), default=False, help_text=_("Failing it sets the whole evaluation to 0.")
    )

    class Meta:
        ordering = ["scorecard", "order", "pk"]
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "name"], name="agents_qa_criterion_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ScorecardVersion(AppendOnlyModel):
    """The criteria of a scorecard frozen at one moment: ``[{"id", "order", "name",
    "description", "max_points", "weight" (string), "fatal"}]``."""

    scorecard = models.ForeignKey(
        Scorecard, verbose_name=_("scorecard"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    criteria = models.JSONField(_("criteria"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["scorecard", "-number"]
        verbose_name = _("scorecard version")
        verbose_name_plural = _("scorecard versions")
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "number"], name="agents_qa_version_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.scorecard} v{self.number}"


class EvaluationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    DISPUTED = "disputed", _("Disputed")
    DISPUTE_REJECTED = "dispute_rejected", _("Dispute rejected")
    SUPERSEDED = "superseded", _("Re-scored")


class Evaluation(models.Model):
    """A team lead's score of one recorded call against one scorecard version.

    ``raw_score`` is the weighted percentage of the scored criteria; ``score`` is what counts:
    ``raw_score``, or 0 when a fatal item failed (``fatal_failed``). The scoring fields
    (``SCORING_FIELDS``) are written once; only the state fields change afterwards."""

    recording_id = models.BigIntegerField(_("recording"))
    call_id = models.CharField(_("call"), max_length=128, blank=True)
    recorded_at = models.DateTimeField(_("recorded"))
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="qa_evaluations"
    )
    scorecard = models.ForeignKey(
        Scorecard, verbose_name=_("scorecard"), on_delete=models.PROTECT, related_name="evaluations"
    )
    version = models.ForeignKey(
        ScorecardVersion, verbose_name=_("scorecard version"), on_delete=models.PROTECT, related_name="evaluations"
    )
    revision = models.PositiveSmallIntegerField(_("revision"), default=1)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("re-scores"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    scorer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("scored by"), on_delete=models.PROTECT, related_name="+"
    )
    raw_score = models.DecimalField(_("score before fatal items"), max_digits=5, decimal_places=2)
    score = models.DecimalField(_("score (%)"), max_digits=5, decimal_places=2)
    fatal_failed = models.BooleanField(_("fatal item failed"), default=False)
    summary = models.TextField(_("summary"), blank=True)
    reason = models.CharField(_("reason for re-scoring"), max_length=300, blank=True)
    submitted_at = models.DateTimeField(_("submitted"))

    status = models.CharField(
        _("status"), max_length=20, choices=EvaluationStatus.choices, default=EvaluationStatus.SUBMITTED
    )
    is_current = models.BooleanField(_("current"), default=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)

    SCORING_FIELDS = frozenset(
        {
            "recording_id",
            "call_id",
            "recorded_at",
            "agent",
            "scorecard",
            "version",
            "revision",
            "supersedes",
            "scorer",
            "raw_score",
            "score",
            "fatal_failed",
            "summary",
            "reason",
            "submitted_at",
        }
    )
    STATE_FIELDS = ("status", "is_current", "acknowledged_at")

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("QA evaluation")
        verbose_name_plural = _("QA evaluations")
        constraints = [
            # One evaluation per recording and scorecard; a re-score replaces it as the current one.
            models.UniqueConstraint(
                fields=["recording_id", "scorecard"],
                condition=Q(is_current=True),
                name="agents_qa_one_current_evaluation",
            ),
            models.UniqueConstraint(
                fields=["recording_id", "scorecard", "revision"], name="agents_qa_evaluation_revision"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=100, raw_score__gte=0, raw_score__lte=100),
                name="agents_qa_score_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "recorded_at"], name="agents_qa_eval_agent_idx"),
            models.Index(fields=["recorded_at"], name="agents_qa_eval_recorded_idx"),
            models.Index(fields=["recording_id"], name="agents_qa_eval_recording_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recording_id} {self.scorecard} r{self.revision} {self.score}"

    def save(self, *args, **kwargs):
        # Submitted scores are immutable: after the insert only the state fields may be saved.
        if not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or set(fields) - set(self.STATE_FIELDS):
                raise ImmutableEvaluation("a submitted evaluation's scores do not change; re-score it")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableEvaluation("evaluations are kept")


class CriterionScore(AppendOnlyModel):
    """The points of one criterion of the version (``criterion_id`` is its ``id`` in the
    snapshot); a fatal criterion has ``failed`` and no points."""

    evaluation = models.ForeignKey(
        Evaluation, verbose_name=_("evaluation"), on_delete=models.PROTECT, related_name="scores"
    )
    criterion_id = models.PositiveIntegerField(_("criterion"))
    points = models.PositiveSmallIntegerField(_("points"), null=True, blank=True)
    failed = models.BooleanField(_("failed"), default=False)

    class Meta:
        ordering = ["evaluation", "pk"]
        verbose_name = _("criterion score")
        verbose_name_plural = _("criterion scores")
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "criterion_id"], name="agents_qa_one_score_per_criterion"),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id}:{self.criterion_id} {self.points}"


class EvaluationComment(AppendOnlyModel):
    """A remark at a moment of the recording (``at_ms`` from its start), a marker on the waveform."""

    evaluation = models.ForeignKey(
        Evaluation, verbose_name=_("evaluation"), on_delete=models.PROTECT, related_name="comments"
    )
    at_ms = models.PositiveIntegerField(_("at (ms)"))
    text = models.CharField(_("comment"), max_length=500)
    criterion_id = models.PositiveIntegerField(_("criterion"), null=True, blank=True)

    class Meta:
        ordering = ["evaluation", "at_ms", "pk"]
        verbose_name = _("evaluation comment")
        verbose_name_plural = _("evaluation comments")

    def __str__(self) -> str:
        return f"{self.at_ms} ms: {self.text[:40]}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Upheld")
    REJECTED = "rejected", _("Rejected")


class Dispute(models.Model):
    """An agent's objection to an evaluation — once per recording and scorecard, whatever the
    revision — and the team lead's decision."""

    evaluation = models.OneToOneField(
        Evaluation, verbose_name=_("evaluation"), on_delete=models.PROTECT, related_name="dispute"
    )
    recording_id = models.BigIntegerField(_("recording"))
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("scorecard"), on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=500)
    created_at = models.DateTimeField(_("disputed"))
    status = models.CharField(_("status"), max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution = models.CharField(_("decision"), max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("QA dispute")
        verbose_name_plural = _("QA disputes")
        constraints = [
            # The dispute-once rule, held by the database too.
            models.UniqueConstraint(fields=["recording_id", "scorecard"], name="agents_qa_dispute_once"),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id} {self.get_status_display()}"


class SampleProposal(models.Model):
    """A recording proposed for scoring: ``per_agent`` random recordings of each agent per ISO
    week (``week_start`` is that week's Monday), drawn with a seed fixed by the week and agent."""

    week_start = models.DateField(_("week"))
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="+"
    )
    recording_id = models.BigIntegerField(_("recording"))
    created_at = models.DateTimeField(_("proposed"), auto_now_add=True)

    class Meta:
        ordering = ["-week_start", "agent__username", "recording_id"]
        verbose_name = _("QA sample")
        verbose_name_plural = _("QA samples")
        constraints = [
            models.UniqueConstraint(fields=["week_start", "recording_id"], name="agents_qa_sample_once"),
        ]
        indexes = [models.Index(fields=["week_start", "agent"], name="agents_qa_sample_week_idx")]

    def __str__(self) -> str:
        return f"{self.week_start} {self.agent_id} {self.recording_id}"
