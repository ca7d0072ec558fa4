"""Token authentication that loads the user and the staff profile in one written-out statement.

Every API view checks the caller's role (``user.profile.role``); DRF's own TokenAuthentication
fetches the profile in a second query, and even one ``select_related`` ORM query costs about
1.4 ms of CPU to build — paid by the switch on every IVR step and CTI event, several times what
the database spends answering it. The statement comes from the models' metadata
(``core.rows``) and the instances are ordinary ones with the relations cached, exactly
what ``Token.objects.select_related("user", "user__profile").get(key=key)`` returns.
"""

from django.contrib.auth import get_user_model
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from core import rows
from core.api.authentication import is_plausible_key

from .models import StaffProfile


def token_with_user(model, key: str):
    """The token ``key`` with its user and the user's profile (``None`` cached when there is
    none, like ``select_related``) loaded; ``None`` for an unknown key."""
    user_model = get_user_model()
    token_table, user_table = model._meta.db_table, user_model._meta.db_table
    profile_table = StaffProfile._meta.db_table
    found = rows.select_one(
        model,
        f'"{token_table}"."key" = %s',
        [key],
        join=f'INNER JOIN "{user_table}" ON "{user_table}"."id" = "{token_table}"."user_id" '
        f'LEFT OUTER JOIN "{profile_table}" ON "{profile_table}"."user_id" = "{user_table}"."id"',
        extra=f"{rows.columns(user_model)}, {rows.columns(StaffProfile)}",
    )
    if found is None:
        return None
    token, extra = found
    user = rows.joined(user_model, extra)
    assert user is not None  # INNER JOIN: the user row is always there
    profile = rows.joined(StaffProfile, extra[len(rows.names(user_model)) :])
    if profile is not None:
        StaffProfile.user.field.set_cached_value(profile, user)
    user_model.profile.related.set_cached_value(user, profile)
    model.user.field.set_cached_value(token, user)
    return token


class ProfileTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        if not is_plausible_key(key):  # never carried to the database (a NUL is a 500 there)
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = token_with_user(self.get_model(), key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)
