from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.models import Integration, IntegrationKind, WebhookEvent, WebhookStatus


class IntegrationSerializer(serializers.ModelSerializer):
    """An integration as admins see it: secrets only masked, never in full."""

    webhook_url = serializers.SerializerMethodField()
    secrets = serializers.SerializerMethodField(help_text="Masked values of the stored secrets.")

    class Meta:
        model = Integration
        fields = [
            "id",
            "kind",
            "name",
            "is_active",
            "public_id",
            "webhook_url",
            "settings",
            "secrets",
            "last_event_at",
            "last_send_ok_at",
            "last_send_error_at",
            "last_send_error",
            "created_at",
        ]
        read_only_fields = fields

    def get_webhook_url(self, obj: Integration) -> str:
        return obj.webhook_url(self.context.get("request"))

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_secrets(self, obj: Integration) -> dict[str, str]:
        try:
            return obj.masked_secrets()
        except ValueError:
            return {"error": _("unreadable: check ATENDE_ENCRYPTION_KEYS")}


_STRINGS = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=2000))


class IntegrationCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IntegrationKind.choices)
    name = serializers.CharField(max_length=120)
    settings = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=500),
        required=False,
        default=dict,
    )
    secrets = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=2000),
        required=False,
        default=dict,
        write_only=True,
        help_text="Write-only; never returned.",
    )


class IntegrationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    is_active = serializers.BooleanField(required=False)
    settings = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=500),
        required=False,
        help_text='Replaces the given keys; "" removes one.',
    )
    secrets = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=2000),
        required=False,
        write_only=True,
        help_text="Write-only. Empty values keep the stored secret.",
    )
    clear_secrets = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, default=list
    )


class WebhookEventSerializer(serializers.ModelSerializer):
    integration_name = serializers.CharField(source="integration.name", read_only=True)

    class Meta:
        model = WebhookEvent
        fields = [
            "id",
            "integration",
            "integration_name",
            "kind",
            "delivery_id",
            "status",
            "error",
            "http_status",
            "attempts",
            "received_at",
            "processed_at",
            "processing_ms",
        ]
        read_only_fields = fields


class WebhookEventDetailSerializer(WebhookEventSerializer):
    body = serializers.SerializerMethodField()

    class Meta(WebhookEventSerializer.Meta):
        fields = [
            *WebhookEventSerializer.Meta.fields,
            "content_type",
            "url",
            "headers",
            "query",
            "body",
            "body_truncated",
        ]
        read_only_fields = fields

    def get_body(self, obj: WebhookEvent) -> str:
        return body_text(obj)


def body_text(event: WebhookEvent) -> str:
    """The raw body as text (undecodable bytes replaced) for people to read."""
    raw: Any = event.body
    return bytes(raw or b"").decode("utf-8", errors="replace")


WEBHOOK_STATUSES = WebhookStatus.values
