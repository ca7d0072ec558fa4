"""Domain errors of the agents app (stable codes; the API envelope turns them into responses).

The calls app raises the first four too (``calls.errors`` takes them from here: calls depends on
agents, never the other way round)."""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, NotFound, Unprocessable


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400
    default_message = _("The request is not valid.")


class InvalidCallState(Conflict):
    """Also ``state_busy``: an agent's state that kept changing under a state change."""

    code = "invalid_call_state"
    default_message = _("The call's state does not allow this.")


class UnknownQueue(Unprocessable):
    code = "unknown_queue"
    default_message = _("No such queue.")


class UnknownAgent(Unprocessable):
    code = "unknown_agent"
    default_message = _("No such agent.")


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


class AgentNotConnected(Conflict):
    code = "agent_not_connected"
    default_message = _("The agent has no desktop open: they cannot be set ready until they open it.")


class CallbackClosed(Conflict):
    code = "callback_closed"
    default_message = _("This callback is already closed.")


class CallbackNotFound(NotFound):
    code = "callback_not_found"
    default_message = _("No such callback.")
