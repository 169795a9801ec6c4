"""Twilio WhatsApp webhooks: incoming messages and outbound status callbacks.

Wire format: ``/work/shared/INTEGRATIONS.md`` §3 and ``README.md`` next to this file.
Signatures are checked with twilio-python's own ``RequestValidator`` so the URL/port and
parameter-sorting rules stay Twilio's, not ours. Pure: no ORM, no network, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator, get_signature_algorithm

from conversations.phones import normalize_phone, phone_key
from integrations.base import (
    Attachment,
    BadRequest,
    ContactInfo,
    ContentType,
    DeliveryStatus,
    Direction,
    Ignored,
    InboundMessage,
    ParseResult,
    SenderType,
    SignatureError,
    StatusUpdate,
    WebhookRequest,
    header_value,
)

__all__ = ["TwilioAdapter", "conversation_id_for"]

SIGNATURE_HEADER = "x-twilio-signature"
# Present when the webhook is signed with a Twilio SharedKey instead of the Auth Token.
SIGNATURE_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
FORM = "application/x-www-form-urlencoded"
# Twilio caps WhatsApp media at 10 per message; anything far above is garbage, not media.
MAX_MEDIA = 50
MAX_FIELDS = 2000

STATUS_MAP: dict[str, str] = {
    "accepted": DeliveryStatus.PENDING,
    "scheduled": DeliveryStatus.PENDING,
    "queued": DeliveryStatus.PENDING,
    "sending": DeliveryStatus.PENDING,
    "sent": DeliveryStatus.SENT,
    # Only some segments/recipients got it: the message did leave Twilio.
    "partially_delivered": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}

_MESSAGE_TYPE_KINDS: dict[str, str] = {
    "sticker": ContentType.STICKER,
    "location": ContentType.LOCATION,
    "button": ContentType.INTERACTIVE,
    "interactive": ContentType.INTERACTIVE,
    "contacts": ContentType.CONTACT_CARD,
}
_REFERRAL_FIELDS = (
    "ReferralBody",
    "ReferralHeadline",
    "ReferralSourceId",
    "ReferralSourceType",
    "ReferralSourceUrl",
    "ReferralMediaId",
    "ReferralMediaContentType",
    "ReferralMediaUrl",
    "ReferralCtwaClid",
)


class _FormParams(dict[str, list[str]]):
    """A multi-value form: RequestValidator reads repeated keys through ``getlist``."""

    def getlist(self, key: str) -> list[str]:
        return self[key]


def _parse_form(raw_body: bytes, error: type[Exception]) -> _FormParams:
    try:
        text = raw_body.decode("utf-8")
        parsed = parse_qs(
            text,
            keep_blank_values=True,  # an empty Body is still signed by Twilio
            strict_parsing=False,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise error("form body is not UTF-8") from exc
    except ValueError as exc:
        raise error(f"form body cannot be parsed: {exc}") from exc
    return _FormParams(parsed)


def _address(value: str) -> str:
    """ "whatsapp:+5511..." -> "+5511..." (other channel prefixes such as messenger: kept)."""
    return value[len("whatsapp:") :] if value.lower().startswith("whatsapp:") else value


def conversation_id_for(customer: str, business: str) -> str:
    """The external conversation id: ``"<customer key>|<business number>"``.

    One conversation per customer line and business number. The customer part is
    :func:`phone_key` of the E.164 number, so a Brazilian mobile seen with and without the
    ninth digit (WhatsApp ids vs. what we dialled) stays one conversation; non-phone
    addresses are used as received without their ``whatsapp:`` prefix.
    """
    customer_address = _address(customer.strip())
    business_address = _address(business.strip())
    customer_part = phone_key(normalize_phone(customer_address)) or customer_address
    business_part = normalize_phone(business_address) or business_address
    return f"{customer_part}|{business_part}"


def _media_kind(mime: str, message_type: str) -> str:
    major, _, minor = mime.lower().partition("/")
    if message_type == "sticker":  # stickers are image/webp; only MessageType tells them apart
        return ContentType.STICKER
    if major in {"image", "audio", "video"}:
        return major
    if minor in {"vcard", "x-vcard"}:
        return ContentType.CONTACT_CARD
    return ContentType.FILE


def _float(params: Mapping[str, str], key: str) -> float:
    try:
        return float(params[key])
    except ValueError as exc:
        raise BadRequest(f"{key} must be a number, got {params[key]!r}") from exc


class TwilioAdapter:
    kind = "twilio"

    def verify(self, request: WebhookRequest, secrets: Mapping[str, str]) -> None:
        signature = header_value(request.headers, SIGNATURE_HEADER)
        if not signature:
            raise SignatureError("missing X-Twilio-Signature")
        settings_header = header_value(request.headers, SIGNATURE_SETTINGS_HEADER)
        # SharedKey-signed webhooks use that key's secret; everything else the Auth Token.
        token = (secrets.get("shared_key_secret") if settings_header else None) or secrets.get(
            "auth_token"
        )
        if not token:
            raise SignatureError("no Twilio auth_token configured for this integration")
        algorithm = get_signature_algorithm(settings_header)

        params: _FormParams | str
        query = parse_qs(urlsplit(request.url).query)
        if "bodySHA256" in query:
            # JSON bodies: Twilio signs the URL (which carries the body hash) and the
            # validator checks the raw body against that hash, so it needs the text.
            try:
                params = request.raw_body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SignatureError("body is not UTF-8") from exc
        else:
            params = _parse_form(request.raw_body, SignatureError)
        if not RequestValidator(token).validate(request.url, params, signature, algorithm):
            raise SignatureError("X-Twilio-Signature does not match")

    def parse(self, request: WebhookRequest, settings: Mapping[str, Any]) -> ParseResult:
        if request.content_type != FORM:
            raise BadRequest(f"expected {FORM}, got {request.content_type or 'no content type'!r}")
        form = _parse_form(request.raw_body, BadRequest)
        # Twilio never repeats a key (media are numbered), so the first value is the value.
        params = {key: values[0] for key, values in form.items()}
        message_sid = params.get("MessageSid", "").strip()
        sender = params.get("From", "").strip()
        if not message_sid:
            raise BadRequest("MessageSid is missing")
        if not sender:
            raise BadRequest("From is missing")

        status = params.get("MessageStatus", "").strip().lower()
        if status and status != "received":
            return ParseResult(
                events=(self._status(params, message_sid, status),),
                delivery_id=f"{message_sid}:{status}",
            )
        if not any(key in params for key in ("Body", "NumMedia", "MessageType")):
            return ParseResult(
                events=(Ignored("neither a message nor a status callback"),),
                delivery_id=message_sid,
            )
        return ParseResult(events=(self._inbound(params, message_sid),), delivery_id=message_sid)

    @staticmethod
    def _status(params: Mapping[str, str], message_sid: str, status: str) -> StatusUpdate | Ignored:
        mapped = STATUS_MAP.get(status)
        if mapped is None:
            return Ignored(f"unknown MessageStatus {status!r}")
        error_message = params.get("ErrorMessage", "")
        if status == "canceled" and not error_message:
            error_message = "canceled"
        return StatusUpdate(
            external_message_id=message_sid,
            status=mapped,
            # A status callback is about a message we sent: To is the customer.
            external_conversation_id=conversation_id_for(params.get("To", ""), params["From"]),
            error_code=params.get("ErrorCode", ""),
            error_message=error_message,
        )

    @staticmethod
    def _inbound(params: Mapping[str, str], message_sid: str) -> InboundMessage:
        sender = params["From"]
        phone = _address(sender)
        wa_id = params.get("WaId", "")
        message_type = params.get("MessageType", "").lower()

        num_media_raw = params.get("NumMedia", "0") or "0"
        if not num_media_raw.isdigit() or int(num_media_raw) > MAX_MEDIA:
            raise BadRequest(f"NumMedia must be a small integer, got {num_media_raw!r}")
        attachments: list[Attachment] = []
        for index in range(int(num_media_raw)):
            url = params.get(f"MediaUrl{index}", "")
            if not url:
                continue
            mime = params.get(f"MediaContentType{index}", "")
            attachments.append(
                Attachment(
                    url=url,
                    kind=_media_kind(mime, message_type),
                    mime_type=mime,
                    # Downloading needs Basic auth with the account's SID and token.
                    extra={"requires_auth": True},
                )
            )

        content = params.get("Body", "")
        extra: dict[str, Any] = {}
        content_type: str = ContentType.TEXT
        if "Latitude" in params and "Longitude" in params:
            content_type = ContentType.LOCATION
            extra["location"] = {
                "latitude": _float(params, "Latitude"),
                "longitude": _float(params, "Longitude"),
                "address": params.get("Address", ""),
                "label": params.get("Label", ""),
            }
        elif params.get("ButtonText") or params.get("ButtonPayload"):
            content_type = ContentType.INTERACTIVE
            content = params.get("ButtonText", "") or content
            extra["button_payload"] = params.get("ButtonPayload", "")
        elif attachments:
            content_type = str(attachments[0].kind)
        elif message_type in _MESSAGE_TYPE_KINDS:
            content_type = _MESSAGE_TYPE_KINDS[message_type]

        if params.get("OriginalRepliedMessageSid"):
            extra["in_reply_to"] = params["OriginalRepliedMessageSid"]
            extra["in_reply_to_sender"] = _address(params.get("OriginalRepliedMessageSender", ""))
        # "false" is a non-empty string: compare the text, never its truthiness.
        for field, key in (
            ("Forwarded", "forwarded"),
            ("FrequentlyForwarded", "frequently_forwarded"),
        ):
            if field in params:
                extra[key] = params[field].strip().lower() == "true"
        referral = {key: params[key] for key in _REFERRAL_FIELDS if params.get(key)}
        if referral:
            extra["referral"] = referral
        if params.get("ChannelMetadata"):
            try:
                extra["channel_metadata"] = json.loads(params["ChannelMetadata"])
            except (ValueError, RecursionError):
                extra["channel_metadata"] = params["ChannelMetadata"]
        for field, key in (
            ("MessageType", "message_type"),
            ("AccountSid", "account_sid"),
            ("MessagingServiceSid", "messaging_service_sid"),
        ):
            if params.get(field):
                extra[key] = params[field]

        return InboundMessage(
            external_conversation_id=conversation_id_for(sender, params.get("To", "")),
            external_message_id=message_sid,
            contact=ContactInfo(
                external_id=wa_id or normalize_phone(phone).lstrip("+"),
                name=params.get("ProfileName", ""),
                phone=phone,
            ),
            direction=Direction.INBOUND,
            sender_type=SenderType.CONTACT,
            sender_name=params.get("ProfileName", ""),
            sender_external_id=wa_id,
            content=content,
            content_type=content_type,
            attachments=tuple(attachments),
            extra=extra,
        )
