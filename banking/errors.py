"""Banking domain errors. The codes are a public contract (DESIGN.md §6): clients branch on them.

Messages are safe to show: they never carry a password, a PIN or a full card or account number.
"""

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, NotFound, Unprocessable


class InvalidAmount(DomainError):
    code = "invalid_amount"
    status = 400
    default_message = _("The amount must be a positive number of yuan with at most 2 decimals.")


class InvalidInput(DomainError):
    """A malformed argument (password format, account code, channel, ID number, ...)."""

    code = "invalid_input"
    status = 400
    default_message = _("The request is not valid.")


class InsufficientFunds(Unprocessable):
    code = "insufficient_funds"
    default_message = _("The balance is not sufficient.")


class NotLinked(Unprocessable):
    code = "not_linked"
    default_message = _("Transfers are allowed only between the registered account and its linked accounts.")


class NotRegistered(Unprocessable):
    code = "not_registered"
    default_message = _("The account is not registered for phone banking.")


class AccountLost(Unprocessable):
    code = "account_lost"
    default_message = _("The account has been reported lost.")


class AccountBlocked(Unprocessable):
    """Frozen or closed."""

    code = "account_blocked"
    default_message = _("The account is frozen or closed.")


class LimitExceeded(Unprocessable):
    code = "limit_exceeded"
    default_message = _("The amount exceeds the transfer limit.")


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    default_message = _("This idempotency key was already used with different parameters.")


class RegistrationLocked(DomainError):
    code = "locked"
    status = 423
    default_message = _("Phone banking is locked after too many wrong passwords; an identity check unlocks it.")


class WrongPassword(Unprocessable):
    code = "wrong_password"
    default_message = _("The password is not correct.")


class SameAccount(Unprocessable):
    code = "same_account"
    default_message = _("The source and target accounts are the same.")


class NotEligible(Unprocessable):
    """E.g. SMS notice on anything but a debit main card, linking another customer's account."""

    code = "not_eligible"
    default_message = _("The account is not eligible for this service.")


class LossReportNotActive(Conflict):
    code = "loss_report_not_active"
    default_message = _("The loss report is not active.")


class AlreadyExists(Conflict):
    code = "already_exists"
    default_message = _("It already exists.")


class AccountNotFound(NotFound):
    code = "not_found"
    default_message = _("Account not found.")


class UnbalancedTransaction(DomainError):
    """A programming error in a caller of ``ledger_post``: the lines do not sum to zero."""

    code = "unbalanced_transaction"
    status = 400
    default_message = _("The postings of a transaction must sum to zero.")
