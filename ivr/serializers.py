"""Request and response bodies of the IVR API. Input errors carry stable codes
(``invalid_call_id``, ``seq_required``, ``invalid_seq``, ``invalid_event_type``, ``invalid_digits``)."""

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api.serializers import FlatInputSerializer, InputSerializer
from core.api.telephony import AniField, CallIdField

from .models import MenuVersion
from .services import DIGITS_PATTERN

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_SEQ = 1_000_000


class CodedFieldMixin:
    """Every failure of the field is reported with one domain code instead of DRF's generic ones."""

    error_code = "invalid_input"
    required_code = ""

    def fail(self, key, **kwargs):
        if key in {"required", "null"} and self.required_code:
            raise serializers.ValidationError(_("This field is required."), code=self.required_code)
        raise serializers.ValidationError(self.default_message, code=self.error_code)


class SeqField(CodedFieldMixin, serializers.IntegerField):
    error_code = "invalid_seq"
    required_code = "seq_required"
    default_message = _("seq must be a whole number from 1 up.")

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not 1 <= value <= MAX_SEQ:
            self.fail("invalid")
        return value


class DigitsField(CodedFieldMixin, serializers.CharField):
    error_code = "invalid_digits"
    default_message = _("digits may hold only 0-9 and *, at most 32 of them (no #).")

    def to_internal_value(self, data):
        if not isinstance(data, str) or not DIGITS_PATTERN.fullmatch(data):
            self.fail("invalid")
        return data


class EventTypeField(CodedFieldMixin, serializers.ChoiceField):
    error_code = "invalid_event_type"
    default_message = _("type must be digits, timeout or hangup.")


class CallStartSerializer(FlatInputSerializer):
    # Call ids and caller numbers as switches send them: core.api.telephony.
    call_id = CallIdField()
    ani = AniField(default="")
    dnis = AniField(default="", code="invalid_dnis")  # the called number: the same forms


class CallEventSerializer(FlatInputSerializer):
    seq = SeqField()
    type = EventTypeField(choices=["digits", "timeout", "hangup"])
    digits = DigitsField(required=False, allow_blank=True, trim_whitespace=False, default="")

    def validate(self, attrs):
        if attrs["type"] != "digits" and attrs.get("digits"):
            raise serializers.ValidationError(
                {"digits": [serializers.ErrorDetail(_("Only a digits event carries digits."), code="invalid_digits")]}
            )
        return attrs


class SimulatorStartSerializer(InputSerializer):
    version = serializers.IntegerField(required=False, allow_null=True, default=None)


class StatisticsQuerySerializer(InputSerializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()

    def validate(self, attrs):
        if attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError(
                {"date_to": [serializers.ErrorDetail(_("date_to is before date_from."), code="invalid_range")]}
            )
        if (attrs["date_to"] - attrs["date_from"]).days > 366:
            raise serializers.ValidationError(
                {"date_to": [serializers.ErrorDetail(_("At most 367 days at a time."), code="range_too_long")]}
            )
        return attrs


class MenuCreateSerializer(InputSerializer):
    from_version = serializers.IntegerField(required=False)
    tree = serializers.JSONField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def validate(self, attrs):
        if ("from_version" in attrs) == ("tree" in attrs):
            raise serializers.ValidationError(
                {"tree": [serializers.ErrorDetail(_("Give either from_version or tree."), code="invalid_input")]}
            )
        return attrs


class MenuTreeSerializer(InputSerializer):
    tree = serializers.JSONField()


class MenuVersionSerializer(serializers.ModelSerializer):
    created_by: "serializers.SlugRelatedField[User]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    published_by: "serializers.SlugRelatedField[User]" = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = MenuVersion
        fields = [
            "id",
            "number",
            "status",
            "note",
            "root_key",
            "revision",
            "created_at",
            "created_by",
            "published_at",
            "published_by",
        ]
