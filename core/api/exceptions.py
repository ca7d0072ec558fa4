"""The one exception handler of the API: every error becomes ``{"error": {"code", "message"}}``.

Validation errors keep per-field detail under ``error.fields``; the top-level code is the
first field's code when it is a domain code (``received_in_future``), else ``invalid_input``.
"""

import logging
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.dispatch import Signal
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import DomainError

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

# Sent with ``request``, ``code`` and ``view`` (the view class's name) when the API refuses a
# request as forbidden; the audit app records it (``audit.apps``). Core knows no app.
permission_denied = Signal()

logger = logging.getLogger(__name__)

# DRF's own field codes: too generic to stand as the request's code.
GENERIC_FIELD_CODES = {
    "invalid",
    "required",
    "null",
    "blank",
    "max_length",
    "min_length",
    "max_value",
    "min_value",
    "invalid_choice",
    "not_a_list",
    "empty",
    "max_digits",
    "max_decimal_places",
    "max_whole_digits",
    "date",
    "datetime",
    "does_not_exist",
    "incorrect_type",
    "unique",
    "not_a_dict",
    "invalid_image",
    "no_name",
    "max_string_length",
    "make_aware",
    "overflow",
    "parse_error",
    "non_field_errors",
    # The edge rules of core.api.validation: the field's code tells which.
    "nul_character",
    "invalid_integer",
    "integer_out_of_range",
    "utc_offset_out_of_range",
    "date_out_of_range",
}

EXCEPTION_CODES: dict[type, tuple[str, "str | StrPromise"]] = {
    exceptions.ParseError: ("malformed_json", gettext_lazy("The request body is not valid JSON.")),
    exceptions.NotAuthenticated: ("not_authenticated", "Authentication credentials were not provided."),
    exceptions.AuthenticationFailed: ("authentication_failed", "Invalid credentials."),
    exceptions.PermissionDenied: ("permission_denied", "You do not have permission to do this."),
    exceptions.NotFound: ("not_found", "Not found."),
    exceptions.MethodNotAllowed: ("method_not_allowed", "Method not allowed."),
    exceptions.NotAcceptable: ("not_acceptable", "Cannot satisfy the Accept header."),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "Unsupported media type."),
    exceptions.Throttled: ("throttled", "Too many requests."),
}


def error_body(code: str, message: str, **extra: Any) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def _flatten(detail: Any, prefix: str = "") -> list[tuple[str, str, str]]:
    """(field path, code, message) for every leaf of a DRF error detail."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, path))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            path = prefix if not isinstance(value, dict | list) else f"{prefix}[{index}]"
            out.extend(_flatten(value, path))
        return out
    return [(prefix or "non_field_errors", getattr(detail, "code", "invalid") or "invalid", str(detail))]


def validation_response(detail: Any) -> Response:
    leaves = _flatten(detail)
    fields: dict[str, list[dict[str, str]]] = {}
    for path, code, message in leaves:
        fields.setdefault(path, []).append({"code": code, "message": message})
    first_path, first_code, first_message = leaves[0] if leaves else ("", "invalid_input", "")
    if first_code in GENERIC_FIELD_CODES:
        code = "invalid_input"
        message = f"{first_path}: {first_message}" if first_path != "non_field_errors" else first_message
    else:
        code, message = first_code, first_message
    return Response(error_body(code, message, fields=fields), status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    request = context.get("request")
    if isinstance(exc, DomainError):
        body = error_body(exc.code, exc.message)
        if exc.details is not None:
            body["error"]["details"] = exc.details
        if exc.status == status.HTTP_403_FORBIDDEN:
            _audit_denial(request, context, exc.code)
        return Response(body, status=exc.status)
    if isinstance(exc, SuspiciousOperation):
        return _suspicious_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        return validation_response(exc.detail)
    if isinstance(exc, exceptions.APIException):
        code, message = _code_for(exc)
        headers = {}
        if auth_header := getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = auth_header
        if wait := getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(wait))
        if isinstance(exc, exceptions.PermissionDenied):
            _audit_denial(request, context, code)
        return Response(error_body(code, message), status=exc.status_code, headers=headers)
    return None  # a bug: Django's 500 handler (JSON under /api/) takes it


def _code_for(exc: exceptions.APIException) -> tuple[str, str]:
    for exc_type, (code, message) in EXCEPTION_CODES.items():
        if isinstance(exc, exc_type):
            detail = exc.detail if isinstance(exc.detail, str) else message
            custom_code = getattr(exc.detail, "code", None)
            if custom_code and custom_code not in {exc.default_code, "parse_error"}:
                code = custom_code
            if isinstance(exc, exceptions.ParseError):
                detail = message
            return code, str(detail)
    return getattr(exc, "default_code", "error") or "error", str(exc.detail)


def _audit_denial(request, context: dict, code: str) -> None:
    """Announce a refused request (``permission_denied``: the audit app records it)."""
    if request is None:
        return
    view = context.get("view")
    permission_denied.send(
        sender=view.__class__ if view else None,
        request=request,
        code=code,
        view=view.__class__.__name__ if view else "",
    )


def _suspicious_status(exc: SuspiciousOperation) -> tuple[int, str, str]:
    if isinstance(exc, RequestDataTooBig):
        return 413, "request_too_large", _("The request body is too large.")
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return 400, "too_many_fields", _("The request has too many parameters or files.")
    return 400, "bad_request", _("Bad request.")


def _suspicious_response(exc: SuspiciousOperation) -> Response:
    status_code, code, message = _suspicious_status(exc)
    return Response(error_body(code, message), status=status_code)


@csrf_exempt  # an unknown route is 404 whatever the method, not a CSRF failure
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Unknown routes under ``/api/``: a JSON 404 rather than an HTML page."""
    return JsonResponse(error_body("not_found", _("No such API endpoint.")), status=404)


def api_bad_request(request, exception=None) -> JsonResponse:
    """Django's 400 (``SuspiciousOperation`` outside a DRF view) under ``/api/``; ``RequestDataTooBig``
    is 413."""
    status_code, code, message = (
        _suspicious_status(exception)
        if isinstance(exception, SuspiciousOperation)
        else (400, "bad_request", _("Bad request."))
    )
    return JsonResponse(error_body(code, message), status=status_code)


def csrf_failure(request, reason: str = "", template_name: str | None = None):
    """``CSRF_FAILURE_VIEW``: the envelope under ``/api/`` (403 ``csrf_failed``), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("csrf_failed", _("CSRF check failed: send the CSRF token, or authenticate with a token.")),
            status=403,
        )
    if template_name is None:
        return django_csrf_failure(request, reason=reason)
    return django_csrf_failure(request, reason=reason, template_name=template_name)


def api_server_error(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse(error_body("server_error", _("Internal error; it has been logged.")), status=500)
