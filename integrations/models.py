"""Integrations (one per connected platform account), the raw webhook log, and logs."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tenants.models import CompanyOwned

from . import crypto


def new_public_id() -> str:
    return secrets.token_urlsafe(18)  # 144 bits: unguessable


class IntegrationKind(models.TextChoices):
    CHATWOOT = "chatwoot", "Chatwoot"
    TWILIO = "twilio", "Twilio WhatsApp"
    UMBLER = "umbler", "Umbler Talk"
    WEB = "web", _("Web form")


class Integration(CompanyOwned):
    kind = models.CharField(_("kind"), max_length=20, choices=IntegrationKind.choices)
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    public_id = models.CharField(
        _("public webhook id"), max_length=40, unique=True, default=new_public_id, editable=False
    )
    # Non-secret configuration: base_url, account_id, inbox_id, phone_number, ...
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    # Secret configuration (api_token, auth_token, webhook_secret, url_token...), encrypted.
    secrets_encrypted = models.TextField(_("secrets (encrypted)"), blank=True, default="")
    last_event_at = models.DateTimeField(_("last event received"), null=True, blank=True)
    last_send_ok_at = models.DateTimeField(_("last send ok"), null=True, blank=True)
    last_send_error_at = models.DateTimeField(_("last send failed"), null=True, blank=True)
    last_send_error = models.TextField(_("last send error"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        indexes = [models.Index(fields=["company", "kind"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def get_secrets(self) -> dict[str, str]:
        return crypto.decrypt_json(self.secrets_encrypted)

    def set_secrets(self, values: dict[str, str]) -> None:
        self.secrets_encrypted = crypto.encrypt_json({k: v for k, v in values.items() if v})

    def masked_secrets(self) -> dict[str, str]:
        return {k: crypto.mask(v) for k, v in self.get_secrets().items()}

    def webhook_path(self) -> str:
        return reverse("webhooks:receive", kwargs={"kind": self.kind, "public_id": self.public_id})

    def webhook_url(self, request: Any = None) -> str:
        base = settings.PUBLIC_BASE_URL
        if not base and request is not None:
            base = request.build_absolute_uri("/").rstrip("/")
        return f"{base}{self.webhook_path()}"


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    DUPLICATE = "duplicate", _("Duplicate")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")


class WebhookEvent(CompanyOwned):
    """Every request to a webhook URL, as received, before anything is parsed."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20)
    delivery_id = models.CharField(max_length=200, blank=True, default="")
    body = models.BinaryField()
    body_truncated = models.BooleanField(default=False)
    content_type = models.CharField(max_length=200, blank=True, default="")
    headers = models.JSONField(default=dict, blank=True)
    query = models.JSONField(default=dict, blank=True)
    url = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=20, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED
    )
    error = models.TextField(blank=True, default="")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    processing_ms = models.FloatField(null=True, blank=True)
    # The signature/token was checked when received: a replay need not re-verify (the
    # stored copy masks tokens, and Chatwoot timestamps expire).
    verified = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        indexes = [
            models.Index(fields=["company", "status", "received_at"]),
            models.Index(fields=["integration", "delivery_id"]),
            models.Index(fields=["company", "received_at"]),
            # The ingest workers' queue: the events waiting in "received", oldest first.
            models.Index(
                fields=["id"],
                name="webhookevent_waiting",
                condition=models.Q(status="received"),
            ),
            # The retention (integrations/services/retention.py): the oldest first.
            models.Index(fields=["received_at"], name="webhookevent_received"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.status}"


class WebhookDelivery(models.Model):
    """Claim of one platform delivery id, written in the same transaction as its ingest.

    The unique constraint is what stops a repeated delivery (the platform retrying, two
    workers receiving the same post): the second claim finds the first and the event is a
    ``duplicate``. A failed ingest rolls its claim back, so the platform's retry (or a
    replay) is processed normally.
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    delivery_id = models.CharField(max_length=200)
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "delivery_id"], name="webhook_delivery_unique"
            )
        ]

    def __str__(self) -> str:
        return self.delivery_id


class LogLevel(models.TextChoices):
    DEBUG = "debug", _("Debug")
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    ERROR = "error", _("Error")


class LogEntry(CompanyOwned):
    integration = models.ForeignKey(
        Integration, on_delete=models.SET_NULL, null=True, blank=True, related_name="logs"
    )
    level = models.CharField(max_length=10, choices=LogLevel.choices, default=LogLevel.INFO)
    source = models.CharField(max_length=40)  # webhook, send, ai, sheets, routing, ...
    message = models.TextField()
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("log entry")
        verbose_name_plural = _("log entries")
        indexes = [models.Index(fields=["company", "level", "created_at"])]

    def __str__(self) -> str:
        return f"[{self.level}] {self.source}: {self.message[:60]}"


# The AI attendant's models live in their package; importing them here registers them.
from integrations.ai.models import (  # noqa: E402, F401
    AIPendingConversation,
    AIReplyLog,
    AIReservation,
    AISettings,
)
