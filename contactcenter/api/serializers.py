"""Base for request (input) serializers: unknown fields are refused, not silently dropped."""

from django.utils.translation import gettext as _
from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """A request body with a field the API does not know is a 400 ``unknown_field``.

    A typo in an optional field name would otherwise be ignored and the request would
    go through with a default the caller did not mean.
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
        return super().to_internal_value(data)
