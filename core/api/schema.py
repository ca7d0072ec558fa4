"""The OpenAPI schema (drf-spectacular) as the API really answers (docs/api.md, "Schema").

``AutoSchema`` adds to what drf-spectacular infers:

- **error responses** on every operation, each the ``ErrorEnvelope`` component: 400 everywhere
  (malformed input, a NUL in the path or query, too many parameters), 401 / 403 where a login is
  needed, 404 / 422 where the path names an object (404 too where the list is paginated),
  404 / 409 / 413 / 415 / 422 on writes, and what a view adds in ``error_statuses`` (429 on login);
  plus 414 without a body everywhere: the HTTP server refuses an over-long request line;
- **nullability** of declared read-only fields whose model field (or any relation on the way to
  it) is nullable: ``merged_into``, ``created_by``, ``published_by`` are ``null`` when unset.

Paginated lists are declared per view with ``responses=Serializer(many=True)`` on a view with a
pagination class: drf-spectacular wraps them in ``{"count", "next", "previous", "results"}``.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions, serializers

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ERROR_DESCRIPTIONS = {
    "400": _("Invalid input (`invalid_input`, `malformed_json`, `unknown_field`, or the field's domain code)."),
    "401": _("No or bad credentials (`not_authenticated`, `authentication_failed`)."),
    "403": _("The role may not do this (`permission_denied`), or the CSRF check failed (`csrf_failed`)."),
    "404": _("No such object, or not visible to the caller; or a page past the last (`not_found`)."),
    "409": _("A business rule refused the change in the object's current state."),
    "413": _("The request body is too large (`request_too_large`)."),
    "415": _("Unsupported content type (`unsupported_media_type`)."),
    "422": _("A business rule refused the request."),
    "429": _("Too many failed attempts (`account_locked`)."),
}

URI_TOO_LONG = _("The request line is longer than the HTTP server accepts (4094 bytes); answered by the server.")


class ErrorFieldSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable snake_case code, e.g. `invalid_input`, `not_found`.")
    message = serializers.CharField(help_text="Human-readable, in the caller's language.")
    # A declared field named like Serializer.fields: the metaclass takes it out of the class.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=ErrorFieldSerializer()),
        required=False,
        help_text="Validation errors: field name → [{code, message}].",
    )
    details = serializers.JSONField(required=False, help_text="Extra data of a domain error.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorSerializer()


def _source_is_nullable(model, field: serializers.Field) -> bool:
    """Whether a declared field's source crosses a nullable model field (a null FK gives null)."""
    current = model
    for attr in getattr(field, "source_attrs", None) or []:
        if current is None:
            return False
        try:
            model_field = current._meta.get_field(attr)
        except FieldDoesNotExist:
            return False
        if getattr(model_field, "null", False):
            return True
        current = model_field.related_model if model_field.is_relation else None
    return False


class AutoSchema(SpectacularAutoSchema):
    def _map_basic_serializer(self, serializer, direction):
        model = getattr(getattr(serializer, "Meta", None), "model", None)
        widened = []
        if direction == "response" and model is not None and hasattr(serializer, "fields"):
            for field in serializer.fields.values():
                if not field.allow_null and not field.write_only and _source_is_nullable(model, field):
                    field.allow_null = True
                    widened.append(field)
        try:
            return super()._map_basic_serializer(serializer, direction)
        finally:
            for field in widened:  # the instance may be mapped again for requests
                field.allow_null = False

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        # Answered by the HTTP server before the application (gunicorn's limit_request_line,
        # gunicorn.conf.py): no body of ours, so no content is declared.
        responses.setdefault("414", {"description": str(URI_TOO_LONG)})
        for status_code in self._error_statuses():
            if status_code not in responses:
                response = self._get_response_for_code(ErrorEnvelopeSerializer, status_code, direction=direction)
                response["description"] = str(ERROR_DESCRIPTIONS[status_code])
                responses[status_code] = response
        return responses

    def _error_statuses(self) -> list[str]:
        statuses = {"400"}
        if self._needs_login():
            statuses |= {"401", "403"}
        names_an_object = "{" in self.path
        if names_an_object or self._is_paginated():
            statuses.add("404")
        if names_an_object:
            statuses.add("422")  # a domain error about the named object (unknown_agent, ...)
        if self.method in WRITE_METHODS:  # a body may name an unknown object too (404)
            statuses |= {"404", "409", "413", "415", "422"}
        statuses |= {str(code) for code in getattr(self.view, "error_statuses", ())}
        return sorted(statuses)

    def _needs_login(self) -> bool:
        classes = getattr(self.view, "permission_classes", ())
        return not all(issubclass(cls, permissions.AllowAny) for cls in classes if isinstance(cls, type))

    def _is_paginated(self) -> bool:
        return (
            self.method == "GET" and self._is_list_view() and getattr(self.view, "pagination_class", None) is not None
        )


class CsrfSessionScheme(SessionScheme):
    target_class = "core.api.authentication.CsrfSessionAuthentication"
