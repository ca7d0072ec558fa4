"""Request and response bodies of ``/api/outbound/`` (docs/outbound.md, "API")."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import InputSerializer, QuerySerializer

from . import phones, services
from .models import (
    Campaign,
    CampaignContact,
    CampaignKind,
    ContactStatus,
    DialMode,
    DncReason,
    DoNotCall,
    ImportJob,
    Outcome,
)


class RetryMinutesField(serializers.DictField):
    child = serializers.IntegerField(min_value=1, max_value=43200)

    def to_internal_value(self, data: Any) -> dict[str, int]:
        value = super().to_internal_value(data)
        unknown = sorted(set(value) - set(services.DEFAULT_RETRY_MINUTES))
        if unknown:
            raise serializers.ValidationError(_("Unknown retry keys: %(keys)s.") % {"keys": ", ".join(unknown)})
        return value


@extend_schema_field({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$", "example": "09:00"})
class LocalTimeField(serializers.TimeField):
    """A local time of day (Asia/Shanghai), ``HH:MM`` — no UTC offset: a calling window is the
    clock on the wall, whatever the date."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%H:%M")
        super().__init__(**kwargs)


class CampaignSerializer(serializers.ModelSerializer):
    queue: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    window_start = LocalTimeField(read_only=True)
    window_end = LocalTimeField(read_only=True)
    # Counted on the list and after a write; null where the page did not count them.
    contacts_total = serializers.SerializerMethodField()
    contacts_open = serializers.SerializerMethodField()

    def get_contacts_total(self, obj: Campaign) -> int | None:
        return getattr(obj, "contacts_total", None)

    def get_contacts_open(self, obj: Campaign) -> int | None:
        return getattr(obj, "contacts_open", None)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "mode",
            "status",
            "script",
            "queue",
            "blended",
            "outcomes",
            "window_start",
            "window_end",
            "allow_holidays",
            "date_from",
            "date_to",
            "max_attempts",
            "retry_minutes",
            "caller_id",
            "created_by",
            "created_at",
            "updated_at",
            "contacts_total",
            "contacts_open",
        ]
        read_only_fields = fields


class CampaignWriteSerializer(InputSerializer):
    """The fields of a campaign; on ``PATCH`` every one is optional (``code`` and ``kind`` only
    when creating)."""

    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=CampaignKind.choices)
    mode = serializers.ChoiceField(choices=DialMode.choices, default=DialMode.PREVIEW)
    script = serializers.CharField(allow_blank=True, default="", max_length=20000)
    queue = serializers.CharField(max_length=32)
    blended = serializers.BooleanField(default=True)
    outcomes = serializers.ListField(
        child=serializers.ChoiceField(choices=[(str(o), str(o)) for o in services.AGENT_OUTCOMES]),
        default=list,
        max_length=len(services.AGENT_OUTCOMES),
    )
    window_start = LocalTimeField()
    window_end = LocalTimeField()
    allow_holidays = serializers.BooleanField(default=False)
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    max_attempts = serializers.IntegerField(min_value=1, max_value=20, default=3)
    retry_minutes = RetryMinutesField(default=dict)
    caller_id = serializers.CharField(max_length=32, allow_blank=True, default="")


class ContactSerializer(serializers.ModelSerializer):
    reserved_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # Empty until the first dial's result: the schema lists the blank too.
    last_outcome = serializers.ChoiceField(choices=[("", ""), *Outcome.choices], read_only=True)
    phone_display = serializers.SerializerMethodField()

    class Meta:
        model = CampaignContact
        fields = [
            "id",
            "phone",
            "phone_display",
            "name",
            "customer_id",
            "source",
            "source_ref",
            "data",
            "status",
            "attempts",
            "next_attempt_at",
            "last_outcome",
            "reserved_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_phone_display(self, obj: CampaignContact) -> str:
        return phones.display(obj.phone)


class ContactAddSerializer(InputSerializer):
    phone = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=100, allow_blank=True, default="")
    customer_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)

    def validate_phone(self, value: str) -> str:
        number = phones.normalize(value)
        if number is None:
            raise serializers.ValidationError(_("Not a Chinese mobile or fixed-line number."), code="invalid_phone")
        return number


class ContactQuerySerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=ContactStatus.choices, required=False)


class ImportJobSerializer(serializers.ModelSerializer):
    campaign: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "campaign",
            "source",
            "file_name",
            "params",
            "status",
            "rows_read",
            "rows_added",
            "rows_duplicate",
            "rows_invalid",
            "rows_dnc",
            "problems",
            "error",
            "created_by",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class SegmentSerializer(InputSerializer):
    segment = serializers.ChoiceField(choices=[("card_balance_sms", "card_balance_sms")], default="card_balance_sms")
    min_balance = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    sms_notice = serializers.BooleanField(allow_null=True, default=True)
    limit = serializers.IntegerField(min_value=1, max_value=200_000, required=False, allow_null=True, default=None)


class DncSerializer(serializers.ModelSerializer):
    added_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    removed_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DoNotCall
        fields = [
            "id",
            "phone",
            "reason",
            "all_campaigns",
            "note",
            "customer_id",
            "added_by",
            "created_at",
            "removed_at",
            "removed_by",
            "removal_note",
        ]
        read_only_fields = fields


class DncAddSerializer(InputSerializer):
    phone = serializers.CharField(max_length=40)
    reason = serializers.ChoiceField(choices=DncReason.choices)
    all_campaigns = serializers.BooleanField(default=False)
    note = serializers.CharField(max_length=200, allow_blank=True, default="")
    customer_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class DncRemoveSerializer(InputSerializer):
    note = serializers.CharField(max_length=200)


class DncQuerySerializer(QuerySerializer):
    phone = serializers.RegexField(r"^\d{1,20}$", required=False)
    include_removed = serializers.BooleanField(required=False, default=False)


class FiguresQuerySerializer(QuerySerializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": [_("Before the first day.")]}, code="invalid_dates")
        return attrs
