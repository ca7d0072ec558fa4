"""Domain errors: services raise these; one handler turns them into the API's error envelope.

Every error has a stable snake_case ``code`` (clients branch on it) and a human message
that is safe to show: it never carries a password, PIN or full card number.
"""

from typing import Any


class DomainError(Exception):
    """A business rule refused the request. Subclasses fix the code and HTTP status."""

    code = "domain_error"
    status = 400
    default_message = "The request was refused."

    def __init__(self, message: str | None = None, *, code: str | None = None, details: Any = None):
        self.message = str(message or self.default_message)
        if code:
            self.code = code
        self.details = details
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class Forbidden(DomainError):
    code = "permission_denied"
    status = 403
    default_message = "You do not have permission to do this."


class Conflict(DomainError):
    """The object's current state does not allow the operation (e.g. a transition)."""

    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."


class Unprocessable(DomainError):
    """Well-formed request refused by a business rule (insufficient funds, limits, ...)."""

    code = "refused"
    status = 422
    default_message = "The request was refused by a business rule."
