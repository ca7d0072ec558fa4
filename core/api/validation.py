"""The API's edge rules for raw input, in one place (docs/api.md, "Input rules").

Each rule here exists because a value Python accepts is one PostgreSQL (or the code behind the
API) cannot take, and reaching it answered 500:

- **No NUL characters** anywhere: PostgreSQL text cannot hold ``\\x00``. Paths and query strings
  are checked by ``core.middleware.ApiEdgeMiddleware``; request bodies by
  ``InputSerializer`` (every string, however deep).
- **Integers in ASCII digits**, optionally signed, no surrounding space, within PostgreSQL's
  ``bigint``: ``int()`` takes ``"٣"``, ``"１６"``, ``" 16 "`` and ``"1_6"``, so an id typed in
  another script or with a stray space named a real account.
- **Datetimes PostgreSQL stores and the code can compute with**: a UTC offset of at most
  ±15:59 (PostgreSQL's limit), and an instant, or a date, between ``DATE_MIN`` and ``DATE_MAX``
  (far inside Python's years 1–9999, so adding a day or a deadline to any accepted value still
  works: ``date_to=9999-12-31`` used to overflow where the code adds a day).
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

NUL = "\x00"
ASCII_INTEGER = re.compile(r"-?[0-9]+")
# PostgreSQL bigint: every id column fits in it.
INTEGER_MAX = 2**63 - 1
INTEGER_MIN = -(2**63)
# PostgreSQL refuses a UTC offset beyond ±15:59 ("time zone displacement out of range").
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
# No event of this bank lies outside these; any deadline computed from them stays representable.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2999, 12, 31)
DATETIME_MIN = datetime(DATE_MIN.year, DATE_MIN.month, DATE_MIN.day, tzinfo=UTC)
DATETIME_MAX = datetime(DATE_MAX.year, DATE_MAX.month, DATE_MAX.day, 23, 59, 59, 999999, tzinfo=UTC)

MESSAGES = {
    "nul_character": _("NUL characters are not allowed."),
    "invalid_integer": _("A whole number in ASCII digits (0-9) is required, without spaces."),
    "integer_out_of_range": _("The number is out of range."),
    "utc_offset_out_of_range": _("The UTC offset must lie within ±15:59."),
    "date_out_of_range": _("The date must lie between 1900-01-01 and 2999-12-31."),
}


def error(code: str) -> serializers.ErrorDetail:
    return serializers.ErrorDetail(str(MESSAGES[code]), code=code)


def has_nul(value: Any) -> bool:
    """Whether a string, or any key or string inside a parsed JSON value, holds a NUL."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        for key, item in value.items():
            if (isinstance(key, str) and NUL in key) or (
                NUL in item if isinstance(item, str) else isinstance(item, dict | list | tuple) and has_nul(item)
            ):
                return True
        return False
    if isinstance(value, list | tuple):
        return any(
            NUL in item if isinstance(item, str) else isinstance(item, dict | list | tuple) and has_nul(item)
            for item in value
        )
    return False


def integer_error(raw: Any) -> str | None:
    """The code refusing a raw integer input (a JSON number or a query/form string), or None.

    Booleans and non-integral numbers are left to the field's own error; floats such as ``3.0``
    keep DRF's behaviour.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        if not ASCII_INTEGER.fullmatch(raw):
            return "invalid_integer"
        raw = int(raw)
    if isinstance(raw, int) and not INTEGER_MIN <= raw <= INTEGER_MAX:
        return "integer_out_of_range"
    return None


def datetime_error(value: datetime) -> str | None:
    """The code refusing a parsed datetime, or None. A naive one is judged as UTC."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        return "utc_offset_out_of_range"
    try:
        naive_utc = value.replace(tzinfo=None) - (offset or timedelta(0))
    except OverflowError:  # before year 1 or after 9999 in UTC
        return "date_out_of_range"
    if not DATETIME_MIN.replace(tzinfo=None) <= naive_utc <= DATETIME_MAX.replace(tzinfo=None):
        return "date_out_of_range"
    return None


def date_error(value: date) -> str | None:
    return None if DATE_MIN <= value <= DATE_MAX else "date_out_of_range"


