"""Domain errors of notifications (stable codes; the API envelope turns them into responses)."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, Forbidden


class NotDeadLetter(Conflict):
    code = "not_dead_letter"
    default_message = _("Only a failed message can be requeued or cancelled.")


class BadSignature(Forbidden):
    code = "bad_signature"
    default_message = _("The signature does not match.")


class BadReceipt(DomainError):
    code = "invalid_input"
    default_message = _("A delivery report is {message_id, status: delivered|failed, at, detail}.")
