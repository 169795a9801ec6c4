from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversations.models import Contact, Conversation, Message


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "phone",
            "email",
            "is_group",
            "avatar_url",
            "created_at",
            "last_activity_at",
        ]
        read_only_fields = fields


class ContactRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "phone", "is_group"]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer):
    contact = ContactRefSerializer(read_only=True)
    channel = serializers.SerializerMethodField()
    ticket = serializers.SerializerMethodField()
    last_message = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id",
            "external_id",
            "contact",
            "channel",
            "is_group",
            "group_name",
            "created_at",
            "last_message_at",
            "last_inbound_at",
            "ticket",
            "last_message",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "integration": {"type": "integer"},
                "kind": {"type": "string"},
                "name": {"type": "string"},
            },
        }
    )
    def get_channel(self, obj: Conversation) -> dict[str, Any]:
        return {
            "integration": obj.integration_id,
            "kind": obj.integration.kind,
            "name": obj.integration.name,
        }

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "id": {"type": "integer"},
                "number": {"type": "integer"},
                "status": {"type": "string"},
            },
        }
    )
    def get_ticket(self, obj: Conversation) -> dict[str, Any] | None:
        ticket_id = getattr(obj, "ticket_id", None)
        if ticket_id is None:
            return None
        # Annotated by selectors.conversation_list.
        return {
            "id": ticket_id,
            "number": getattr(obj, "ticket_number", None),
            "status": getattr(obj, "ticket_status", None),
        }

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "content": {"type": "string"},
                "direction": {"type": "string"},
                "delivery_status": {"type": "string"},
            },
        }
    )
    def get_last_message(self, obj: Conversation) -> dict[str, Any] | None:
        direction = getattr(obj, "last_message_direction", None)
        if direction is None:
            return None
        return {
            "content": (getattr(obj, "last_message_content", "") or "")[:200],
            "direction": direction,
            "delivery_status": getattr(obj, "last_message_status", None),
        }


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "conversation",
            "ticket",
            "direction",
            "sender_type",
            "sender_user",
            "sender_name",
            "content",
            "content_type",
            "attachments",
            "transcription",
            "is_private",
            "delivery_status",
            "error_code",
            "error_message",
            "send_attempts",
            "external_id",
            "client_id",
            "deleted",
            "edited_at",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class AttachmentInSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=1000)
    # A plain string (not an enum) so the schema's "kind" enum stays the integration kind.
    kind = serializers.RegexField(
        r"^(image|audio|video|file)$",
        required=False,
        default="file",
        help_text="image, audio, video or file",
    )
    mime_type = serializers.CharField(max_length=100, required=False, allow_blank=True)
    filename = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ReplySerializer(serializers.Serializer):
    content = serializers.CharField(max_length=10_000, allow_blank=True, trim_whitespace=True)
    private = serializers.BooleanField(required=False, default=False)
    attachments = AttachmentInSerializer(many=True, required=False, default=list)
