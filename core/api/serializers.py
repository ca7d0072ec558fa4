"""Base for request (input) serializers: unknown fields are refused, not silently dropped."""

import copy

from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.validation import validate_with_edges


class InputSerializer(serializers.Serializer):
    """A request body with a field the API does not know is a 400 ``unknown_field``.

    A typo in an optional field name would otherwise be ignored and the request would
    go through with a default the caller did not mean.

    The edge rules of ``core.api.validation`` (no NUL characters, integers in ASCII
    digits, datetimes PostgreSQL can store) are checked here for every field, before the fields
    parse: one place for every request body and every query validated with a serializer.
    """

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [serializers.ErrorDetail(_("Unknown field."), code="unknown_field")] for name in unknown}
                )
        elif data is not None:
            raise serializers.ValidationError(
                {"non_field_errors": [serializers.ErrorDetail(_("Expected a JSON object."), code="invalid_body")]}
            )
        return validate_with_edges(self, data, super().to_internal_value)


class QuerySerializer(serializers.Serializer):
    """Query parameters read with a serializer that tolerates parameters it does not declare
    (``page``, ``page_size``): the same edge rules as ``InputSerializer``."""

    def to_internal_value(self, data):
        return validate_with_edges(self, data, super().to_internal_value)


class FlatInputSerializer(InputSerializer):
    """An input serializer of plain fields only (no nested serializers or list fields), for
    bodies a switch posts on every step: each request's fields are shallow copies of the
    declared ones. DRF deep-copies them, which re-runs every field's ``__init__`` and cost
    about as much as validating the body; a plain field's per-request state (its binding) lives
    on the copy either way."""

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}
