"""Domain errors: services raise these; one handler turns them into the API's error envelope.

Every error has a stable snake_case ``code`` (clients branch on it) and a human message
that is safe to show: it never carries a password, PIN or full card number.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


class DomainError(Exception):
    """A business rule refused the request. Subclasses fix the code and HTTP status."""

    code: str = "domain_error"
    status: int = 400
    # Subclasses may use a lazy translation (gettext_lazy); it is turned into str in __init__.
    default_message: "str | StrPromise" = "The request was refused."

    def __init__(
        self, message: "str | StrPromise | None" = None, *, code: str | None = None, details: Any = None
    ) -> None:
        self.message = str(message or self.default_message)
        if code:
            self.code = code
        self.details = details
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message: "str | StrPromise" = "Not found."


class Forbidden(DomainError):
    code = "permission_denied"
    status = 403
    default_message: "str | StrPromise" = "You do not have permission to do this."


class Conflict(DomainError):
    """The object's current state does not allow the operation (e.g. a transition)."""

    code = "conflict"
    status = 409
    default_message: "str | StrPromise" = "The request conflicts with the current state."


class Unprocessable(DomainError):
    """Well-formed request refused by a business rule (insufficient funds, limits, ...)."""

    code = "refused"
    status = 422
    default_message: "str | StrPromise" = "The request was refused by a business rule."
