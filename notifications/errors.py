"""Domain errors of notifications (stable codes; the API envelope turns them into responses)."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable


class NotDeadLetter(Conflict):
    code = "not_dead_letter"
    default_message = _("Only a failed message can be requeued or cancelled.")


class BadSignature(Forbidden):
    code = "bad_signature"
    default_message = _("The signature does not match.")


class BadReceipt(DomainError):
    code = "invalid_input"
    default_message = _("A delivery report is {message_id, status: delivered|failed, at, detail}.")


class UnknownTemplate(NotFound):
    code = "unknown_template"
    default_message = _("No such SMS template.")


# Why a template text is refused (``notifications.texts.check_text``'s codes).
TEMPLATE_PROBLEMS = {
    "empty": _("The text is empty."),
    "stray_brace": _("A brace that is not part of a placeholder: write placeholders as listed, no other braces."),
    "unknown_placeholder": _("{%(name)s} is not a placeholder of this message."),
    "missing_placeholder": _("The text must keep {%(name)s}."),
    "full_number": _("The text would carry what looks like a full card or account number."),
    "too_long": _("With the sample values the text has %(length)s characters; an SMS holds at most %(max)s."),
}


class InvalidTemplate(Unprocessable):
    """A template text refused: ``code`` is the first problem's, ``details`` lists them all
    (``[{"code", "message"}]``)."""

    code = "invalid_template"
    default_message = _("The template text was refused.")

    def __init__(self, problems) -> None:
        details = [
            {"code": problem.code, "message": str(TEMPLATE_PROBLEMS[problem.code]) % problem.params}
            for problem in problems
        ]
        super().__init__(details[0]["message"], code=details[0]["code"], details=details)
