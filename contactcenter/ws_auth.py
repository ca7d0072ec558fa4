"""Websocket authentication: the browser's session, or ``?token=`` for systems and tests.

The origin check (Channels' ``AllowedHostsOriginValidator``) guards session-cookie logins: a
browser sends the cookie to any page's websocket, so without it another site could open the
agent's socket (cross-site websocket hijacking). A ``?token=`` client proves itself with a secret
no other site has, and a wall display or a CTI bridge sends no ``Origin`` at all: the check does
not apply to it. Whenever ``?token=`` is given the session is ignored (a bad token is anonymous),
so adding a token parameter cannot carry a cookie past the check.
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser


def token_from_scope(scope) -> str | None:
    keys = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return keys[0] if keys else None


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    from core.api.authentication import is_plausible_key

    if not is_plausible_key(key):
        return AnonymousUser()
    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return AnonymousUser()
    return token.user if token.user.is_active else AnonymousUser()


class TokenQueryAuthMiddleware:
    """Replaces the scope's user when a valid ``?token=`` is given."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        key = token_from_scope(scope)
        if key:
            scope = dict(scope, user=await _user_for_token(key))
        return await self.inner(scope, receive, send)


class OriginCheckedUnlessToken:
    """``AllowedHostsOriginValidator`` for session-cookie connections; none for ``?token=`` ones."""

    def __init__(self, inner):
        self.inner = inner
        self.origin_checked = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope, receive, send):
        app = self.inner if token_from_scope(scope) else self.origin_checked
        return await app(scope, receive, send)


def SessionOrTokenAuthMiddleware(inner):  # noqa: N802 - reads like the middleware classes it wraps
    return AuthMiddlewareStack(TokenQueryAuthMiddleware(inner))
