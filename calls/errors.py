"""Domain errors of calls (stable codes; the API envelope turns them into responses).

The errors agents raise are defined in ``agents.errors``; the four the call flow raises as well
(invalid input, a call state that does not allow it, an unknown queue or agent) are used from
there, so one class stands for one code."""

from django.utils.translation import gettext_lazy as _

from agents.errors import InvalidCallState as InvalidCallState
from agents.errors import InvalidInput as InvalidInput
from agents.errors import UnknownAgent as UnknownAgent
from agents.errors import UnknownQueue as UnknownQueue
from core.errors import Conflict, NotFound
from core.errors import Forbidden as Forbidden  # re-exported for the APIs


class CallNotFound(NotFound):
    code = "call_not_found"
    default_message = _("No such call.")


class NotYourCall(Conflict):
    code = "not_your_call"
    default_message = _("This call is not yours.")


class NotOfferedToYou(Conflict):
    code = "not_offered_to_you"
    default_message = _("This call is not being offered to you.")


class AlreadyWrappedUp(Conflict):
    code = "already_wrapped_up"
    default_message = _("The after-call work of this call is already done.")


class AgentUnavailable(Conflict):
    code = "agent_unavailable"
    default_message = _("That agent cannot take a call now.")


class NoCallbackOffer(Conflict):
    code = "no_callback_offer"
    default_message = _("This call has not been offered a callback.")
