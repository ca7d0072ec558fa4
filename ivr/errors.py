"""IVR errors with stable codes (the switch branches on them; DESIGN.md §6)."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, NotFound


class CallNotFound(NotFound):
    code = "call_not_found"
    default_message = _("No IVR call with this id.")


class CallEnded(Conflict):
    code = "call_ended"
    default_message = _("The call has ended; it takes no more events.")


class CallExists(Conflict):
    code = "call_exists"
    default_message = _("A call with this id already exists with other details.")


class SeqOutOfOrder(Conflict):
    code = "seq_out_of_order"
    default_message = _("The event's seq must follow the last one by exactly 1.")


class NoPublishedMenu(Conflict):
    code = "no_published_menu"
    default_message = _("No IVR menu is published.")


class MenuInvalid(DomainError):
    """The tree would break a live call (dangling option, loop without exit, missing prompt...)."""

    code = "menu_invalid"
    status = 400
    default_message = _("The menu is not valid.")


class MenuNotEditable(Conflict):
    code = "menu_not_editable"
    default_message = _("Only a draft can be changed.")


class MenuVersionNotFound(NotFound):
    code = "menu_version_not_found"
    default_message = _("No such menu version.")
