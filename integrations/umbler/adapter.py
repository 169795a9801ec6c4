"""Umbler Talk (uTalk) webhooks: the JSON "2.0" format and the legacy form format.

There are no captured deliveries in this repo: the shapes come from
``/work/shared/INTEGRATIONS.md`` §4 and public integrations, so this parser is lenient about
optional fields and strict only about what it needs (ids). See ``README.md``.
Pure: no ORM, no network, no clock.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from integrations.base import (
    Attachment,
    BadRequest,
    ContactInfo,
    ContentType,
    ConversationChange,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Event,
    Ignored,
    InboundMessage,
    ParseResult,
    SenderType,
    SignatureError,
    StatusUpdate,
    WebhookRequest,
    header_value,
    json_str,
)

__all__ = ["UmblerAdapter"]

FORM = "application/x-www-form-urlencoded"
TOKEN_HEADER = "x-umbler-token"  # noqa: S105 - a header name, not a secret
MAX_FIELDS = 500

_SOURCES: dict[str, tuple[Direction, SenderType]] = {
    "contact": (Direction.INBOUND, SenderType.CONTACT),
    "member": (Direction.OUTBOUND, SenderType.AGENT),
    "bot": (Direction.OUTBOUND, SenderType.BOT),
}
# Umbler "MessageType" values seen in public integrations are PascalCase ("Text"); the
# rest are educated guesses, matched case-insensitively.
_MESSAGE_KINDS: dict[str, str] = {
    "text": ContentType.TEXT,
    "image": ContentType.IMAGE,
    "audio": ContentType.AUDIO,
    "voice": ContentType.AUDIO,
    "ptt": ContentType.AUDIO,
    "video": ContentType.VIDEO,
    "document": ContentType.FILE,
    "file": ContentType.FILE,
    "sticker": ContentType.STICKER,
    "location": ContentType.LOCATION,
    "contact": ContentType.CONTACT_CARD,
    "contacts": ContentType.CONTACT_CARD,
    "vcard": ContentType.CONTACT_CARD,
    "chat": ContentType.TEXT,  # legacy chat[type]=chat
    "question": ContentType.INTERACTIVE,
    "buttons": ContentType.INTERACTIVE,
}
# Legacy acks follow WhatsApp Web's levels (-1 error, 0 clock, 1 server, 2 device, 3 read,
# 4 played). Unverified for Umbler: see README.md.
_LEGACY_ACKS: dict[str, str] = {
    "-1": DeliveryStatus.FAILED,
    "error": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "0": DeliveryStatus.PENDING,
    "pending": DeliveryStatus.PENDING,
    "1": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "server": DeliveryStatus.SENT,
    "2": DeliveryStatus.DELIVERED,
    "delivered": DeliveryStatus.DELIVERED,
    "device": DeliveryStatus.DELIVERED,
    "3": DeliveryStatus.READ,
    "read": DeliveryStatus.READ,
    "4": DeliveryStatus.READ,
    "played": DeliveryStatus.READ,
}


def _obj(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
    """None when absent or null; a dict; BadRequest for any other type."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"{where}{key} must be an object, got {type(value).__name__}")
    return value


