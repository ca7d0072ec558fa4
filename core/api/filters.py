"""django-filter filters under the API's edge rules (``core.api.validation``)."""

from __future__ import annotations

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from core.api.validation import MESSAGES, datetime_error


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime PostgreSQL can store: Django's form field keeps the offset it was
    given, and an offset beyond ±15:59 or a year outside 1900–2999 reached the database."""

    def to_python(self, value):
        parsed = super().to_python(value)
        code = datetime_error(parsed) if parsed is not None else None
        if code:
            raise forms.ValidationError(str(MESSAGES[code]), code=code)
        return parsed


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField
