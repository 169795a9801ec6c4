"""Shapes of the metrics API responses (for the OpenAPI schema and for output)."""

from __future__ import annotations

from rest_framework import serializers

from conversations.models import Contact
from integrations.models import LogEntry


class StatsSerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True, help_text="Median, seconds.")
    p90 = serializers.FloatField(allow_null=True, help_text="90th percentile, seconds.")
    n = serializers.IntegerField(help_text="How many samples.")


class CardsSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    waiting = serializers.IntegerField()
    unread = serializers.IntegerField()
    first_response_p50 = serializers.FloatField(allow_null=True)
    first_response_p90 = serializers.FloatField(allow_null=True)
    first_response_n = serializers.IntegerField()
    resolution_p50 = serializers.FloatField(allow_null=True)
    resolution_p90 = serializers.FloatField(allow_null=True)
    resolution_n = serializers.IntegerField()
    business_hours = serializers.BooleanField()


class TotalsSerializer(serializers.Serializer):
    tickets_created = serializers.IntegerField()
    tickets_resolved = serializers.IntegerField()
    tickets_reopened = serializers.IntegerField()
    messages_in = serializers.IntegerField()
    messages_out = serializers.IntegerField()
    messages_by_sender = serializers.DictField(child=serializers.IntegerField())
    unique_contacts = serializers.IntegerField()
    replies = serializers.IntegerField()
    bot_replies = serializers.IntegerField()
    ai_share_replies = serializers.FloatField(allow_null=True)
    ai_share_first_responses = serializers.FloatField(allow_null=True)
    ai_reservations = serializers.IntegerField()
    reply = StatsSerializer()
    bot_reply = StatsSerializer()
    first_response = StatsSerializer()
    resolution = StatsSerializer()
    handling = StatsSerializer()
    queue_wait = StatsSerializer()


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    business_hours = serializers.BooleanField()


class SummarySerializer(serializers.Serializer):
    period = PeriodSerializer()
    cards = CardsSerializer()
    totals = TotalsSerializer()


class DaySerializer(serializers.Serializer):
    date = serializers.DateField()
    # "in"/"out" are Python keywords: declared through the fields mapping below.
    first_response_p50 = serializers.FloatField(allow_null=True)
    reply_p50 = serializers.FloatField(allow_null=True)

    def get_fields(self):  # type: ignore[no-untyped-def]
        fields = super().get_fields()
        fields["in"] = serializers.IntegerField(help_text="Messages received.")
        fields["out"] = serializers.IntegerField(help_text="Messages sent.")
        return fields


class HourSerializer(serializers.Serializer):
    hour = serializers.IntegerField()
    count = serializers.IntegerField()


class TimeseriesSerializer(serializers.Serializer):
    daily = DaySerializer(many=True)
    hourly = HourSerializer(many=True)


class HeatmapSerializer(serializers.Serializer):
    cells = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="7 rows (Monday first) of 24 hourly counts of customer messages.",
    )
    timezone = serializers.CharField()


class AgentRowSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    tickets = serializers.IntegerField()
    messages = serializers.IntegerField()
    replies = serializers.IntegerField()
    first_response_p50 = serializers.FloatField(allow_null=True)
    first_response_p90 = serializers.FloatField(allow_null=True)
    reply_p50 = serializers.FloatField(allow_null=True)
    reply_p90 = serializers.FloatField(allow_null=True)
    resolved = serializers.IntegerField()
    resolution_p50 = serializers.FloatField(allow_null=True)
    online_seconds = serializers.FloatField(allow_null=True)


class QueueRowSerializer(serializers.Serializer):
    queue_id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()
    tickets_created = serializers.IntegerField()
    first_response_p50 = serializers.FloatField(allow_null=True)
    first_response_p90 = serializers.FloatField(allow_null=True)
    reply_p50 = serializers.FloatField(allow_null=True)
    resolution_p50 = serializers.FloatField(allow_null=True)
    queue_wait_p50 = serializers.FloatField(allow_null=True)


class ClientSerializer(serializers.ModelSerializer):
    ticket_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "name", "phone", "email", "is_group", "last_activity_at", "ticket_count"]
        read_only_fields = fields


class LogEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = LogEntry
        fields = ["id", "created_at", "level", "source", "integration", "message", "context"]
        read_only_fields = fields
