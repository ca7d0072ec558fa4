"""What telephone switches send, accepted in one place: call ids and caller numbers (ANI).

Shared by the IVR's switch API (``/api/ivr/calls/...``) and the CTI API (``/api/cti/events/``,
``/api/calls/{call_id}/...``), in request bodies and in URL paths alike (docs/ivr-switch.md,
docs/cti.md, "Call ids and caller numbers").

- **Call id**: 1 to ``CALL_ID_MAX_LENGTH`` (128) printable ASCII characters other than space and
  ``/`` — Asterisk ``1700000000.123``, FreeSWITCH UUIDs, SIP Call-IDs with ``@``, vendor ids with
  ``+ = ~ :``. A ``/`` cannot travel in one URL path segment, so it is not accepted.
- **ANI**: up to ``ANI_MAX_LENGTH`` (255) printable ASCII characters: a plain number, a
  ``tel:`` URI or a ``sip:``/``sips:`` URI (``sip:+8613800000001@10.0.0.1;user=phone``). It is
  kept as sent; ``ani_digits`` gives the number for look-ups (customer by mobile, callbacks).
  The called number (DNIS) may take the same forms (VoiceXML's ``session.connection.local.uri``).

Anything else is a 400 naming the field (``invalid_call_id`` / ``invalid_ani`` / ``invalid_dnis``).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from django.utils.translation import gettext as _
from rest_framework import serializers

CALL_ID_MAX_LENGTH = 128
ANI_MAX_LENGTH = 255
# Printable ASCII without space (0x21-0x7E), less "/" (0x2F).
CALL_ID_PATTERN = re.compile(r"[!-.0-~]{1,%d}" % CALL_ID_MAX_LENGTH)  # noqa: UP031 - a regex, not text
ANI_PATTERN = re.compile(r"[ -~]{0,%d}" % ANI_MAX_LENGTH)  # noqa: UP031
# How many digits a number kept for look-ups may have (E.164 has at most 15).
ANI_DIGITS_MAX = 32
# The user part of a sip:/sips: URI or the number of a tel: URI, also inside a name-addr (<...>).
URI_USER = re.compile(r"(?i)(?:sips?|tel):([^@;>\s]*)")


def call_id_message() -> str:
    return _("call_id must be 1 to %(max)d printable ASCII characters without spaces or /.") % {
        "max": CALL_ID_MAX_LENGTH
    }


def ani_message(field: str = "ani") -> str:
    return _("%(field)s must be a number, a tel: or a sip: URI of at most %(max)d printable ASCII characters.") % {
        "field": field,
        "max": ANI_MAX_LENGTH,
    }


def is_call_id(value: object) -> bool:
    return isinstance(value, str) and CALL_ID_PATTERN.fullmatch(value) is not None


def is_ani(value: object) -> bool:
    return isinstance(value, str) and ANI_PATTERN.fullmatch(value) is not None


def ani_digits(ani: str) -> str:
    """The caller's number in national digits for look-ups: ``sip:+8613800000001@host;user=phone``,
    ``"Zhang" <sip:13800000001@10.0.0.1>``, ``tel:+86-138-0000-0001`` and ``13800000001`` all give
    ``13800000001``; ``+86 22 1234 5678`` gives ``02212345678`` (the national trunk prefix back).
    No digits: ``""``."""
    text = unquote((ani or "").strip())
    uri = URI_USER.search(text)
    if uri is not None:
        text = uri.group(1)  # the user part of a sip:/sips: URI, the number of a tel: URI
    plus = text.startswith("+")
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    china = True
    if digits.startswith("0086"):
        digits = digits[4:]
    elif plus and digits.startswith("86"):
        digits = digits[2:]
    elif not plus and len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]  # 86 + a mobile number, without the "+"
    else:
        china = False  # a national number already, or another country's
    if china and digits and not digits.startswith("1"):
        digits = "0" + digits  # a landline: its area code after the national 0
    return digits[:ANI_DIGITS_MAX]


def call_id_error(value: object) -> serializers.ValidationError | None:
    """The 400 for a call id in a URL path, naming the field; ``None`` when it is valid."""
    if is_call_id(value):
        return None
    return serializers.ValidationError(
        {"call_id": [serializers.ErrorDetail(call_id_message(), code="invalid_call_id")]}
    )


class CallIdField(serializers.CharField):
    """A switch's call id (see the module's docstring); every failure is ``invalid_call_id``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not is_call_id(data):
            raise serializers.ValidationError(call_id_message(), code="invalid_call_id")
        return data

    def fail(self, key, **kwargs):  # missing, null, blank: all the one code
        raise serializers.ValidationError(call_id_message(), code="invalid_call_id")


class AniField(serializers.CharField):
    """A caller number as the switch sends it, kept as sent. The called number (DNIS) takes the
    same forms: ``AniField(code="invalid_dnis")``."""

    def __init__(self, *, code: str = "invalid_ani", **kwargs):
        self.error_code = code
        kwargs.setdefault("trim_whitespace", False)
        if "default" not in kwargs:
            kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not is_ani(data):  # kept exactly as sent: a control character is refused, not trimmed
            raise serializers.ValidationError(ani_message(self.field_name or "ani"), code=self.error_code)
        return data


class CallIdInPath:
    """Mixin for API views with ``{call_id}`` in their URL: a malformed one is a 400 naming the
    field (after authentication and permissions, so a stranger still gets 401/403)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        error = call_id_error(kwargs.get("call_id")) if "call_id" in kwargs else None
        if error is not None:
            raise error