def raw_datetime_error(raw: Any) -> str | None:
    """The code refusing a datetime string before a field parses it (None: let the field judge)."""
    if isinstance(raw, datetime):
        return datetime_error(raw)
    if not isinstance(raw, str):
        return None
    try:
        value = parse_datetime(raw.strip())
    except (ValueError, OverflowError):
        value = None
    if value is None:
        try:
            as_date = parse_date(raw.strip())
        except ValueError:
            return None
        return date_error(as_date) if as_date is not None else None
    return datetime_error(value)


def raw_date_error(raw: Any) -> str | None:
    if isinstance(raw, datetime):
        return datetime_error(raw)
    if isinstance(raw, date):
        return date_error(raw)
    if not isinstance(raw, str):
        return None
    try:
        value = parse_date(raw.strip())
    except ValueError:
        return None
    return date_error(value) if value is not None else None


def _list_error(field: serializers.ListField, raw: Any) -> str | None:
    if not isinstance(raw, list):
        return None
    return next((code for item in raw if (code := field_error(field.child, item))), None)


def _rule_for(field_class: type) -> Any:
    if issubclass(field_class, serializers.IntegerField):
        return lambda field, raw: integer_error(raw)
    if issubclass(field_class, serializers.DateTimeField):
        return lambda field, raw: raw_datetime_error(raw)
    if issubclass(field_class, serializers.DateField):
        return lambda field, raw: raw_date_error(raw)
    if issubclass(field_class, serializers.ListField):
        return _list_error
    return None


# Field class → its rule (or None): looked up once per class, the check runs on every request.
_RULES: dict[type, Any] = {}


def _rule(field: serializers.Field):
    field_class = type(field)
    try:
        return _RULES[field_class]
    except KeyError:
        return _RULES.setdefault(field_class, _rule_for(field_class))


def field_error(field: serializers.Field, raw: Any) -> str | None:
    """The edge rule a raw value breaks for the field it is meant for (see the module's rules)."""
    rule = _rule(field)
    return rule(field, raw) if rule is not None else None


def edge_errors(serializer: serializers.Serializer, data: Any) -> dict[str, list]:
    """The fields whose raw value breaks an edge rule, with their errors. A NUL anywhere is raised
    at once: nothing of such a body may reach a field's own validation (or the database)."""
    if has_nul(data):
        names = [name for name in getattr(data, "keys", list)() if has_nul(name) or has_nul(data.get(name))]
        raise serializers.ValidationError({name: [error("nul_character")] for name in names or ["non_field_errors"]})
    errors: dict[str, list] = {}
    if not hasattr(data, "keys"):
        return errors
    for name, field in serializer.fields.items():
        rule = _rule(field)
        if rule is None or field.read_only:
            continue
        raw = field.get_value(data)
        if raw is serializers.empty or raw is None or raw == "":
            continue
        code = rule(field, raw)
        if code:
            errors[name] = _failure(field, code)
    return errors


def validate_with_edges(serializer: serializers.Serializer, data: Any, to_internal_value) -> Any:
    """``to_internal_value`` under the edge rules: a value breaking one is refused with the rule's
    error (or the field's own coded one), and the other fields are still validated so that every
    bad field is reported, as DRF does — without the refused values, which never reach a field's
    ``validate_<name>`` or the serializer's ``validate``."""
    refused = edge_errors(serializer, data)
    if not refused:
        return to_internal_value(data)
    # Shallow: a multipart body's uploaded files cannot be deep-copied (QueryDict.copy() would).
    rest = copy.copy(data)
    for name in refused:
        rest.pop(name, None)
    try:
        to_internal_value(rest)
        others: dict = {}
    except serializers.ValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        others = {name: value for name, value in detail.items() if name not in refused}
    merged = {**others, **refused}
    ordered: dict[Any, Any] = {name: merged[name] for name in serializer.fields if name in merged}
    ordered.update({name: value for name, value in merged.items() if name not in ordered})
    raise serializers.ValidationError(ordered)


def _failure(field: serializers.Field, code: str) -> list:
    """The field's own error when it names its errors (``fail`` overridden: ``invalid_seq``...),
    else the rule's."""
    if type(field).fail is not serializers.Field.fail:
        try:
            field.fail("invalid")
        except serializers.ValidationError as exc:
            return list(exc.detail)
    return [error(code)]


def validate_in_range(value: date | datetime | None) -> None:
    """Django form-field validator of the same rule, for the pages' date and datetime fields."""
    if value is None:
        return
    code = datetime_error(value) if isinstance(value, datetime) else date_error(value)
    if code:
        from django.core.exceptions import ValidationError

        raise ValidationError(MESSAGES[code], code=code)
