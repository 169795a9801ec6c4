"""Contacts, conversations and messages: what customers and staff said, on which channel."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.base import ContentType, DeliveryStatus, Direction, SenderType
from tenants.models import CompanyOwned

# Labels for the adapter enums (integrations.base stays free of Django and translations).
DIRECTION_CHOICES = [
    (Direction.INBOUND.value, _("Inbound")),
    (Direction.OUTBOUND.value, _("Outbound")),
]
SENDER_TYPE_CHOICES = [
    (SenderType.CONTACT.value, _("Customer")),
    (SenderType.AGENT.value, _("Agent")),
    (SenderType.BOT.value, _("Bot")),
    (SenderType.SYSTEM.value, _("System")),
]
CONTENT_TYPE_CHOICES = [
    (ContentType.TEXT.value, _("Text")),
    (ContentType.IMAGE.value, _("Image")),
    (ContentType.AUDIO.value, _("Audio")),
    (ContentType.VIDEO.value, _("Video")),
    (ContentType.FILE.value, _("File")),
    (ContentType.LOCATION.value, _("Location")),
    (ContentType.CONTACT_CARD.value, _("Contact card")),
    (ContentType.STICKER.value, _("Sticker")),
    (ContentType.INTERACTIVE.value, _("Interactive")),
    (ContentType.OTHER.value, _("Other")),
]
DELIVERY_STATUS_CHOICES = [
    (DeliveryStatus.PENDING.value, _("Pending")),
    (DeliveryStatus.SENT.value, _("Sent")),
    (DeliveryStatus.DELIVERED.value, _("Delivered")),
    (DeliveryStatus.READ.value, _("Read")),
    (DeliveryStatus.FAILED.value, _("Failed")),
    (DeliveryStatus.RECEIVED.value, _("Received")),
]


class Contact(CompanyOwned):
    """One customer (or one WhatsApp group) of a company, across its channels.

    ``phone_key`` (see conversations.phones.phone_key) makes Brazilian mobiles with and
    without the ninth digit one contact.
    """

    name = models.CharField(_("name"), max_length=200, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=32, blank=True, default="")  # E.164
    phone_key = models.CharField(max_length=32, blank=True, default="", editable=False)
    email = models.EmailField(_("email"), blank=True, default="")
    is_group = models.BooleanField(_("group"), default=False)
    avatar_url = models.URLField(_("avatar"), max_length=1000, blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "phone_key"],
                condition=~Q(phone_key=""),
                name="contact_unique_phone_per_company",
            )
        ]
        indexes = [
            models.Index(fields=["company", "name"]),
            models.Index(fields=["company", "last_activity_at"]),
        ]

    def __str__(self) -> str:
        return self.name or self.phone or self.email or f"#{self.pk}"


class ContactIdentity(CompanyOwned):
    """The contact's id on one integration (Chatwoot contact id, WhatsApp JID, WaId...)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    integration = models.ForeignKey(
        "integrations.Integration", on_delete=models.CASCADE, related_name="+"
    )
    external_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"], name="contact_identity_unique"
            )
        ]


class Conversation(CompanyOwned):
    """The thread with one contact (or one group) on one integration, keyed by the
    platform's conversation id. Status/assignee/queue live on the ticket, not here."""

    integration = models.ForeignKey(
        "integrations.Integration", on_delete=models.CASCADE, related_name="conversations"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    external_id = models.CharField(_("platform conversation id"), max_length=200)
    is_group = models.BooleanField(_("group"), default=False)
    group_name = models.CharField(_("group name"), max_length=200, blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Last customer message: WhatsApp's 24-hour customer-service window starts here.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # AI buffer (DESIGN.md): inbound messages newer than the cursor wait for one reply.
    ai_pending_since = models.DateTimeField(null=True, blank=True)
    ai_cursor_message_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"], name="conversation_unique_external"
            )
        ]
        indexes = [
            models.Index(fields=["company", "last_message_at"]),
            models.Index(
                fields=["ai_pending_since"],
                condition=Q(ai_pending_since__isnull=False),
                name="conversation_ai_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.group_name or str(self.contact)


class Message(CompanyOwned):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=DIRECTION_CHOICES)
    sender_type = models.CharField(max_length=10, choices=SENDER_TYPE_CHOICES)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sender_name = models.CharField(max_length=200, blank=True, default="")
    content = models.TextField(blank=True, default="")
    content_type = models.CharField(
        max_length=20,
        default=ContentType.TEXT,
        choices=CONTENT_TYPE_CHOICES,
    )
    attachments = models.JSONField(default=list, blank=True)  # [{url, kind, mime_type, ...}]
    transcription = models.TextField(blank=True, default="")  # audio, by the AI attendant
    is_private = models.BooleanField(_("private note"), default=False)
    delivery_status = models.CharField(
        max_length=10,
        default=DeliveryStatus.RECEIVED,
        choices=DELIVERY_STATUS_CHOICES,
    )
    error_code = models.CharField(max_length=40, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    send_attempts = models.PositiveSmallIntegerField(default=0)
    # The platform's message id; unique per conversation so a duplicate delivery is a no-op.
    external_id = models.CharField(max_length=200, null=True, blank=True)
    # Our id for messages we send: platforms echo it back, so the echo is recognised.
    client_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Set by the AI attendant: the last inbound message a reply answers (never two replies).
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    deleted = models.BooleanField(default=False)
    edited_at = models.DateTimeField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)  # the platform's time
    received_at = models.DateTimeField(auto_now_add=True)  # ours
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_unique_external",
            ),
            models.UniqueConstraint(
                fields=["conversation", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="message_unique_idempotency",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "conversation", "id"]),
            models.Index(fields=["company", "created_at"]),
            models.Index(fields=["ticket", "id"]),
            # Status callbacks that name only the platform's message id (no conversation).
            models.Index(
                fields=["company", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_external_id",
            ),
            models.Index(
                fields=["company", "delivery_status"],
                condition=Q(delivery_status__in=["pending", "failed"]),
                name="message_send_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender_type}: {self.content[:40]}"


class ParkedMessageEvent(CompanyOwned):
    """A status or edit that arrived before the message it is about (platforms deliver
    out of order). Applied, then deleted, when the message is stored or gets its id."""

    class Kind(models.TextChoices):
        STATUS = "status", _("Delivery status")
        UPDATE = "update", _("Edit or deletion")

    integration = models.ForeignKey(
        "integrations.Integration", on_delete=models.CASCADE, related_name="+"
    )
    external_message_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("parked message event")
        verbose_name_plural = _("parked message events")
        indexes = [models.Index(fields=["integration", "external_message_id"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.external_message_id}"
