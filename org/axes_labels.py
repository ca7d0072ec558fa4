"""Labels of django-axes' admin (failed logins and lockouts) in the center's own words.

django-axes ships no Chinese catalogue, and its admin is where a maintainer unlocks a staff member
(docs/architecture.md, "Login lockout"). Its models' and fields' names are replaced at start-up by
these strings, which live in the project's catalogue like every other visible string.
"""

from django.apps import apps
from django.utils.translation import gettext_lazy as _

APP_LABEL = _("Login lockouts")

MODEL_LABELS = {
    "AccessAttempt": (_("failed login"), _("Failed logins and lockouts")),
    "AccessFailureLog": (_("failed login record"), _("failed login records")),
    "AccessAttemptExpiration": (_("lockout expiry"), _("lockout expiries")),
    "AccessLog": (_("login record"), _("login records")),
}

FIELD_LABELS = {
    "user_agent": _("browser"),
    "ip_address": _("IP address"),
    "username": _("username"),
    "http_accept": _("HTTP Accept header"),
    "path_info": _("path"),
    "attempt_time": _("time of attempt"),
    "get_data": _("query data"),
    "post_data": _("form data"),
    "failures_since_start": _("failed logins"),
    "locked_out": _("locked out"),
    "expires_at": _("expires at"),
    "access_attempt": _("failed login"),
    "logout_time": _("logout time"),
    "session_hash": _("session key hash (sha256)"),
}


def relabel_axes() -> None:
    if not apps.is_installed("axes"):
        return
    config = apps.get_app_config("axes")
    config.verbose_name = APP_LABEL
    for model_name, (singular, plural) in MODEL_LABELS.items():
        try:
            model = config.get_model(model_name)
        except LookupError:
            continue
        model._meta.verbose_name = singular
        model._meta.verbose_name_plural = plural
        for field in model._meta.get_fields():
            label = FIELD_LABELS.get(field.name)
            if label is not None and hasattr(field, "verbose_name"):
                field.verbose_name = label
