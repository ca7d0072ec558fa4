"""Staff authentication: lockout responses and the API token service."""

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from audit.services import audit_record
from core.api.exceptions import error_body
from core.errors import DomainError


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 400
    default_message = "Wrong username or password."


class AccountLocked(DomainError):
    code = "account_locked"
    status = 429
    default_message = "Too many failed logins; the account is locked for a while."


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_message() -> str:
    return _(
        "Too many failed logins: this account is locked for %(minutes)d minutes. "
        "Ask the system maintainer to unlock it sooner."
    ) % {"minutes": lockout_minutes()}


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """Called by django-axes when a locked account tries to log in (page or API)."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(AccountLocked.code, lockout_message()), status=429)
    return render(request, "registration/locked_out.html", {"message": lockout_message()}, status=429)


def token_obtain(*, request: HttpRequest, username: str, password: str) -> Token:
    """Exchange a staff member's credentials for their API token (one per user).

    Goes through ``authenticate`` so that django-axes counts failures and locks the account.
    """
    user = authenticate(request=request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        raise AccountLocked(lockout_message())
    if user is None:
        raise InvalidCredentials(_("Wrong username or password."))
    # A token exchange is a login: the signal resets the failure count (axes), stamps last_login
    # and writes the login audit row, exactly as the login page does.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    token, created = Token.objects.get_or_create(user=user)
    audit_record(actor=user, action="auth.token_issued", obj=user, details={"new": created}, request=request)
    return token
