"""Admin of quality scoring: scorecards and their criteria, teams (every change audited); after
each scorecard save the criteria as saved become a new scorecard version if they changed
(``scorecard_version_current``), so old evaluations keep theirs. Evaluations, versions, disputes
and samples are only read here: they change through the services (pages and ``/api/qa/``)."""

from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedAdminMixin
from core.admin import ReadOnlyAdmin, ReadOnlyMixin

from . import services
from .models import (
    Criterion,
    CriterionScore,
    Dispute,
    Evaluation,
    EvaluationComment,
    SampleProposal,
    Scorecard,
    ScorecardVersion,
    Team,
    TeamMember,
)


class CriteriaFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form.cleaned_data for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if not any(not c.get("fatal") and (c.get("weight") or Decimal(0)) > 0 for c in kept):
            raise ValidationError(_("The scorecard needs at least one scored criterion with a weight above 0."))


class CriterionInline(admin.TabularInline):
    model = Criterion
    formset = CriteriaFormSet
    extra = 1
    fields = ["order", "name", "description", "max_points", "weight", "fatal"]


@admin.register(Scorecard)
class ScorecardAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "active", "created_at"]
    list_filter = ["active"]
    inlines = [CriterionInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.scorecard_version_current(scorecard=form.instance, actor=request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: evaluations refer to it


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(ReadOnlyAdmin):
    list_display = ["scorecard", "number", "created_at", "created_by"]
    list_filter = ["scorecard"]


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 1
    raw_id_fields = ["agent"]


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "lead"]
    raw_id_fields = ["lead"]
    inlines = [TeamMemberInline]


class CriterionScoreInline(ReadOnlyMixin, admin.TabularInline):
    model = CriterionScore
    fields = readonly_fields = ("criterion_id", "points", "failed")


class CommentInline(ReadOnlyMixin, admin.TabularInline):
    model = EvaluationComment
    fields = readonly_fields = ("at_ms", "text", "criterion_id")


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = [
        "recording_id",
        "agent",
        "scorecard",
        "revision",
        "score",
        "fatal_failed",
        "status",
        "is_current",
        "scorer",
        "submitted_at",
    ]
    list_filter = ["status", "is_current", "fatal_failed", "scorecard"]
    search_fields = ["agent__username", "call_id"]
    date_hierarchy = "submitted_at"
    inlines = [CriterionScoreInline, CommentInline]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["evaluation", "agent", "status", "created_at", "resolved_by", "resolved_at"]
    list_filter = ["status"]


@admin.register(SampleProposal)
class SampleProposalAdmin(ReadOnlyAdmin):
    list_display = ["week_start", "agent", "recording_id", "created_at"]
    list_filter = ["week_start"]
