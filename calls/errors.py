"""Domain errors of calls and agents (stable codes; the API envelope turns them into responses)."""

from django.utils.translation import gettext_lazy as _

from contactcenter.errors import Conflict, DomainError, NotFound, Unprocessable
from contactcenter.errors import Forbidden as Forbidden  # re-exported for the APIs


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400
    default_message = _("The request is not valid.")


class CallNotFound(NotFound):
    code = "call_not_found"
    default_message = _("No such call.")


class NotYourCall(Conflict):
    code = "not_your_call"
    default_message = _("This call is not yours.")


class NotOfferedToYou(Conflict):
    code = "not_offered_to_you"
    default_message = _("This call is not being offered to you.")


class InvalidCallState(Conflict):
    code = "invalid_call_state"
    default_message = _("The call's state does not allow this.")


class AlreadyWrappedUp(Conflict):
    code = "already_wrapped_up"
    default_message = _("The after-call work of this call is already done.")


class UnknownQueue(Unprocessable):
    code = "unknown_queue"
    default_message = _("No such queue.")


class UnknownAgent(Unprocessable):
    code = "unknown_agent"
    default_message = _("No such agent.")


class AgentUnavailable(Conflict):
    code = "agent_unavailable"
    default_message = _("That agent cannot take a call now.")


class OnCall(Conflict):
    code = "on_call"
    default_message = _("Finish the call first.")


class WrapupPending(Conflict):
    code = "wrapup_pending"
    default_message = _("Finish the after-call work first.")


class ReasonRequired(InvalidInput):
    code = "reason_required"
    default_message = _("Choose a reason for not being ready.")


class InvalidReason(InvalidInput):
    code = "invalid_reason"
    default_message = _("Unknown reason.")


class NoCallbackOffer(Conflict):
    code = "no_callback_offer"
    default_message = _("This call has not been offered a callback.")


class CallbackClosed(Conflict):
    code = "callback_closed"
    default_message = _("This callback is already closed.")


class CallbackNotFound(NotFound):
    code = "callback_not_found"
    default_message = _("No such callback.")


class AgentNotConnected(Conflict):
    code = "agent_not_connected"
    default_message = _("The agent has no desktop open: they cannot be set ready until they open it.")
