from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import (
    Complexity,
    DistributionRule,
    Priority,
    Queue,
    QuickReply,
    ScheduledMessage,
    Ticket,
    TicketEvent,
)


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)
    email = serializers.EmailField(read_only=True)


class QueueBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Queue
        fields = ["id", "name", "color"]
        read_only_fields = fields


class ContactBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    is_group = serializers.BooleanField(read_only=True)


class ConversationBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    channel = serializers.CharField(source="integration.kind", read_only=True)
    integration = serializers.CharField(source="integration.name", read_only=True)
    is_group = serializers.BooleanField(read_only=True)
    group_name = serializers.CharField(read_only=True)
    last_inbound_at = serializers.DateTimeField(read_only=True)


class TicketSerializer(serializers.ModelSerializer):
    queue = QueueBriefSerializer(read_only=True)
    assignee = PersonSerializer(read_only=True)
    requester = PersonSerializer(read_only=True)
    contact = ContactBriefSerializer(read_only=True)
    conversation = ConversationBriefSerializer(read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "status",
            "priority",
            "tags",
            "queue",
            "assignee",
            "contact",
            "conversation",
            "title",
            "description",
            "complexity",
            "requester",
            "requested_for_name",
            "requested_for_email",
            "requested_for_phone",
            "ai_paused",
            "unread_count",
            "waiting_since",
            "created_at",
            "updated_at",
            "last_message_at",
            "queued_at",
            "assigned_at",
            "first_response_at",
            "resolved_at",
            "reopened_at",
            "reopen_count",
        ]
        read_only_fields = fields


class TicketEventSerializer(serializers.ModelSerializer):
    actor = PersonSerializer(read_only=True)

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "actor", "actor_label", "data", "note", "created_at"]
        read_only_fields = fields


class TimelineItemSerializer(serializers.Serializer):
    """One entry of the ticket timeline: ``item`` is "event" or "message"."""

    item = serializers.CharField()
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    kind = serializers.CharField(help_text=_("Event kind, or the message sender type."))
    data = serializers.DictField()  # type: ignore[assignment]  # the item's payload, not .data


# --- action inputs ----------------------------------------------------------------


class NoteInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class AssignInput(NoteInput):
    assignee = serializers.IntegerField(
        allow_null=True, help_text=_("User id of the new assignee; null unassigns.")
    )


class TransferInput(NoteInput):
    queue = serializers.IntegerField(required=False, allow_null=True, default=None)
    assignee = serializers.IntegerField(required=False, allow_null=True, default=None)


class PriorityInput(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)


class TagsInput(serializers.Serializer):
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50, allow_blank=True), max_length=50
    )


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    ticket = TicketSerializer()


class CountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    open = serializers.IntegerField()
    mine = serializers.IntegerField()
    unread = serializers.IntegerField()
    mine_unread = serializers.IntegerField()
    queues = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))


# --- queues -------------------------------------------------------------------------


class QueueSerializer(serializers.ModelSerializer):
    members: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    member_ids = serializers.ListField(
        child=serializers.IntegerField(),
        write_only=True,
        required=False,
        help_text=_("User ids of the members (replaces the list)."),
    )
    distribution = serializers.ChoiceField(choices=DistributionRule.choices, required=False)

    class Meta:
        model = Queue
        fields = [
            "id",
            "name",
            "color",
            "members",
            "member_ids",
            "greeting",
            "distribution",
            "business_hours",
            "out_of_hours_message",
            "is_default",
            "order",
        ]
        read_only_fields = ["id", "members"]


# --- quick replies & scheduled messages -----------------------------------------------


class QuickReplySerializer(serializers.ModelSerializer):
    personal = serializers.BooleanField(default=True, write_only=True)
    scope = serializers.SerializerMethodField()

    class Meta:
        model = QuickReply
        fields = ["id", "shortcut", "content", "personal", "scope", "updated_at"]
        read_only_fields = ["id", "scope", "updated_at"]

    def get_scope(self, obj: QuickReply) -> str:
        return "personal" if obj.owner_id else "company"


class ScheduledMessageSerializer(serializers.ModelSerializer):
    ticket = serializers.IntegerField(source="ticket.number", read_only=True)
    created_by = PersonSerializer(read_only=True)
    outside_24h_window = serializers.SerializerMethodField()

    class Meta:
        model = ScheduledMessage
        fields = [
            "id",
            "ticket",
            "content",
            "send_at",
            "status",
            "created_by",
            "message",
            "error",
            "created_at",
            "sent_at",
            "outside_24h_window",
        ]
        read_only_fields = fields

    def get_outside_24h_window(self, obj: ScheduledMessage) -> bool:
        from ..services.scheduled import outside_24h_window

        return outside_24h_window(obj.ticket.conversation, obj.send_at)


class ScheduleInput(serializers.Serializer):
    ticket = serializers.IntegerField(help_text=_("Ticket number."))
    content = serializers.CharField(max_length=4000)
    send_at = serializers.DateTimeField()


# --- web form -------------------------------------------------------------------------


class WebTicketInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10000)
    complexity = serializers.ChoiceField(choices=Complexity.choices)
    queue = serializers.IntegerField(required=False, allow_null=True, default=None)
    for_other = serializers.BooleanField(default=False)
    other_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    other_email = serializers.EmailField(required=False, allow_blank=True, default="")
    other_phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return attrs
