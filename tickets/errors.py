"""Work-order domain errors. The codes are a public contract: clients branch on them.

The messages here are the only user-facing texts of refusals: the API sends them (or a service's
more precise English detail) and the pages show them, translated, through ``page_message``.
"""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _("This action is not allowed in the work order's current state.")


class ReceivedInFuture(DomainError):
    code = "received_in_future"
    status = 400
    default_message = _("The time the complaint was received cannot be in the future.")


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400
    default_message = _("The request is not valid.")
    shows_detail = True  # which field is wrong, and how, is the message


class UnknownUnit(DomainError):
    code = "unknown_unit"
    status = 400
    default_message = _("No active unit has this code.")


class UnknownCustomer(DomainError):
    code = "unknown_customer"
    status = 400
    default_message = _("No such customer.")


class UnknownAccount(DomainError):
    code = "unknown_account"
    status = 400
    default_message = _("No such account of this customer.")


class CustomerNotFound(DomainError):
    code = "customer_not_found"
    status = 400
    default_message = _("No customer has this mobile, card or account number, or ID last 6.")


class CustomerAmbiguous(DomainError):
    code = "ambiguous_customer"
    status = 400
    default_message = _("Several customers match: search by the full card or account number.")


class TicketNotFound(NotFound):
    default_message = _("Work order not found.")


class ExtensionLimitReached(Conflict):
    code = "extension_limit_reached"
    default_message = _("A work order may be extended twice at most.")


class ExtensionPending(Conflict):
    code = "extension_pending"
    default_message = _("An extension request is already waiting for approval.")


class ExtensionTooLong(Unprocessable):
    code = "extension_too_long"
    default_message = _("The extension goes beyond what the rules allow for this stage.")


class ExtensionNotPending(Conflict):
    code = "extension_not_pending"
    default_message = _("This extension request has already been decided.")


class HeadOfficeApprovalRequired(Forbidden):
    code = "head_office_approval_required"
    default_message = _("A second extension needs head-office approval (the director).")


class AlreadyPaused(Conflict):
    code = "already_paused"
    default_message = _("The work order is already paused.")


class NotPaused(Conflict):
    code = "not_paused"
    default_message = _("The work order is not paused.")


class AttachmentTooLarge(DomainError):
    code = "attachment_too_large"
    status = 413
    default_message = _("The file is larger than allowed.")


class AttachmentNotAllowed(DomainError):
    code = "attachment_type_not_allowed"
    status = 400
    default_message = _("This type of file is not accepted.")


class AttachmentExecutable(DomainError):
    code = "attachment_executable"
    status = 400
    default_message = _("Programs and scripts are not accepted as attachments.")


class AttachmentEmpty(DomainError):
    code = "attachment_empty"
    status = 400
    default_message = _("The file is empty.")


class AdjustmentNotApplicable(Unprocessable):
    code = "adjustment_not_applicable"
    default_message = _("Only ATM mis-posting, refund-posting and POS prize work orders carry an adjustment.")


class AdjustmentNeedsResolvedReply(InvalidInput):
    """Code ``invalid_input`` (the API's contract); shown on the page in the user's language."""

    default_message = _("An adjustment is confirmed only with a resolved reply and a positive amount.")
    shows_detail = False


class AdjustmentNotConfirmed(Conflict):
    code = "adjustment_not_confirmed"
    default_message = _("The unit has not confirmed an adjustment amount yet.")


class AdjustmentOutstanding(Conflict):
    code = "adjustment_outstanding"
    default_message = _(
        "The amount the unit confirmed is still owed to the customer: post the adjustment, or waive it "
        "with a reason, before closing."
    )


class AdjustmentTooLarge(Unprocessable):
    code = "adjustment_too_large"
    default_message = _("The amount is above the most a unit may confirm for one work order.")


class AdjustmentPendingApproval(Conflict):
    code = "adjustment_pending_approval"
    default_message = _("The adjustment is waiting for the director's approval.")


class AdjustmentNotPending(Conflict):
    code = "adjustment_not_pending"
    default_message = _("No adjustment of this work order is waiting for approval.")


class AdjustmentSettled(Conflict):
    code = "adjustment_settled"
    default_message = _("The adjustment of this work order has already been posted or waived.")


class CustomerRequired(Conflict):
    code = "customer_required"
    default_message = _("Link the work order to the customer first: the adjustment goes to one of their accounts.")


class CustomerFixed(Conflict):
    code = "customer_fixed"
    default_message = _("An adjustment has been posted or requested for this customer: the customer cannot change.")


class MergeNotAllowed(Unprocessable):
    code = "merge_not_allowed"
    default_message = _("These work orders cannot be merged.")


class MergeTargetNotFound(MergeNotAllowed):
    """The work order to merge into is not one the user can see (a page's form field)."""

    default_message = _("Work order not found.")


class CalendarDayInvalid(DomainError):
    code = "invalid_calendar_day"
    status = 400
    default_message = _("This day cannot be set this way.")


def page_message(exc: DomainError) -> str:
    """The text a page shows for a refusal. A work-order error shows its class's message, in the
    user's language (a service's English detail, such as the state it found or the cap it computed,
    is for API clients); invalid input and other apps' errors (the ledger's, the amount parser's)
    show their own message, which their services write to be shown."""
    kind = type(exc)
    if kind.__module__ == __name__ and exc.code == kind.code and not getattr(kind, "shows_detail", False):
        return str(kind.default_message)
    return exc.message
