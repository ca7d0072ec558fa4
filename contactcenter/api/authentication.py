"""Token authentication that loads the user's staff profile in the same query.

Every API view checks the caller's role (``user.profile.role``); DRF's own TokenAuthentication
would fetch the profile in a second query on each request, which the switch pays on every IVR
step and CTI event.
"""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class ProfileTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        model = self.get_model()
        try:
            token = model.objects.select_related("user", "user__profile").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return (token.user, token)