def _id(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or (value is not None and not isinstance(value, str | int)):
        raise BadRequest(f"{where}{key} must be an id (string or int)")
    return "" if value is None else str(value)


def _datetime(value: Any) -> datetime | None:
    """ISO-8601 (JSON format) or unix seconds (legacy); None when unusable, never an error."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        # .NET emits seven fractional digits ("...06.2005431Z"); Python takes at most six.
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _looks_like_chat(content: Any) -> bool:
    return (
        isinstance(content, dict)
        and "Id" in content
        and ("Contact" in content or "Open" in content)
    )


# --- JSON ("Umbler Talk 2.0") format ---


def _contact(chat: Mapping[str, Any]) -> ContactInfo:
    data = _obj(chat, "Contact", "Content.") or {}
    group_identifier = json_str(data, "GroupIdentifier")
    extra: dict[str, Any] = {}
    tags = data.get("Tags")
    if isinstance(tags, list):
        names = [tag.get("Name") for tag in tags if isinstance(tag, dict) and tag.get("Name")]
        if names:
            extra["tags"] = names
    if isinstance(data.get("IsBlocked"), bool):
        extra["blocked"] = data["IsBlocked"]
    if json_str(data, "ContactType"):
        extra["contact_type"] = json_str(data, "ContactType")
    return ContactInfo(
        external_id=_id(data, "Id", "Contact."),
        name=json_str(data, "Name"),
        phone=json_str(data, "PhoneNumber"),
        identifier=group_identifier,
        is_group=bool(group_identifier),
        avatar_url=json_str(data, "ProfilePictureUrl"),
        extra=extra,
    )


def _file_attachment(file: Mapping[str, Any], kind: str) -> Attachment | None:
    # The File object's fields are not documented; try the names public clients use.
    url = next(
        (json_str(file, key) for key in ("Url", "Uri", "Link", "MediaUrl") if json_str(file, key)),
        "",
    )
    if not url:
        return None
    mime = next(
        (json_str(file, k) for k in ("ContentType", "MimeType", "Mimetype") if json_str(file, k)),
        "",
    )
    name = next(
        (json_str(file, k) for k in ("OriginalName", "FileName", "Name") if json_str(file, k)), ""
    )
    size = file.get("Size") if isinstance(file.get("Size"), int) else None
    if kind in (ContentType.TEXT, ContentType.INTERACTIVE):
        major = mime.split("/", 1)[0].lower()
        kind = major if major in {"image", "audio", "video"} else ContentType.FILE
    extra = {"id": _id(file, "Id", "File.")} if file.get("Id") is not None else {}
    return Attachment(url=url, kind=kind, mime_type=mime, filename=name, size=size, extra=extra)


def _chat_events(chat: Mapping[str, Any], event_at: datetime | None) -> tuple[Event, ...]:
    chat_id = _id(chat, "Id", "Content.")
    if not chat_id:
        raise BadRequest("Payload.Content.Id is missing")
    contact = _contact(chat)

    # None = the key is absent (not stated); "" = present but null (nobody assigned).
    assignee_id: str | None = None
    member: dict[str, Any] | None = None
    if "OrganizationMember" in chat:
        member = _obj(chat, "OrganizationMember", "Content.")
        assignee_id = _id(member, "Id", "OrganizationMember.") if member else ""
    team_id: str | None = None
    team_name = ""
    if "Sector" in chat:
        sector = _obj(chat, "Sector", "Content.")
        team_id = _id(sector, "Id", "Sector.") if sector else ""
        team_name = json_str(sector, "Name") if sector else ""

    change = ConversationChange(
        external_conversation_id=chat_id,
        contact=contact,
        # "Open": false is Umbler's closed chat; everything else is live.
        status=ConversationStatus.RESOLVED
        if chat.get("Open") is False
        else ConversationStatus.OPEN,
        assignee_external_id=assignee_id,
        assignee_name=json_str(member, "Name") if assignee_id and member else "",
        team_external_id=team_id,
        team_name=team_name,
        is_group=contact.is_group,
        group_name=contact.name if contact.is_group else "",
        at=_datetime(chat.get("EventAtUTC")) or event_at,
    )
    events: list[Event] = [change]
    last = _obj(chat, "LastMessage", "Content.")
    if last and last.get("Id") is not None:
        events.append(_last_message(last, chat_id, contact))
    return tuple(events)


def _last_message(last: Mapping[str, Any], chat_id: str, contact: ContactInfo) -> InboundMessage:
    message_id = _id(last, "Id", "LastMessage.")
    if not message_id:
        raise BadRequest("LastMessage.Id is empty")
    source = json_str(last, "Source").lower()
    direction, sender_type = _SOURCES.get(source, (Direction.OUTBOUND, SenderType.SYSTEM))
    is_private = last.get("IsPrivate") is True
    if is_private:
        direction = Direction.OUTBOUND
        if sender_type == SenderType.CONTACT:
            sender_type = SenderType.AGENT

    sender_name = ""
    sender_external_id = ""
    member = _obj(last, "SentByOrganizationMember", "LastMessage.")
    bot = _obj(last, "BotInstance", "LastMessage.")
    if sender_type == SenderType.AGENT and member:
        sender_external_id = _id(member, "Id", "SentByOrganizationMember.")
        sender_name = json_str(member, "Name")
    elif sender_type == SenderType.BOT and bot:
        sender_external_id = _id(bot, "Id", "BotInstance.")
        sender_name = json_str(bot, "BotName") or json_str(bot, "Name")
    elif sender_type == SenderType.CONTACT:
        sender_name, sender_external_id = contact.name, contact.external_id
    if not sender_name and sender_type == SenderType.AGENT:
        # Umbler signs agent messages with a "*Name:*" prefix shown to the customer.
        sender_name = json_str(last, "Prefix").strip().strip("*").rstrip(":").strip()

    umbler_type = json_str(last, "MessageType")
    kind = _MESSAGE_KINDS.get(
        umbler_type.lower(), ContentType.OTHER if umbler_type else ContentType.TEXT
    )
    attachments: tuple[Attachment, ...] = ()
    file = _obj(last, "File", "LastMessage.")
    if file:
        attachment = _file_attachment(file, kind)
        if attachment:
            attachments = (attachment,)
            if kind in (ContentType.TEXT, ContentType.OTHER):
                kind = str(attachment.kind)

    extra: dict[str, Any] = {}
    if umbler_type:
        extra["umbler_message_type"] = umbler_type
    if json_str(last, "MessageState"):
        extra["message_state"] = json_str(last, "MessageState")
    ad = _obj(last, "Ad", "LastMessage.")
    if ad:
        extra["ad"] = {key: ad[key] for key in ("SourceId", "CTWaCLId", "SourceUrl") if ad.get(key)}
    reply = last.get("InReplyTo")
    if isinstance(reply, dict) and reply.get("Id") is not None:
        extra["in_reply_to"] = _id(reply, "Id", "InReplyTo.")
    elif isinstance(reply, str) and reply:
        extra["in_reply_to"] = reply

    return InboundMessage(
        external_conversation_id=chat_id,
        external_message_id=message_id,
        contact=contact,
        direction=direction,
        sender_type=sender_type,
        sender_name=sender_name,
        sender_external_id=sender_external_id,
        content=json_str(last, "Content"),
        content_type=kind,
        attachments=attachments,
        is_private=is_private,
        created_at=_datetime(last.get("CreatedAtUTC")) or _datetime(last.get("EventAtUTC")),
        group_name=contact.name if contact.is_group else "",
        extra=extra,
    )


def _parse_json(raw_body: bytes) -> ParseResult:
    try:
        data = json.loads(raw_body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8") from exc
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest(f"body must be a JSON object, got {type(data).__name__}")
    event_type = data.get("Type")
    if not isinstance(event_type, str) or not event_type:
        raise BadRequest('"Type" is missing or not a string')
    delivery_id = _id(data, "EventId", "")
    payload = _obj(data, "Payload", "")
    if payload is None:
        raise BadRequest("Payload is missing")
    content = payload.get("Content")
    if json_str(payload, "Type") == "Chat" and not isinstance(content, dict):
        raise BadRequest("Payload.Content must be a chat object")
    if not isinstance(content, dict) or (
        json_str(payload, "Type") != "Chat" and not _looks_like_chat(content)
    ):
        return ParseResult(events=(Ignored(f"unknown type {event_type}"),), delivery_id=delivery_id)
    # Any Type carrying a chat ("Message", and whatever closed/transfer events exist) is
    # handled alike, so status/member/sector changes are captured whatever the event name.
    return ParseResult(
        events=_chat_events(content, _datetime(data.get("EventDate"))), delivery_id=delivery_id
    )


# --- legacy form format ---


def _legacy(params: Mapping[str, str]) -> ParseResult:
    event = params.get("event", "").strip().lower()
    if not event:
        raise BadRequest("event is missing")
    if event == "chat":
        return _legacy_chat(params)
    if event == "ack":
        return _legacy_ack(params)
    return ParseResult(events=(Ignored(f"unknown legacy event {event!r}"),))


def _legacy_chat(params: Mapping[str, str]) -> ParseResult:
    uid = params.get("chat[uid]", "").strip()
    number = params.get("contact[number]", "").strip()
    if not uid:
        raise BadRequest("chat[uid] is missing")
    if not number:
        raise BadRequest("contact[number] is missing")
    server = params.get("contact[server]", "c.us").strip() or "c.us"
    is_group = server == "g.us"
    name = params.get("contact[name]", "")
    direction = params.get("chat[dir]", "i").strip().lower()
    if direction not in {"i", "o"}:
        raise BadRequest(f"chat[dir] must be 'i' or 'o', got {direction!r}")
    outbound = direction == "o"
    chat_type = params.get("chat[type]", "chat").strip().lower()
    kind = _MESSAGE_KINDS.get(chat_type, ContentType.OTHER)
    body = params.get("chat[body]", "")
    attachments: tuple[Attachment, ...] = ()
    # Assumption (unverified): for media types the body carries the file URL.
    if kind not in (
        ContentType.TEXT,
        ContentType.LOCATION,
        ContentType.CONTACT_CARD,
    ) and body.startswith(("http://", "https://")):
        filename = unquote(urlsplit(body).path.rsplit("/", 1)[-1])
        attachments = (Attachment(url=body, kind=kind, filename=filename),)
        body = ""
    contact = ContactInfo(
        external_id=number,
        name=name,
        phone="" if is_group else number,
        identifier=f"{number}@{server}",
        is_group=is_group,
    )
    message = InboundMessage(
        # No chat id in this format: the contact's JID is the only stable conversation key.
        external_conversation_id=f"{number}@{server}",
        external_message_id=uid,
        contact=contact,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        sender_type=SenderType.AGENT if outbound else SenderType.CONTACT,
        sender_name="" if outbound or is_group else name,
        content=body,
        content_type=kind,
        attachments=attachments,
        created_at=_datetime(params.get("chat[dtm]", "")),
        group_name=name if is_group else "",
        extra={"account": params["user"]} if params.get("user") else {},
    )
    return ParseResult(events=(message,), delivery_id=f"chat:{uid}")


def _legacy_ack(params: Mapping[str, str]) -> ParseResult:
    # Field names of ack deliveries are undocumented; accept the plausible spellings.
    uid = next((params[k].strip() for k in ("chat[uid]", "ack[uid]", "uid") if params.get(k)), "")
    if not uid:
        raise BadRequest("ack without a message id (chat[uid])")
    ack = next(
        (params[k].strip().lower() for k in ("chat[ack]", "ack[ack]", "ack") if params.get(k)), ""
    )
    status = _LEGACY_ACKS.get(ack)
    delivery_id = f"ack:{uid}:{ack}"
    if status is None:
        return ParseResult(events=(Ignored(f"unknown ack value {ack!r}"),), delivery_id=delivery_id)
    number = params.get("contact[number]", "").strip()
    server = params.get("contact[server]", "c.us").strip() or "c.us"
    return ParseResult(
        events=(
            StatusUpdate(
                external_message_id=uid,
                status=status,
                external_conversation_id=f"{number}@{server}" if number else "",
                at=_datetime(params.get("chat[dtm]", "")),
            ),
        ),
        delivery_id=delivery_id,
    )


def _form(raw_body: bytes, error: type[Exception]) -> dict[str, str]:
    try:
        parsed = parse_qs(
            raw_body.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise error("form body is not UTF-8") from exc
    except ValueError as exc:
        raise error(f"form body cannot be parsed: {exc}") from exc
    return {key: values[0] for key, values in parsed.items()}


class UmblerAdapter:
    kind = "umbler"

    def verify(self, request: WebhookRequest, secrets: Mapping[str, str]) -> None:
        expected = secrets.get("url_token") or ""
        if not expected:
            return  # Umbler signs nothing; without a token the tenant accepted that.
        candidates = [request.query.get("token") or "", header_value(request.headers, TOKEN_HEADER)]
        authorization = header_value(request.headers, "authorization")
        if authorization.lower().startswith("bearer "):
            candidates.append(authorization[len("bearer ") :].strip())
        if request.content_type == FORM:
            # The legacy format's only credential is a "token" field in the body.
            candidates.append(_form(request.raw_body, SignatureError).get("token", ""))
        given = [c for c in candidates if isinstance(c, str) and c]
        if not given:
            raise SignatureError("missing token (?token=, X-Umbler-Token, Bearer or form field)")
        wanted = expected.encode("utf-8")
        # Check every candidate (no early exit) so timing does not reveal which one matched.
        matches = [hmac.compare_digest(wanted, c.encode("utf-8", "replace")) for c in given]
        if not any(matches):
            raise SignatureError("token does not match")

    def parse(self, request: WebhookRequest, settings: Mapping[str, Any]) -> ParseResult:
        try:
            if request.content_type == "application/json":
                return _parse_json(request.raw_body)
            if request.content_type == FORM:
                return _legacy(_form(request.raw_body, BadRequest))
        except BadRequest:
            raise
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # Safety net behind the typed accessors: never let a shape error become a 500.
            raise BadRequest(f"malformed Umbler payload: {exc}") from exc
        got = request.content_type or "no content type"
        raise BadRequest(f"expected application/json or {FORM}, got {got!r}")
