from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from .services import MAX_DAYS


class ErlangRequestSerializer(serializers.Serializer):
    calls = serializers.FloatField(min_value=0, max_value=100_000)
    interval_s = serializers.FloatField(min_value=1, max_value=86_400, default=1800)
    aht_s = serializers.FloatField(min_value=1, max_value=86_400)
    target_sl = serializers.FloatField(min_value=0.01, max_value=0.9999, default=0.8)
    target_t = serializers.FloatField(min_value=0, max_value=86_400, default=20)
    shrinkage = serializers.DecimalField(
        max_digits=6, decimal_places=4, min_value=0, max_value=Decimal("0.99"), default=Decimal("0")
    )
    max_occupancy = serializers.FloatField(min_value=0.01, max_value=1, default=1)


class ErlangARequestSerializer(ErlangRequestSerializer):
    patience_s = serializers.FloatField(min_value=1, max_value=3600, required=False)


class ErlangResponseSerializer(serializers.Serializer):
    raw_agents = serializers.IntegerField()
    agents = serializers.IntegerField()
    service_level = serializers.FloatField()
    asa_s = serializers.FloatField()
    occupancy = serializers.FloatField()
    waiting_probability = serializers.FloatField()


class RosterRequestSerializer(serializers.Serializer):
    start = serializers.DateField()
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS)


class SwapRequestSerializer(serializers.Serializer):
    agent_a = serializers.CharField(max_length=150)
    agent_b = serializers.CharField(max_length=150)
    date = serializers.DateField()
