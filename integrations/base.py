"""The contract between platform adapters and the ingest services.

An adapter (``integrations/<platform>/adapter.py``) turns one webhook request into a
``ParseResult`` holding plain frozen dataclasses. Adapters never touch the ORM, the
network or the clock (``now`` is passed in), so they are pure and testable on recorded
payloads. The conversations/tickets services turn these dataclasses into rows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class WebhookError(Exception):
    """Base for errors an adapter raises; ``http_status`` is what the sender gets."""

    http_status = 400


class BadRequest(WebhookError):
    """Malformed body, wrong content type or missing fields: 400, kept as ``failed``."""

    http_status = 400


class SignatureError(WebhookError):
    """Bad or missing signature/token: 401, kept as ``rejected``, nothing ingested."""

    http_status = 401


class SenderType(enum.StrEnum):
    CONTACT = "contact"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class ContentType(enum.StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    FILE = "file"
    LOCATION = "location"
    CONTACT_CARD = "contact"
    STICKER = "sticker"
    INTERACTIVE = "interactive"  # button replies, list replies, forms
    OTHER = "other"


class DeliveryStatus(enum.StrEnum):
    """Ordered: a status only ever moves forward (see ``DELIVERY_ORDER``)."""

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    RECEIVED = "received"  # inbound messages


DELIVERY_ORDER: dict[str, int] = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    # failed is terminal for an outbound message but a later "delivered"/"read" proves
    # the platform delivered after all, so it ranks with "sent".
    DeliveryStatus.FAILED: 1,
    DeliveryStatus.RECEIVED: 0,
}


class ConversationStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class ContactInfo:
    """A person or a WhatsApp group as the platform describes it."""

    external_id: str = ""  # the platform's contact id ("" when unknown)
    name: str = ""
    phone: str = ""  # as received; the service normalises to E.164
    email: str = ""
    identifier: str = ""  # e.g. WhatsApp JID "5511...@s.whatsapp.net" / "...@g.us"
    is_group: bool = False
    avatar_url: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Attachment:
    url: str
    kind: str = ContentType.FILE  # one of ContentType values
    mime_type: str = ""
    filename: str = ""
    size: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # width/height/coords/transcript...


@dataclass(frozen=True)
class InboundMessage:
    """A message created on the platform (from the contact, an agent, a bot...).

    ``direction`` is from Atende's point of view: messages sent by the business on the
    platform itself (an agent answering in Chatwoot) are ``OUTBOUND``.
    """

    external_conversation_id: str
    external_message_id: str
    contact: ContactInfo
    direction: Direction = Direction.INBOUND
    sender_type: SenderType = SenderType.CONTACT
    sender_name: str = ""  # group participant or agent name
    sender_external_id: str = ""
    content: str = ""
    content_type: str = ContentType.TEXT
    attachments: tuple[Attachment, ...] = ()
    is_private: bool = False  # internal note
    created_at: datetime | None = None
    group_name: str = ""  # for group conversations
    # A marker our own outbound sends carry so their echo is recognised
    # (e.g. Chatwoot content_attributes["atende_message_id"]); "" when absent.
    echo_key: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)  # location, button payload, reply-to...


@dataclass(frozen=True)
class MessageUpdate:
    """An edit or deletion of a message already sent."""

    external_conversation_id: str
    external_message_id: str
    content: str | None = None  # None: unchanged
    deleted: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True)
class StatusUpdate:
    """Delivery status of a message we sent (or the platform sent for us)."""

    external_message_id: str
    status: str  # a DeliveryStatus value
    external_conversation_id: str = ""
    error_code: str = ""
    error_message: str = ""
    at: datetime | None = None


UNCHANGED: Any = None  # readability alias: fields left None mean "not in this event"


@dataclass(frozen=True)
class ConversationChange:
    """Conversation-level facts: created, status, assignee, team/sector, labels."""

    external_conversation_id: str
    contact: ContactInfo | None = None
    status: str | None = None  # a ConversationStatus value, None when not stated
    # Assignee/team: None = not stated in this event; "" = explicitly unassigned.
    assignee_external_id: str | None = None
    assignee_name: str = ""
    team_external_id: str | None = None
    team_name: str = ""
    labels: tuple[str, ...] | None = None
    priority: str | None = None
    is_group: bool = False
    group_name: str = ""
    created: bool = False  # the platform says the conversation was just created
    at: datetime | None = None


@dataclass(frozen=True)
class ContactChange:
    contact: ContactInfo


@dataclass(frozen=True)
class Ignored:
    """A well-formed event we deliberately do nothing with (answered 2xx, status ignored)."""

    reason: str


Event = InboundMessage | MessageUpdate | StatusUpdate | ConversationChange | ContactChange | Ignored


@dataclass(frozen=True)
class WebhookRequest:
    """What the generic webhook view hands to an adapter: the request, nothing Django."""

    raw_body: bytes
    content_type: str  # without parameters, lower-case ("application/json")
    headers: Mapping[str, str]  # case-insensitive lookups are the adapter's job: keys lower-case
    query: Mapping[str, str]
    url: str  # the public URL the platform called (for Twilio signatures)
    now: datetime


@dataclass(frozen=True)
class ParseResult:
    events: tuple[Event, ...]
    # The platform's delivery id (X-Chatwoot-Delivery, Umbler EventId, Twilio MessageSid
    # + status) used to de-duplicate whole deliveries; "" when the platform has none.
    delivery_id: str = ""


class Adapter(Protocol):
    kind: str

    def verify(self, request: WebhookRequest, secrets: Mapping[str, str]) -> None:
        """Raise SignatureError unless the request is authentic.

        ``secrets`` holds the integration's decrypted secrets (e.g. ``webhook_secret``,
        ``auth_token``, ``url_token``). Compare in constant time.
        """
        ...

    def parse(self, request: WebhookRequest, settings: Mapping[str, Any]) -> ParseResult:
        """Parse the raw request; raise BadRequest for malformed input."""
        ...


# --- small parsing helpers shared by the adapters ----------------------------------------


def header_value(headers: Mapping[str, str], name: str) -> str:
    """A header by lower-case name (keys may arrive in any case), stripped; "" if absent."""
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                value = candidate
                break
    return value.strip() if isinstance(value, str) else ""


def json_str(data: Mapping[str, Any], key: str) -> str:
    """A text field of a JSON object: None/absent -> "", numbers stringified, containers
    rejected with BadRequest."""
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise BadRequest(f"{key} must be a string, got {type(value).__name__}")
