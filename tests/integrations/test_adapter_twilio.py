"""Twilio WhatsApp adapter on shared/fixtures/twilio (pure, no Django)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from integrations.adapters import get_adapter
from integrations.base import (
    BadRequest,
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
)
from integrations.twilio.adapter import TwilioAdapter, conversation_id_for

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "twilio"
FORM = "application/x-www-form-urlencoded"
NOW = datetime(2026, 10, 22, 12, 0, tzinfo=UTC)
adapter = TwilioAdapter()

RECONSTRUCTED = sorted(p.name for p in FIXTURES.glob("reconstructed_*.json"))
VECTORS: dict[str, Any] = json.loads(
    (FIXTURES / "twilio_python_request_validator_vectors.json").read_text(encoding="utf-8")
)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def request(
    body: bytes | str,
    *,
    url: str = "https://helpdesk.example.com/webhooks/twilio/abc123/",
    signature: str | None = None,
    content_type: str = FORM,
    headers: dict[str, str] | None = None,
) -> WebhookRequest:
    all_headers = dict(headers or {})
    if signature is not None:
        all_headers["x-twilio-signature"] = signature
    return WebhookRequest(
        raw_body=body.encode("utf-8") if isinstance(body, str) else body,
        content_type=content_type,
        headers=all_headers,
        query={},
        url=url,
        now=NOW,
    )


def fixture_request(name: str, **overrides: Any) -> WebhookRequest:
    data = load(name)
    body = overrides.pop("body", data["raw_body"])
    kwargs: dict[str, Any] = {
        "url": data["url"],
        "signature": data["headers"]["X-Twilio-Signature"],
        **overrides,
    }
    return request(body, **kwargs)


def parse_params(params: dict[str, str]) -> ParseResult:
    return adapter.parse(request(urlencode(params)), {})


def only(result: ParseResult) -> Any:
    assert len(result.events) == 1
    return result.events[0]


# --- verify: twilio-python's own vectors ------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["form_cases"], ids=lambda c: c.get("note", c["url"]))
def test_twilio_python_form_vectors_verify(case: dict[str, Any]) -> None:
    pairs = [tuple(p) for p in case.get("params_multi") or case["params"].items()]
    body = urlencode(pairs)
    adapter.verify(
        request(body, url=case["url"], signature=case["expected_signature"]),
        {"auth_token": VECTORS["auth_token"]},
    )


def test_repeated_keys_are_all_signed() -> None:
    case = next(c for c in VECTORS["form_cases"] if "params_multi" in c)
    body = urlencode([tuple(p) for p in case["params_multi"][:-2]])  # drop a Digits value
    with pytest.raises(SignatureError):
        adapter.verify(
            request(body, url=case["url"], signature=case["expected_signature"]),
            {"auth_token": VECTORS["auth_token"]},
        )


def test_twilio_python_json_body_vector_verifies_and_checks_the_body_hash() -> None:
    case = VECTORS["json_body_case"]
    secrets = {"auth_token": VECTORS["auth_token"]}
    good = request(
        case["raw_body"],
        url=case["url"],
        signature=case["expected_signature"],
        content_type="application/json",
    )
    adapter.verify(good, secrets)
    tampered = request(
        case["raw_body"].replace("value", "other"),
        url=case["url"],
        signature=case["expected_signature"],
        content_type="application/json",
    )
    with pytest.raises(SignatureError):
        adapter.verify(tampered, secrets)


# --- verify: reconstructed WhatsApp deliveries -----------------------------------------


@pytest.mark.parametrize("name", RECONSTRUCTED)
def test_reconstructed_deliveries_verify_with_their_auth_token(name: str) -> None:
    adapter.verify(fixture_request(name), {"auth_token": load(name)["auth_token"]})


@pytest.mark.parametrize("name", RECONSTRUCTED)
def test_a_tampered_body_is_rejected(name: str) -> None:
    body = load(name)["raw_body"].replace("whatsapp%3A%2B14155238886", "whatsapp%3A%2B1415")
    with pytest.raises(SignatureError, match="does not match"):
        adapter.verify(fixture_request(name, body=body), {"auth_token": load(name)["auth_token"]})


def test_an_added_empty_parameter_changes_the_signature() -> None:
    # Twilio signs blank values too, so they must not be dropped when parsing the form.
    name = "reconstructed_whatsapp_inbound_text.json"
    body = load(name)["raw_body"] + "&Extra="
    with pytest.raises(SignatureError):
        adapter.verify(fixture_request(name, body=body), {"auth_token": load(name)["auth_token"]})


def test_a_different_url_is_rejected() -> None:
    name = "reconstructed_whatsapp_inbound_text.json"
    req = fixture_request(name, url="https://helpdesk.example.com/webhooks/twilio/other/")
    with pytest.raises(SignatureError):
        adapter.verify(req, {"auth_token": load(name)["auth_token"]})


def test_a_wrong_auth_token_is_rejected() -> None:
    with pytest.raises(SignatureError):
        adapter.verify(
            fixture_request("reconstructed_whatsapp_inbound_text.json"), {"auth_token": "nope"}
        )


def test_a_missing_signature_header_is_rejected() -> None:
    name = "reconstructed_whatsapp_inbound_text.json"
    with pytest.raises(SignatureError, match="missing"):
        adapter.verify(request(load(name)["raw_body"], url=load(name)["url"]), {"auth_token": "x"})


def test_a_missing_auth_token_is_rejected() -> None:
    with pytest.raises(SignatureError, match="auth_token"):
        adapter.verify(fixture_request("reconstructed_whatsapp_inbound_text.json"), {})


def test_a_non_utf8_body_fails_verification_cleanly() -> None:
    req = request(b"\xff\xfe", signature="abc=")
    with pytest.raises(SignatureError):
        adapter.verify(req, {"auth_token": "x"})


def test_a_shared_key_signature_uses_the_shared_key_secret_and_its_algorithm() -> None:
    url = "https://helpdesk.example.com/webhooks/twilio/abc123/"
    body = urlencode({"MessageSid": "SM1", "From": "whatsapp:+5511900000001", "Body": "oi"})
    params = {"MessageSid": "SM1", "From": "whatsapp:+5511900000001", "Body": "oi"}
    signature = RequestValidator("shared-secret").compute_signature(url, params, "HMAC_SHA256")
    settings = {"x-twilio-webhooks-signature-settings": "key=KS123,algorithm=HMAC_SHA256"}
    req = request(body, url=url, signature=signature, headers=settings)
    adapter.verify(req, {"auth_token": "account-token", "shared_key_secret": "shared-secret"})
    with pytest.raises(SignatureError):
        adapter.verify(req, {"auth_token": "account-token"})


# --- parse: reconstructed fixtures ------------------------------------------------------


def test_inbound_text_is_a_contact_message_keyed_by_customer_and_business_number() -> None:
    result = adapter.parse(fixture_request("reconstructed_whatsapp_inbound_text.json"), {})
    message = only(result)
    assert isinstance(message, InboundMessage)
    assert result.delivery_id == "SM0123456789abcdef0123456789abcdef"
    assert message.external_message_id == "SM0123456789abcdef0123456789abcdef"
    assert message.external_conversation_id == "+5511900000001|+14155238886"
    assert message.direction == Direction.INBOUND
    assert message.sender_type == SenderType.CONTACT
    assert message.content == "Olá, preciso de ajuda com meu pedido"
    assert message.content_type == ContentType.TEXT
    assert message.contact.phone == "+5511900000001"
    assert message.contact.name == "Maria"
    assert message.contact.external_id == "5511900000001"
    assert message.sender_name == "Maria"
    assert message.sender_external_id == "5511900000001"
    assert message.attachments == ()
    assert message.extra["account_sid"] == "AC0123456789abcdef0123456789abcdef"
    assert message.extra["message_type"] == "text"
    assert "forwarded" not in message.extra


def test_inbound_image_carries_its_media_as_an_attachment() -> None:
    message = only(adapter.parse(fixture_request("reconstructed_whatsapp_inbound_image.json"), {}))
    assert message.external_message_id == "MM0123456789abcdef0123456789abcdee"
    assert message.content == "segue a foto"
    assert message.content_type == ContentType.IMAGE
    (attachment,) = message.attachments
    assert attachment.kind == ContentType.IMAGE
    assert attachment.mime_type == "image/jpeg"
    assert attachment.url.endswith("/Media/ME0123456789abcdef0123456789abcdef")
    assert attachment.extra["requires_auth"] is True


def test_button_reply_is_interactive_with_payload_and_reply_context() -> None:
    message = only(
        adapter.parse(fixture_request("reconstructed_whatsapp_inbound_button_reply.json"), {})
    )
    assert message.content == "Confirmar"
    assert message.content_type == ContentType.INTERACTIVE
    assert message.extra["button_payload"] == "confirm_order_4521"
    assert message.extra["in_reply_to"] == "MM2222222222abcdef0123456789abcdef"
    assert message.extra["in_reply_to_sender"] == "+14155238886"


def test_read_status_callback_is_a_read_status_update() -> None:
    result = adapter.parse(fixture_request("reconstructed_whatsapp_status_read.json"), {})
    update = only(result)
    assert update == StatusUpdate(
        external_message_id="SM3333333333abcdef0123456789abcdef",
        status=DeliveryStatus.READ,
        external_conversation_id="+5511900000001|+14155238886",
    )
    assert result.delivery_id == "SM3333333333abcdef0123456789abcdef:read"


def test_failed_status_callback_carries_the_error_code() -> None:
    result = adapter.parse(fixture_request("reconstructed_whatsapp_status_failed.json"), {})
    update = only(result)
    assert isinstance(update, StatusUpdate)
    assert update.status == DeliveryStatus.FAILED
    assert update.error_code == "63016"
    assert update.external_message_id == "SM4444444444abcdef0123456789abcdef"
    assert result.delivery_id == "SM4444444444abcdef0123456789abcdef:failed"


def test_inbound_and_status_callbacks_share_the_conversation_id() -> None:
    inbound = only(adapter.parse(fixture_request("reconstructed_whatsapp_inbound_text.json"), {}))
    status = only(adapter.parse(fixture_request("reconstructed_whatsapp_status_read.json"), {}))
    assert inbound.external_conversation_id == status.external_conversation_id


# --- parse: variants --------------------------------------------------------------------


BASE = {
    "MessageSid": "SM0000000000000000000000000000000a",
    "AccountSid": "AC0123456789abcdef0123456789abcdef",
    "From": "whatsapp:+5511900000001",
    "To": "whatsapp:+14155238886",
    "WaId": "5511900000001",
    "ProfileName": "Maria",
    "SmsStatus": "received",
    "NumMedia": "0",
    "Body": "",
}


def inbound(**changes: str) -> InboundMessage:
    message = only(parse_params({**BASE, **changes}))
    assert isinstance(message, InboundMessage)
    return message


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("true", True), ("True", True)])
def test_forwarded_is_read_as_text_not_truthiness(value: str, expected: bool) -> None:
    message = inbound(Forwarded=value, FrequentlyForwarded="false")
    assert message.extra["forwarded"] is expected
    assert message.extra["frequently_forwarded"] is False


def test_location_message_keeps_coordinates_and_label() -> None:
    message = inbound(
        MessageType="location",
        Latitude="-23.561414",
        Longitude="-46.655881",
        Address="Av. Paulista, 1578",
        Label="MASP",
    )
    assert message.content_type == ContentType.LOCATION
    assert message.extra["location"] == {
        "latitude": -23.561414,
        "longitude": -46.655881,
        "address": "Av. Paulista, 1578",
        "label": "MASP",
    }


def test_several_media_get_kinds_from_their_mime_types() -> None:
    message = inbound(
        NumMedia="3",
        MediaUrl0="https://api.twilio.com/m/0",
        MediaContentType0="audio/ogg",
        MediaUrl1="https://api.twilio.com/m/1",
        MediaContentType1="application/pdf",
        MediaUrl2="https://api.twilio.com/m/2",
        MediaContentType2="text/vcard",
    )
    assert [a.kind for a in message.attachments] == ["audio", "file", "contact"]
    assert message.content_type == ContentType.AUDIO


def test_a_sticker_is_told_apart_from_an_image_by_message_type() -> None:
    message = inbound(
        MessageType="sticker",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/m/0",
        MediaContentType0="image/webp",
    )
    assert message.content_type == ContentType.STICKER


def test_click_to_whatsapp_referral_and_channel_metadata_are_kept() -> None:
    metadata = '{"type":"whatsapp","data":{"context":{"ProfileName":"Maria"}}}'
    message = inbound(
        Body="Quero saber mais",
        ReferralNumMedia="0",
        ReferralSourceId="120200000000",
        ReferralSourceType="ad",
        ReferralCtwaClid="ARAk...",
        ChannelMetadata=metadata,
    )
    assert message.extra["referral"] == {
        "ReferralSourceId": "120200000000",
        "ReferralSourceType": "ad",
        "ReferralCtwaClid": "ARAk...",
    }
    assert message.extra["channel_metadata"]["type"] == "whatsapp"


def test_a_brazilian_number_with_and_without_the_ninth_digit_is_one_conversation() -> None:
    old = inbound(From="whatsapp:+558199998888", WaId="558199998888")
    assert old.contact.phone == "+558199998888"
    assert old.external_conversation_id == "+5581999998888|+14155238886"
    assert conversation_id_for("whatsapp:+5581999998888", "whatsapp:+14155238886") == (
        old.external_conversation_id
    )


def test_a_message_without_a_message_status_is_inbound() -> None:
    params = {k: v for k, v in BASE.items() if k != "SmsStatus"}
    params["Body"] = "oi"
    assert isinstance(only(parse_params(params)), InboundMessage)


@pytest.mark.parametrize(
    ("twilio_status", "expected"),
    [
        ("queued", DeliveryStatus.PENDING),
        ("sending", DeliveryStatus.PENDING),
        ("accepted", DeliveryStatus.PENDING),
        ("scheduled", DeliveryStatus.PENDING),
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.READ),
        ("undelivered", DeliveryStatus.FAILED),
        ("failed", DeliveryStatus.FAILED),
        ("canceled", DeliveryStatus.FAILED),
    ],
)
def test_message_statuses_map_to_delivery_statuses(twilio_status: str, expected: str) -> None:
    params = {
        "MessageSid": "SM1",
        "MessageStatus": twilio_status,
        "From": "whatsapp:+14155238886",
        "To": "whatsapp:+5511900000001",
    }
    result = parse_params(params)
    assert only(result).status == expected
    assert result.delivery_id == f"SM1:{twilio_status}"


def test_an_undelivered_status_keeps_the_error_message() -> None:
    update = only(
        parse_params(
            {
                "MessageSid": "SM1",
                "MessageStatus": "undelivered",
                "From": "whatsapp:+14155238886",
                "To": "whatsapp:+5511900000001",
                "ErrorCode": "63024",
                "ErrorMessage": "Invalid message recipient",
            }
        )
    )
    assert (update.error_code, update.error_message) == ("63024", "Invalid message recipient")


def test_an_unknown_message_status_is_ignored() -> None:
    result = parse_params({"MessageSid": "SM1", "MessageStatus": "teleported", "From": "x"})
    assert isinstance(only(result), Ignored)


def test_a_callback_that_is_neither_message_nor_status_is_ignored() -> None:
    result = parse_params({"MessageSid": "SM1", "From": "whatsapp:+5511900000001"})
    assert isinstance(only(result), Ignored)


# --- garbage in, BadRequest out ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe\x00",
        b"Body=%FF%FE&MessageSid=SM1&From=x",
        b"MessageSid=SM1",
        b"From=whatsapp%3A%2B5511900000001",
        b"MessageSid=&From=x",
        b"[1,2,3]",
        b"&".join(b"k%d=v" % i for i in range(5000)),
    ],
    ids=[
        "empty",
        "non-utf8",
        "bad-percent-utf8",
        "no-from",
        "no-sid",
        "blank-sid",
        "json-array",
        "too-many-fields",
    ],
)
def test_garbage_form_bodies_are_bad_requests(body: bytes) -> None:
    with pytest.raises(BadRequest):
        adapter.parse(request(body), {})


def test_a_json_body_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="x-www-form-urlencoded"):
        adapter.parse(request('{"MessageSid": "SM1"}', content_type="application/json"), {})


@pytest.mark.parametrize(
    "changes",
    [
        {"NumMedia": "abc"},
        {"NumMedia": "-1"},
        {"NumMedia": "100000"},
        {"Latitude": "north", "Longitude": "-46.6"},
    ],
)
def test_wrong_typed_fields_are_bad_requests(changes: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        parse_params({**BASE, **changes})


def test_the_registry_serves_the_twilio_adapter() -> None:
    assert isinstance(get_adapter("twilio"), TwilioAdapter)
