"""Domain errors of quality scoring (stable codes; the API envelope turns them into responses)."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable


class InvalidScores(DomainError):
    """The scores sent do not fit the scorecard version (``details``: what is wrong)."""

    code = "invalid_scores"
    status = 400
    default_message = _("The scores do not match the scorecard.")


class InvalidComment(DomainError):
    code = "invalid_comment"
    status = 400
    default_message = _("A comment needs a text and a time within the recording.")


class ReasonRequired(DomainError):
    code = "reason_required"
    status = 400
    default_message = _("Give a reason.")


class RecordingNotFound(NotFound):
    code = "recording_not_found"
    default_message = _("No such recording.")


class RecordingHasNoAgent(Unprocessable):
    code = "recording_has_no_agent"
    default_message = _("The recording belongs to no agent: there is nobody to score.")


class ScorecardNotFound(NotFound):
    code = "scorecard_not_found"
    default_message = _("No such active scorecard.")


class ScorecardEmpty(Unprocessable):
    code = "scorecard_empty"
    default_message = _("The scorecard needs at least one scored criterion with a weight above 0.")


class EvaluationNotFound(NotFound):
    code = "evaluation_not_found"
    default_message = _("No such evaluation.")


class AlreadyScored(Conflict):
    code = "already_scored"
    default_message = _("This recording has already been scored with this scorecard: re-score the evaluation.")


class NotYourEvaluation(Forbidden):
    code = "not_your_evaluation"
    default_message = _("Only the agent who was scored may do this.")


class NotCurrent(Conflict):
    code = "evaluation_superseded"
    default_message = _("This evaluation has been re-scored; act on the current one.")


class AlreadyAcknowledged(Conflict):
    code = "already_acknowledged"
    default_message = _("You have already acknowledged this evaluation.")


class AlreadyDisputed(Conflict):
    code = "already_disputed"
    default_message = _("A call's evaluation can be disputed only once.")


class NotDisputed(Conflict):
    code = "not_disputed"
    default_message = _("There is no open dispute on this evaluation.")


class DisputeOpen(Conflict):
    code = "dispute_open"
    default_message = _("The evaluation is disputed: resolve the dispute instead.")


class OwnCallNotScored(Forbidden):
    code = "own_call"
    default_message = _("Team leads do not score or judge their own calls.")
