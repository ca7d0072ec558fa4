"""Query and response serializers of ``/api/reports/`` (DESIGN.md §6 "Reports and staffing")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api.serializers import InputSerializer
from core.api.validation import validate_in_range

from .selectors import GROUPS

MAX_DAYS = 400  # a year and its neighbouring month
MAX_INTERVAL_DAYS = 31  # 30-minute rows: 1,488 at most


def _range_error(field: str, message: str, code: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [serializers.ErrorDetail(message, code=code)]})


class PeriodQuerySerializer(InputSerializer):
    """``date_from`` and ``date_to``: local dates, inclusive; at most ``MAX_DAYS`` days."""

    date_from = serializers.DateField(validators=[validate_in_range])
    date_to = serializers.DateField(validators=[validate_in_range])

    def validate(self, attrs):
        if attrs["date_from"] > attrs["date_to"]:
            raise _range_error("date_to", str(_("date_to is before date_from.")), "invalid_range")
        if (attrs["date_to"] - attrs["date_from"]).days >= MAX_DAYS:
            raise _range_error(
                "date_to", str(_("At most %(days)d days at a time.") % {"days": MAX_DAYS}), "range_too_long"
            )
        return attrs


class TicketsQuerySerializer(PeriodQuerySerializer):
    # The page parameters are read (and checked) by the pagination.
    page = serializers.CharField(required=False)
    page_size = serializers.CharField(required=False)


class KpiQuerySerializer(PeriodQuerySerializer):
    queue = serializers.SlugField(required=False, allow_blank=True, max_length=40)
    agent = serializers.CharField(required=False, allow_blank=True, max_length=150)
    group_by = serializers.ChoiceField(choices=GROUPS, required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("group_by") == "interval" and (attrs["date_to"] - attrs["date_from"]).days >= MAX_INTERVAL_DAYS:
            raise _range_error(
                "date_to",
                str(_("At most %(days)d days at a time by interval.") % {"days": MAX_INTERVAL_DAYS}),
                "range_too_long",
            )
        return attrs


class KpiSerializer(serializers.Serializer):
    """The §6 figures; a ratio with a zero denominator is null."""

    offered = serializers.IntegerField()
    answered = serializers.IntegerField()
    abandoned = serializers.IntegerField()
    short_abandoned = serializers.IntegerField()
    service_level = serializers.FloatField(allow_null=True)
    asa_s = serializers.FloatField(allow_null=True)
    aht_s = serializers.FloatField(allow_null=True)
    abandon_rate = serializers.FloatField(allow_null=True)


class KpiRowSerializer(KpiSerializer):
    key = serializers.CharField(help_text="queue code, username, interval start (YYYY-MM-DDTHH:MM) or period")
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    answered_in_t = serializers.IntegerField()
    handled = serializers.IntegerField()
    avg_talk_s = serializers.FloatField(allow_null=True)
    avg_hold_s = serializers.FloatField(allow_null=True)
    avg_acw_s = serializers.FloatField(allow_null=True)
    max_wait_s = serializers.FloatField()
    transferred = serializers.IntegerField()
    callback_offered = serializers.IntegerField()


class KpiTableSerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=GROUPS)
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    rows = KpiRowSerializer(many=True)


class UnitTicketsSerializer(serializers.Serializer):
    unit = serializers.CharField()
    name = serializers.CharField()
    dispatched = serializers.IntegerField()
    closed = serializers.IntegerField()
    on_time_rate = serializers.FloatField(allow_null=True)
    satisfaction_rate = serializers.FloatField(allow_null=True)
    median_resolution_hours = serializers.FloatField(allow_null=True)
    overdue_now = serializers.IntegerField()
