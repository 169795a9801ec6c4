"""Chatwoot webhooks: verify the signature and turn the JSON body into contract events.

Wire format and its quirks: ``/work/shared/INTEGRATIONS.md`` §1 and ``README.md`` next to
this file. Pure: no ORM, no network, no clock (``request.now`` is the clock).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from integrations.base import (
    Attachment,
    BadRequest,
    ContactChange,
    ContactInfo,
    ContentType,
    ConversationChange,
    ConversationStatus,
    Direction,
    Event,
    Ignored,
    InboundMessage,
    MessageUpdate,
    ParseResult,
    SenderType,
    SignatureError,
    WebhookRequest,
    header_value,
    json_str,
)

__all__ = ["ChatwootAdapter", "parse_api_conversation", "parse_api_message"]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-chatwoot-signature"
TIMESTAMP_HEADER = "x-chatwoot-timestamp"
DELIVERY_HEADER = "x-chatwoot-delivery"
# Chatwoot recomputes the timestamp on every attempt, so a small window costs nothing and
# bounds replays; both directions because the sender's clock may run ahead of ours.
MAX_CLOCK_SKEW_SECONDS = 300

GROUP_SUFFIX = " (GROUP)"
GROUP_JID_SUFFIX = "@g.us"
# Evolution API puts the group participant in front of the text:
# "**+55 (11) 9999-9999 - Maria:**\n\n<text>" (the phone is "+<digits>" unless it has 12
# digits). The phone may itself contain "-" (9999-9999), hence " - " as the separator.
_GROUP_PREFIX = re.compile(
    r"\A\*\*(?P<phone>\+?\d[\d ()\-]*?) - (?P<name>[^\n]*?):\*\*[ \t]*(?:\r?\n|\Z)(?:\r?\n)?"
)

# message_type is a string in webhooks but an int in nested/API ("push") payloads.
_MESSAGE_TYPES_BY_INT = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}

_ATTACHMENT_KINDS: dict[str, str] = {
    "image": ContentType.IMAGE,
    "audio": ContentType.AUDIO,
    "video": ContentType.VIDEO,
    "file": ContentType.FILE,
    "location": ContentType.LOCATION,
    "contact": ContentType.CONTACT_CARD,
}
# Chatwoot message content types that carry a form/choice rather than free text.
_INTERACTIVE_CONTENT_TYPES = frozenset({"input_select", "cards", "form", "input_csat"})

_CONVERSATION_EVENTS = frozenset(
    {
        "conversation_created",
        "conversation_updated",
        "conversation_status_changed",
        # Agent-bot deliveries only (account webhooks use conversation_status_changed).
        "conversation_resolved",
        "conversation_opened",
    }
)
_IGNORED_EVENTS = {
    "webwidget_triggered": "web widget opened (no conversation content)",
    "conversation_typing_on": "typing indicator",
    "conversation_typing_off": "typing indicator",
    "inbox_created": "inbox configuration event",
    "inbox_updated": "inbox configuration event",
}
_STATUSES = frozenset(s.value for s in ConversationStatus)


# --- small typed accessors: every shape error becomes a BadRequest with the field's path ---


def _obj(
    data: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise BadRequest(f"{where}{key} is missing")
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{where}{key} must be an object, got {type(value).__name__}")
    return value


def _id(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key)
    if isinstance(value, bool) or (value is not None and not isinstance(value, int | str)):
        raise BadRequest(f"{where}{key} must be an id (int or string)")
    if value is None or value == "":
        if required:
            raise BadRequest(f"{where}{key} is missing")
        return ""
    return str(value)


def _datetime(value: Any) -> datetime | None:
    """ISO strings (webhooks) or unix numbers (push payloads); None when unusable.

    Lenient on purpose: a timestamp in an unexpected format must not cost us the message.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _load_json(request: WebhookRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise BadRequest(
            f"expected application/json, got {request.content_type or 'no content type'!r}"
        )
    try:
        data = json.loads(request.raw_body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8") from exc
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest(f"body must be a JSON object, got {type(data).__name__}")
    return data


# --- contacts and groups ---


def _group_name(contact: Mapping[str, Any]) -> str | None:
    """The group subject when this Chatwoot contact stands for a WhatsApp group, else None."""
    name = json_str(contact, "name")
    identifier = json_str(contact, "identifier")
    if identifier.endswith(GROUP_JID_SUFFIX) or name.endswith(GROUP_SUFFIX):
        return name.removesuffix(GROUP_SUFFIX).strip()
    return None


def _contact(data: Mapping[str, Any]) -> ContactInfo:
    """Contact#webhook_data / push_event_data -> ContactInfo."""
    group_name = _group_name(data)
    extra: dict[str, Any] = {}
    for key in ("custom_attributes", "additional_attributes"):
        value = data.get(key)
        if isinstance(value, dict) and value:
            extra[key] = value
    if isinstance(data.get("blocked"), bool):
        extra["blocked"] = data["blocked"]
    return ContactInfo(
        external_id=_id(data, "id", "contact.", required=False),
        name=group_name if group_name is not None else json_str(data, "name"),
        phone=json_str(data, "phone_number"),
        email=json_str(data, "email"),
        identifier=json_str(data, "identifier"),
        is_group=group_name is not None,
        avatar_url=json_str(data, "avatar") or json_str(data, "thumbnail"),
        extra=extra,
    )


# --- messages ---


def _message_type(data: Mapping[str, Any]) -> str:
    value = data.get("message_type")
    if isinstance(value, bool):
        raise BadRequest("message_type must be a string or an int")
    if isinstance(value, int):
        if value not in _MESSAGE_TYPES_BY_INT:
            raise BadRequest(f"unknown message_type {value}")
        return _MESSAGE_TYPES_BY_INT[value]
    if isinstance(value, str) and value:
        return value
    raise BadRequest("message_type is missing")


def _sender_kind(sender: Mapping[str, Any]) -> SenderType | None:
    kind = json_str(sender, "type").lower()
    if kind == "user":
        return SenderType.AGENT
    # "captain_assistant" is the sender type of Chatwoot's built-in AI replies.
    if kind in {"agent_bot", "captain_assistant"}:
        return SenderType.BOT
    if kind == "contact":
        return SenderType.CONTACT
    return None


def _attachment(item: Any, index: int) -> Attachment:
    if not isinstance(item, dict):
        raise BadRequest(f"attachments[{index}] must be an object")
    file_type = json_str(item, "file_type").lower()
    url = json_str(item, "data_url")
    size = item.get("file_size")
    extra: dict[str, Any] = {}
    for key in ("thumb_url", "transcribed_text", "fallback_title", "extension"):
        if json_str(item, key):
            extra[key] = json_str(item, key)
    for key in ("width", "height"):
        if isinstance(item.get(key), int) and not isinstance(item.get(key), bool):
            extra[key] = item[key]
    lat, lng = item.get("coordinates_lat"), item.get("coordinates_long")
    if lat is not None and lng is not None:
        extra["coords"] = {"lat": lat, "long": lng}
    if item.get("id") is not None:
        extra["id"] = _id(item, "id", f"attachments[{index}].")
    return Attachment(
        url=url,
        kind=_ATTACHMENT_KINDS.get(file_type, ContentType.OTHER),
        mime_type=json_str(item, "content_type"),
        # ActiveStorage URLs end in the original file name; it is the only name we get.
        filename=unquote(urlsplit(url).path.rsplit("/", 1)[-1]) if url else "",
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        extra=extra,
    )


def _message(
    data: Mapping[str, Any], *, conversation_id: str = "", contact_fallback: bool = True
) -> InboundMessage | Ignored:
    """Message#webhook_data (or the push format of the API) -> InboundMessage."""
    message_id = _id(data, "id", "message.")
    conversation = _obj(data, "conversation", "message.")
    if not conversation_id:
        conversation_id = (
            _id(conversation, "id", "conversation.")
            if conversation
            else _id(data, "conversation_id", "message.")
        )
    message_type = _message_type(data)
    if message_type == "activity":
        return Ignored("activity message")
    private = data.get("private") is True
    sender = _obj(data, "sender", "message.")
    meta = _obj(conversation, "meta", "conversation.")
    contact_data = _obj(meta, "sender", "conversation.meta.")
    content = json_str(data, "content")
    content_attributes = _obj(data, "content_attributes", "message.")

    sender_kind = _sender_kind(sender) if sender else None
    sender_name = json_str(sender, "name")
    sender_external_id = _id(sender, "id", "sender.", required=False)
    if private:
        # Internal notes are written by agents (or a bot) inside Chatwoot.
        direction = Direction.OUTBOUND
        sender_type = SenderType.BOT if sender_kind == SenderType.BOT else SenderType.AGENT
    elif message_type == "incoming":
        # message_type decides first: v3/v4 contacts carry no sender.type at all.
        direction, sender_type = Direction.INBOUND, SenderType.CONTACT
        if not contact_data and contact_fallback and sender_kind in (None, SenderType.CONTACT):
            contact_data = sender
    elif message_type in {"outgoing", "template"}:
        direction = Direction.OUTBOUND
        if sender_kind in (SenderType.AGENT, SenderType.BOT):
            sender_type = sender_kind
        else:
            # No sender: templates, campaigns and automation rules send in Chatwoot's name.
            sender_type = SenderType.SYSTEM
    else:
        return Ignored(f"message_type {message_type!r} is not a conversation message")

    contact = _contact(contact_data) if contact_data else ContactInfo()
    group_name = contact.name if contact.is_group else ""
    if contact.is_group and direction == Direction.INBOUND:
        # The "sender" is the group itself; the participant is only known from the prefix.
        sender_name = sender_external_id = ""
        match = _GROUP_PREFIX.match(content)
        if match:
            content = content[match.end() :]
            sender_name = match.group("name").strip()
            sender_external_id = re.sub(r"\D", "", match.group("phone"))
    elif direction == Direction.INBOUND and sender_kind in (None, SenderType.CONTACT):
        sender_name = sender_name or contact.name
        sender_external_id = sender_external_id or contact.external_id

    attachments_raw = data.get("attachments") or []
    if not isinstance(attachments_raw, list):
        raise BadRequest("attachments must be a list")
    attachments = tuple(_attachment(item, i) for i, item in enumerate(attachments_raw))

    chatwoot_content_type = json_str(data, "content_type")
    if attachments:
        content_type = str(attachments[0].kind)
        if chatwoot_content_type == "sticker" and content_type == ContentType.IMAGE:
            content_type = ContentType.STICKER
    elif chatwoot_content_type in _INTERACTIVE_CONTENT_TYPES:
        content_type = ContentType.INTERACTIVE
    else:
        content_type = ContentType.TEXT

    extra: dict[str, Any] = {}
    if chatwoot_content_type:
        extra["chatwoot_content_type"] = chatwoot_content_type
    if json_str(data, "source_id"):
        extra["source_id"] = json_str(data, "source_id")
    if content_attributes.get("in_reply_to") is not None:
        extra["in_reply_to"] = _id(content_attributes, "in_reply_to", "content_attributes.")
    for key in ("in_reply_to_external_id", "external_error"):
        if json_str(content_attributes, key):
            extra[key] = json_str(content_attributes, key)
    if content_attributes.get("is_reaction") is True:
        extra["is_reaction"] = True
    # Webhooks nest account/inbox objects; API responses carry flat *_id fields.
    for name in ("account", "inbox"):
        nested = _obj(data, name, "message.")
        ident = _id(nested, "id", f"{name}.", required=False) or _id(
            data, f"{name}_id", "message.", required=False
        )
        if ident:
            extra[f"{name}_id"] = ident
    if json_str(conversation, "channel"):
        extra["channel"] = json_str(conversation, "channel")

    return InboundMessage(
        external_conversation_id=conversation_id,
        external_message_id=message_id,
        contact=contact,
        direction=direction,
        sender_type=sender_type,
        sender_name=sender_name,
        sender_external_id=sender_external_id,
        content=content,
        content_type=content_type,
        attachments=attachments,
        is_private=private,
        created_at=_datetime(data.get("created_at")),
        group_name=group_name,
        echo_key=json_str(content_attributes, "atende_message_id"),
        extra=extra,
    )


def _message_update(data: Mapping[str, Any]) -> MessageUpdate:
    conversation = _obj(data, "conversation", "message.", required=True)
    content_attributes = _obj(data, "content_attributes", "message.")
    deleted = content_attributes.get("deleted") is True
    content = data.get("content")
    if content is not None and not isinstance(content, str):
        raise BadRequest("content must be a string")
    return MessageUpdate(
        external_conversation_id=_id(conversation, "id", "conversation."),
        external_message_id=_id(data, "id", "message."),
        # Chatwoot overwrites a deleted message's text with a placeholder; keep ours.
        content=None if deleted else content,
        deleted=deleted,
        updated_at=_datetime(data.get("updated_at")),
    )


# --- conversations ---


def _changed_attributes(data: Mapping[str, Any]) -> dict[str, Any]:
    """``changed_attributes`` is a list of one-key objects; flatten to {attr: current}."""
    raw = data.get("changed_attributes")
    items: list[Any]
    if raw is None:
        return {}
    if isinstance(raw, dict):  # tolerate a plain object, as some forks send
        items = [raw]
    elif isinstance(raw, list):
        items = raw
    else:
        raise BadRequest("changed_attributes must be a list")
    changed: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict):
            raise BadRequest("changed_attributes items must be objects")
        for key, value in item.items():
            changed[key] = value.get("current_value") if isinstance(value, dict) else value
    return changed


def _conversation_change(data: Mapping[str, Any], event: str) -> ConversationChange:
    # Account webhooks send Conversation#webhook_data at the top level; be ready for bodies
    # that nest it under "conversation" (agent-bot and fork variants).
    conversation: Mapping[str, Any] = data
    if "id" not in data and "conversation" in data:
        conversation = _obj(data, "conversation", "", required=True)
    conversation_id = _id(conversation, "id", "conversation.")
    changed = _changed_attributes(data)
    meta = _obj(conversation, "meta", "conversation.")

    status = json_str(conversation, "status") or json_str(changed, "status")
    if event == "conversation_resolved":
        status = ConversationStatus.RESOLVED
    elif event == "conversation_opened":
        status = ConversationStatus.OPEN

    # A meta block with "assignee": null is Chatwoot saying "nobody": that is "" (explicitly
    # unassigned), distinct from None (not stated in this event).
    assignee_id: str | None = None
    assignee_name = ""
    if "assignee" in meta:
        assignee = _obj(meta, "assignee", "conversation.meta.")
        assignee_id = _id(assignee, "id", "assignee.", required=False)
        assignee_name = json_str(assignee, "available_name") or json_str(assignee, "name")
    team_id: str | None = None
    team_name = ""
    if "team" in meta:
        team = _obj(meta, "team", "conversation.meta.")
        team_id = _id(team, "id", "team.", required=False)
        team_name = json_str(team, "name")

    labels: tuple[str, ...] | None = None
    if "labels" in conversation:
        raw_labels = conversation.get("labels") or []
        if not isinstance(raw_labels, list) or not all(isinstance(x, str) for x in raw_labels):
            raise BadRequest("labels must be a list of strings")
        labels = tuple(raw_labels)

    priority: str | None = None
    if "priority" in conversation:
        # Like the assignee: a present null means "no priority".
        priority = json_str(conversation, "priority")

    contact_data = _obj(meta, "sender", "conversation.meta.")
    contact = _contact(contact_data) if contact_data else None
    created = event == "conversation_created"
    # The change's own time is the best "when"; the conversation's timestamps are fallbacks.
    at = (
        _datetime(changed.get("updated_at"))
        or _datetime(conversation.get("created_at" if created else "updated_at"))
        or _datetime(conversation.get("timestamp"))
    )
    return ConversationChange(
        external_conversation_id=conversation_id,
        contact=contact,
        status=status if status in _STATUSES else None,
        assignee_external_id=assignee_id,
        assignee_name=assignee_name,
        team_external_id=team_id,
        team_name=team_name,
        labels=labels,
        priority=priority,
        is_group=bool(contact and contact.is_group),
        group_name=contact.name if contact and contact.is_group else "",
        created=created,
        at=at,
    )


# --- public helpers for API responses (the client and reconciliation use them) ---


def parse_api_message(data: Mapping[str, Any], *, conversation_id: str = "") -> InboundMessage:
    """A message as the Application API returns it (push format: int ``message_type``,
    unix ``created_at``, ``conversation_id``). Raises BadRequest on malformed data."""
    if not isinstance(data, Mapping):
        raise BadRequest("message must be an object")
    try:
        result = _message(data, conversation_id=conversation_id, contact_fallback=False)
    except (TypeError, ValueError, AttributeError) as exc:
        raise BadRequest(f"malformed message: {exc}") from exc
    if isinstance(result, Ignored):
        raise BadRequest(result.reason)
    return result


def parse_api_conversation(data: Mapping[str, Any]) -> ConversationChange:
    """A conversation as ``POST /conversations`` or ``GET /conversations/{id}`` returns it."""
    if not isinstance(data, Mapping):
        raise BadRequest("conversation must be an object")
    try:
        return _conversation_change(data, "conversation_created")
    except (TypeError, ValueError, AttributeError) as exc:
        raise BadRequest(f"malformed conversation: {exc}") from exc


class ChatwootAdapter:
    """Account webhooks, API-inbox callbacks and agent-bot deliveries share this adapter."""

    kind = "chatwoot"

    def verify(self, request: WebhookRequest, secrets: Mapping[str, str]) -> None:
        secret = secrets.get("webhook_secret") or ""
        url_token = secrets.get("url_token") or ""
        if secret:
            try:
                self._verify_signature(request, secret)
            except SignatureError as exc:
                # Chatwoot issue #13809: some API-channel installs sign with a key other than
                # the one shown in the UI. A URL token, when the tenant set one, still proves
                # the sender knows a secret, so accept it and leave a trace.
                if url_token and self._token_matches(request, url_token):
                    logger.warning("chatwoot signature rejected (%s); accepted by url token", exc)
                    return
                raise
            return
        if url_token:
            if not self._token_matches(request, url_token):
                raise SignatureError("missing or wrong ?token= in the webhook URL")
            return
        # Neither secret configured: older self-hosted Chatwoot cannot sign; the tenant chose.

    @staticmethod
    def _verify_signature(request: WebhookRequest, secret: str) -> None:
        signature = header_value(request.headers, SIGNATURE_HEADER)
        timestamp = header_value(request.headers, TIMESTAMP_HEADER)
        if not signature:
            raise SignatureError("missing X-Chatwoot-Signature")
        if not timestamp.isdigit() or not timestamp.isascii():
            raise SignatureError("missing or malformed X-Chatwoot-Timestamp")
        if abs(request.now.timestamp() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            raise SignatureError("X-Chatwoot-Timestamp is outside the allowed window")
        # The timestamp is signed with the raw bytes: re-serialised JSON would not match
        # (Rails escapes <, > and & as \u003c...).
        digest = hmac.new(
            secret.encode("utf-8"),
            timestamp.encode("ascii") + b"." + request.raw_body,
            hashlib.sha256,
        ).hexdigest()
        expected = f"sha256={digest}".encode("ascii")
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            raise SignatureError("X-Chatwoot-Signature does not match")

    @staticmethod
    def _token_matches(request: WebhookRequest, token: str) -> bool:
        given = request.query.get("token")
        if not isinstance(given, str) or not given:
            return False
        return hmac.compare_digest(token.encode("utf-8"), given.encode("utf-8", "replace"))

    def parse(self, request: WebhookRequest, settings: Mapping[str, Any]) -> ParseResult:
        data = _load_json(request)
        event = data.get("event")
        if not isinstance(event, str) or not event:
            raise BadRequest('"event" is missing or not a string')
        try:
            events = self._events(event, data)
        except BadRequest:
            raise
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # Safety net: the accessors above should catch every shape problem first.
            raise BadRequest(f"malformed {event} payload: {exc}") from exc
        return ParseResult(
            events=events, delivery_id=header_value(request.headers, DELIVERY_HEADER)
        )

    @staticmethod
    def _events(event: str, data: dict[str, Any]) -> tuple[Event, ...]:
        if event == "message_created":
            _obj(data, "conversation", "", required=True)
            return (_message(data),)
        if event == "message_updated":
            return (_message_update(data),)
        if event in _CONVERSATION_EVENTS:
            return (_conversation_change(data, event),)
        if event in {"contact_created", "contact_updated"}:
            _id(data, "id", "contact.")
            return (ContactChange(contact=_contact(data)),)
        if event in _IGNORED_EVENTS:
            return (Ignored(f"{event}: {_IGNORED_EVENTS[event]}"),)
        return (Ignored(f"unknown event {event!r}"),)
