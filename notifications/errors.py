"""Domain errors of notifications (stable codes; the API envelope turns them into responses)."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict


class NotDeadLetter(Conflict):
    code = "not_dead_letter"
    default_message = _("Only a failed message can be requeued or cancelled.")
