"""The API's authentication pieces that know no app: the token key's shape and session
authentication with its own CSRF error code. The token look-up (user and staff profile in one
statement) is ``org.authentication``'s: it reads org's table."""

from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication


def is_plausible_key(key: str) -> bool:
    """A token key is at most 40 printable ASCII characters (DRF's are 40 hex digits)."""
    return 0 < len(key) <= 40 and key.isascii() and key.isprintable()


class CsrfSessionAuthentication(SessionAuthentication):
    """DRF's session authentication; a failed CSRF check is 403 ``csrf_failed`` (the code
    ``CSRF_FAILURE_VIEW`` gives outside DRF), not a bare ``permission_denied``."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc.detail), code="csrf_failed") from None
