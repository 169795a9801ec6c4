"""Chatwoot adapter on the recorded payloads in shared/fixtures/chatwoot (pure, no Django)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from integrations.adapters import get_adapter
from integrations.base import (
    BadRequest,
    ContactChange,
    ContentType,
    ConversationChange,
    Direction,
    Ignored,
    InboundMessage,
    MessageUpdate,
    ParseResult,
    SenderType,
    SignatureError,
    WebhookRequest,
)
from integrations.chatwoot.adapter import (
    ChatwootAdapter,
    parse_api_conversation,
    parse_api_message,
)

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "chatwoot"
NOW = datetime(2026, 10, 22, 12, 0, 6, tzinfo=UTC)
adapter = ChatwootAdapter()


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def request(
    body: bytes | dict[str, Any] | list[Any],
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    content_type: str = "application/json",
    now: datetime = NOW,
) -> WebhookRequest:
    raw_body = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest(
        raw_body=raw_body,
        content_type=content_type,
        headers=headers or {},
        query=query or {},
        url="https://helpdesk.example.com/webhooks/chatwoot/abc123/",
        now=now,
    )


def parse(body: bytes | dict[str, Any] | list[Any], **kwargs: Any) -> ParseResult:
    return adapter.parse(request(body, **kwargs), {})


def only(result: ParseResult) -> Any:
    assert len(result.events) == 1
    return result.events[0]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# --- verify -----------------------------------------------------------------------------


VECTOR = load("computed_signature_vector.json")
VECTOR_BODY = VECTOR["raw_body_utf8"].encode("utf-8")
VECTOR_TS = int(VECTOR["headers"]["X-Chatwoot-Timestamp"])
VECTOR_HEADERS = {k.lower(): v for k, v in VECTOR["headers"].items()}
SECRETS = {"webhook_secret": VECTOR["secret"]}


def vector_request(
    *, headers: dict[str, str] | None = None, body: bytes = VECTOR_BODY, skew: float = 0
) -> WebhookRequest:
    return request(
        body,
        headers=VECTOR_HEADERS if headers is None else headers,
        now=datetime.fromtimestamp(VECTOR_TS + skew, tz=UTC),
    )


def test_the_computed_signature_vector_verifies() -> None:
    adapter.verify(vector_request(), SECRETS)


def test_our_signing_helper_reproduces_the_vector() -> None:
    expected = VECTOR["headers"]["X-Chatwoot-Signature"]
    assert sign(VECTOR["secret"], str(VECTOR_TS), VECTOR_BODY) == expected


def test_a_signature_over_the_body_alone_is_rejected() -> None:
    headers = dict(VECTOR_HEADERS)
    headers["x-chatwoot-signature"] = VECTOR["signature_over_body_only_which_must_NOT_match"]
    with pytest.raises(SignatureError, match="does not match"):
        adapter.verify(vector_request(headers=headers), SECRETS)


def test_a_tampered_body_is_rejected() -> None:
    with pytest.raises(SignatureError):
        adapter.verify(vector_request(body=VECTOR_BODY.replace(b"Ol", b"0l")), SECRETS)


def test_a_wrong_secret_is_rejected() -> None:
    with pytest.raises(SignatureError):
        adapter.verify(vector_request(), {"webhook_secret": "not-the-secret"})


@pytest.mark.parametrize("skew", [-300, -299, 0, 299, 300])
def test_timestamps_within_five_minutes_either_way_are_accepted(skew: int) -> None:
    adapter.verify(vector_request(skew=skew), SECRETS)


@pytest.mark.parametrize("skew", [-301, 301, 3600, -86400])
def test_stale_or_future_timestamps_are_rejected(skew: int) -> None:
    with pytest.raises(SignatureError, match="window"):
        adapter.verify(vector_request(skew=skew), SECRETS)


@pytest.mark.parametrize("missing", ["x-chatwoot-signature", "x-chatwoot-timestamp"])
def test_missing_signature_headers_are_rejected_when_a_secret_is_set(missing: str) -> None:
    headers = {k: v for k, v in VECTOR_HEADERS.items() if k != missing}
    with pytest.raises(SignatureError):
        adapter.verify(vector_request(headers=headers), SECRETS)


@pytest.mark.parametrize("timestamp", ["", "abc", "1793102406.5", "-1793102406", "١٢٣"])
def test_a_malformed_timestamp_is_rejected(timestamp: str) -> None:
    headers = dict(VECTOR_HEADERS, **{"x-chatwoot-timestamp": timestamp})
    with pytest.raises(SignatureError):
        adapter.verify(vector_request(headers=headers), SECRETS)


def test_a_non_ascii_signature_header_is_a_signature_error_not_a_crash() -> None:
    headers = dict(VECTOR_HEADERS, **{"x-chatwoot-signature": "sha256=çãõ"})
    with pytest.raises(SignatureError):
        adapter.verify(vector_request(headers=headers), SECRETS)


def test_header_names_are_matched_case_insensitively() -> None:
    adapter.verify(vector_request(headers=dict(VECTOR["headers"])), SECRETS)


def test_a_fresh_signature_computed_for_another_body_verifies() -> None:
    body = raw("woofed_message_created_incoming_webwidget.json")
    timestamp = str(int(NOW.timestamp()))
    headers = {
        "x-chatwoot-timestamp": timestamp,
        "x-chatwoot-signature": sign("s3cret", timestamp, body),
    }
    adapter.verify(request(body, headers=headers), {"webhook_secret": "s3cret"})


def test_the_url_token_is_required_when_it_is_the_only_secret() -> None:
    secrets = {"url_token": "tok-123"}
    adapter.verify(request(VECTOR_BODY, query={"token": "tok-123"}), secrets)
    with pytest.raises(SignatureError):
        adapter.verify(request(VECTOR_BODY, query={"token": "tok-124"}), secrets)
    with pytest.raises(SignatureError):
        adapter.verify(request(VECTOR_BODY), secrets)
    with pytest.raises(SignatureError):
        adapter.verify(request(VECTOR_BODY, query={"token": "tök-123"}), secrets)


def test_without_any_secret_configured_every_request_is_accepted() -> None:
    adapter.verify(request(VECTOR_BODY), {})
    adapter.verify(request(VECTOR_BODY), {"webhook_secret": "", "url_token": ""})


def test_a_bad_signature_is_forgiven_only_when_the_url_token_matches() -> None:
    # Chatwoot issue #13809: some installs sign with a key that differs from the UI's.
    secrets = {"webhook_secret": "shown-in-ui", "url_token": "tok-123"}
    with_token = request(
        VECTOR_BODY,
        headers=VECTOR_HEADERS,
        query={"token": "tok-123"},
        now=datetime.fromtimestamp(VECTOR_TS, tz=UTC),
    )
    adapter.verify(with_token, secrets)


def test_a_bad_signature_without_the_url_token_is_rejected_even_if_one_is_configured() -> None:
    secrets = {"webhook_secret": "shown-in-ui", "url_token": "tok-123"}
    with pytest.raises(SignatureError):
        adapter.verify(vector_request(), secrets)


# --- message_created on recorded payloads -----------------------------------------------


def test_incoming_message_without_sender_type_is_from_the_contact() -> None:
    result = parse(
        raw("woofed_message_created_incoming_webwidget.json"),
        headers={"x-chatwoot-delivery": "d-1"},
    )
    message = only(result)
    assert result.delivery_id == "d-1"
    assert isinstance(message, InboundMessage)
    assert "type" not in load("woofed_message_created_incoming_webwidget.json")["sender"]
    assert message.direction == Direction.INBOUND
    assert message.sender_type == SenderType.CONTACT
    assert message.external_conversation_id == "6"
    assert message.external_message_id == "3748"
    assert message.content == "teste receive"
    assert message.content_type == ContentType.TEXT
    assert message.created_at == datetime(2023, 12, 10, 1, 8, 18, 727000, tzinfo=UTC)
    assert message.contact.external_id == "405"
    assert message.contact.name == "restless-cloud-54"
    assert message.contact.is_group is False
    assert message.sender_name == "restless-cloud-54"
    assert message.is_private is False
    assert message.echo_key == ""
    assert message.attachments == ()
    assert message.extra["channel"] == "Channel::WebWidget"
    assert message.extra["account_id"] == "3"
    assert message.extra["inbox_id"] == "9"


def test_outgoing_message_from_a_user_is_an_agent_message() -> None:
    message = only(parse(raw("woofed_message_created_outgoing_user.json")))
    assert message.direction == Direction.OUTBOUND
    assert message.sender_type == SenderType.AGENT
    assert message.sender_name == "Douglas Teste"
    assert message.sender_external_id == "95"
    assert message.content == "Teste2"
    assert message.external_conversation_id == "49"
    assert message.external_message_id == "99523"
    # The contact is the conversation's, never the agent who wrote.
    assert message.contact.external_id == "715"
    assert message.contact.name == "doug"
    assert message.contact.email == "redacted1@example.com"
    assert message.created_at == datetime(2023, 7, 26, 1, 59, 54, 994000, tzinfo=UTC)


def test_message_without_text_and_one_image_becomes_an_image_message() -> None:
    message = only(parse(raw("woofed_message_created_with_one_attachment.json")))
    assert message.content == ""
    assert message.content_type == ContentType.IMAGE
    assert message.sender_type == SenderType.AGENT
    assert message.external_conversation_id == "9"
    assert message.external_message_id == "8633"
    (attachment,) = message.attachments
    assert attachment.kind == ContentType.IMAGE
    assert attachment.url.startswith("http://chatwoot.server3.woofedcrm.com/rails/active_storage/")
    assert attachment.filename == "Captura de Tela (18).png"
    assert attachment.size == 430766
    assert attachment.mime_type == ""
    assert attachment.extra["id"] == "1222"
    assert attachment.extra["thumb_url"].startswith("http://chatwoot.server3.woofedcrm.com/")


def test_message_with_three_attachments_keeps_them_in_order() -> None:
    message = only(parse(raw("woofed_message_created_with_three_attachments.json")))
    assert message.content == "Message with attachments"
    assert message.content_type == ContentType.IMAGE
    assert [a.filename for a in message.attachments] == [
        "bob_esponja.png",
        "patrick.png",
        "lula.png",
    ]
    assert [a.size for a in message.attachments] == [514533, 430766, 758301]
    assert [a.extra["id"] for a in message.attachments] == ["1225", "1226", "1227"]
    assert message.contact.extra["custom_attributes"] == {"cpf": "173.677.888-91"}


def test_evolution_group_message_names_the_participant_and_strips_the_prefix() -> None:
    message = only(parse(raw("reconstructed_message_created_evolution_whatsapp_group.json")))
    assert message.direction == Direction.INBOUND
    assert message.sender_type == SenderType.CONTACT
    assert message.content == "Bom dia, alguém pode me ajudar com o pedido 4521?"
    assert message.sender_name == "Maria"
    assert message.sender_external_id == "5511900000001"
    assert message.group_name == "Equipe Vendas"
    assert message.contact.is_group is True
    assert message.contact.name == "Equipe Vendas"
    assert message.contact.identifier == "120363025246125486@g.us"
    assert message.contact.phone == ""
    assert message.external_conversation_id == "845"
    assert message.external_message_id == "99120"
    assert message.extra["source_id"] == "WAID:3EB0C1A2B3C4D5E6F7A8"
    assert message.created_at == datetime(2026, 10, 22, 12, 0, 5, 120000, tzinfo=UTC)


def group_payload(content: str, **changes: Any) -> dict[str, Any]:
    data = load("reconstructed_message_created_evolution_whatsapp_group.json")
    data["content"] = content
    data.update(changes)
    return data


def test_group_prefix_with_a_twelve_digit_formatted_phone_is_stripped() -> None:
    message = only(parse(group_payload("**+55 (11) 9999-9999 - João - Vendas:**\n\nOi")))
    assert message.content == "Oi"
    assert message.sender_name == "João - Vendas"
    assert message.sender_external_id == "551199999999"


def test_group_media_message_with_only_the_prefix_leaves_empty_content() -> None:
    message = only(parse(group_payload("**+5511900000001 - Maria:**")))
    assert message.content == ""
    assert message.sender_name == "Maria"


def test_group_message_without_a_prefix_is_kept_verbatim() -> None:
    message = only(parse(group_payload("sem prefixo **+55 - x:**")))
    assert message.content == "sem prefixo **+55 - x:**"
    assert message.sender_name == ""
    assert message.group_name == "Equipe Vendas"


def test_outgoing_group_message_is_not_stripped() -> None:
    text = "**+5511900000001 - Maria:**\n\nnot a participant prefix"
    data = group_payload(text, message_type="outgoing")
    data["sender"] = {"id": 3, "name": "Ana", "type": "user"}
    message = only(parse(data))
    assert message.direction == Direction.OUTBOUND
    assert message.content == text
    assert message.sender_name == "Ana"
    assert message.group_name == "Equipe Vendas"


def test_a_group_is_recognised_by_the_group_suffix_alone() -> None:
    data = group_payload("**+5511900000001 - Maria:**\n\nOi")
    data["conversation"]["meta"]["sender"]["identifier"] = None
    message = only(parse(data))
    assert message.contact.is_group is True
    assert message.group_name == "Equipe Vendas"
    assert message.content == "Oi"


def test_the_signature_vector_body_lacks_a_conversation_and_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="conversation is missing"):
        parse(VECTOR_BODY)


# --- classification variants ------------------------------------------------------------


def outgoing(**changes: Any) -> dict[str, Any]:
    data = load("woofed_message_created_outgoing_user.json")
    data.update(changes)
    return data


def test_private_note_is_an_outbound_agent_note() -> None:
    message = only(parse(outgoing(private=True)))
    assert message.is_private is True
    assert message.direction == Direction.OUTBOUND
    assert message.sender_type == SenderType.AGENT


def test_private_note_on_an_incoming_message_is_still_a_note() -> None:
    data = load("woofed_message_created_incoming_webwidget.json")
    data["private"] = True
    message = only(parse(data))
    assert message.is_private is True
    assert message.direction == Direction.OUTBOUND
    assert message.sender_type == SenderType.AGENT


def test_template_without_sender_is_a_system_message() -> None:
    data = outgoing(message_type="template")
    del data["sender"]
    message = only(parse(data))
    assert message.direction == Direction.OUTBOUND
    assert message.sender_type == SenderType.SYSTEM
    assert message.sender_name == ""


def test_outgoing_message_from_an_agent_bot_is_a_bot_message() -> None:
    message = only(parse(outgoing(sender={"id": 7, "name": "Triagem", "type": "agent_bot"})))
    assert message.sender_type == SenderType.BOT
    assert message.sender_name == "Triagem"
    assert message.sender_external_id == "7"


def test_incoming_message_with_the_old_contact_type_is_from_the_contact() -> None:
    data = load("woofed_message_created_incoming_webwidget.json")
    data["sender"]["type"] = "contact"
    assert only(parse(data)).sender_type == SenderType.CONTACT


def test_incoming_message_falls_back_to_the_top_level_sender_as_contact() -> None:
    data = load("woofed_message_created_incoming_webwidget.json")
    del data["conversation"]["meta"]
    message = only(parse(data))
    assert message.contact.external_id == "405"
    assert message.contact.name == "restless-cloud-54"


def test_our_own_echo_carries_its_marker() -> None:
    data = outgoing(content_attributes={"atende_message_id": "msg-42", "in_reply_to": 99000})
    message = only(parse(data))
    assert message.echo_key == "msg-42"
    assert message.extra["in_reply_to"] == "99000"


def test_activity_messages_are_ignored() -> None:
    result = only(parse(outgoing(message_type="activity")))
    assert isinstance(result, Ignored)


def test_attachment_details_are_kept_in_extra() -> None:
    data = load("woofed_message_created_incoming_webwidget.json")
    data["attachments"] = [
        {
            "id": 1,
            "file_type": "audio",
            "data_url": "https://cw.example.com/rails/active_storage/blobs/redirect/x/voz.ogg",
            "content_type": "audio/ogg",
            "file_size": 5120,
            "transcribed_text": "quero cancelar",
        },
        {
            "id": 2,
            "file_type": "location",
            "data_url": "https://maps.example.com/?q=-23.5,-46.6",
            "coordinates_lat": -23.5,
            "coordinates_long": -46.6,
            "fallback_title": "Av. Paulista",
        },
        {"id": 3, "file_type": "story_mention", "data_url": ""},
    ]
    message = only(parse(data))
    audio, location, story = message.attachments
    assert message.content_type == ContentType.AUDIO
    assert audio.kind == ContentType.AUDIO
    assert audio.mime_type == "audio/ogg"
    assert audio.filename == "voz.ogg"
    assert audio.extra["transcribed_text"] == "quero cancelar"
    assert location.kind == ContentType.LOCATION
    assert location.extra["coords"] == {"lat": -23.5, "long": -46.6}
    assert location.extra["fallback_title"] == "Av. Paulista"
    assert story.kind == ContentType.OTHER
    assert story.url == ""


def test_form_like_chatwoot_content_types_are_interactive() -> None:
    message = only(parse(outgoing(content_type="input_select")))
    assert message.content_type == ContentType.INTERACTIVE
    assert message.extra["chatwoot_content_type"] == "input_select"


def test_an_unparseable_created_at_does_not_cost_the_message() -> None:
    assert only(parse(outgoing(created_at="yesterday"))).created_at is None


# --- message_updated --------------------------------------------------------------------


def test_a_deleted_message_update_keeps_our_copy_of_the_text() -> None:
    data = outgoing(
        event="message_updated",
        content="This message was deleted",
        content_attributes={"deleted": True},
    )
    update = only(parse(data))
    assert update == MessageUpdate(
        external_conversation_id="49", external_message_id="99523", content=None, deleted=True
    )


def test_an_edited_message_update_carries_the_new_text() -> None:
    update = only(parse(outgoing(event="message_updated", content="Teste3")))
    assert isinstance(update, MessageUpdate)
    assert update.content == "Teste3"
    assert update.deleted is False


# --- conversations ----------------------------------------------------------------------


def test_conversation_updated_reports_labels_assignee_and_unassigned_team() -> None:
    change = only(parse(raw("woofed_conversation_updated.json")))
    assert isinstance(change, ConversationChange)
    assert change.external_conversation_id == "49"
    assert change.status == "open"
    assert change.labels == ("test1",)
    assert change.assignee_external_id == "1"
    assert change.assignee_name == "Douglas"
    assert change.team_external_id == ""  # "team": null is stated: no team
    assert change.priority == ""
    assert change.created is False
    assert change.contact is not None
    assert change.contact.external_id == "715"
    # The update's own time comes from changed_attributes.updated_at.
    assert change.at == datetime(2023, 7, 24, 22, 38, 26, 670000, tzinfo=UTC)


def conversation(event: str, **changes: Any) -> dict[str, Any]:
    data = load("woofed_conversation_updated.json")
    data["event"] = event
    data.update(changes)
    return data


def test_status_changed_to_resolved_with_a_null_assignee_is_explicitly_unassigned() -> None:
    data = conversation(
        "conversation_status_changed",
        status="resolved",
        changed_attributes=[{"status": {"previous_value": "open", "current_value": "resolved"}}],
    )
    data["meta"]["assignee"] = None
    data["meta"]["team"] = {"id": 4, "name": "Financeiro"}
    change = only(parse(data))
    assert change.status == "resolved"
    assert change.assignee_external_id == ""
    assert change.assignee_name == ""
    assert change.team_external_id == "4"
    assert change.team_name == "Financeiro"


def test_a_conversation_without_meta_leaves_assignee_and_team_unstated() -> None:
    data = conversation("conversation_updated")
    del data["meta"]
    change = only(parse(data))
    assert change.assignee_external_id is None
    assert change.team_external_id is None
    assert change.contact is None


def test_conversation_created_is_flagged_created() -> None:
    change = only(parse(conversation("conversation_created", priority="high")))
    assert change.created is True
    assert change.priority == "high"


@pytest.mark.parametrize(
    ("event", "status"), [("conversation_resolved", "resolved"), ("conversation_opened", "open")]
)
def test_agent_bot_status_events_are_status_changes(event: str, status: str) -> None:
    data = conversation(event)
    data.pop("status")
    assert only(parse(data)).status == status


def test_an_unknown_status_is_not_stated() -> None:
    assert only(parse(conversation("conversation_updated", status="archived"))).status is None


def test_a_group_conversation_change_is_marked_as_group() -> None:
    data = conversation("conversation_updated")
    data["meta"]["sender"]["identifier"] = "120363025246125486@g.us"
    data["meta"]["sender"]["name"] = "Equipe Vendas (GROUP)"
    change = only(parse(data))
    assert change.is_group is True
    assert change.group_name == "Equipe Vendas"


# --- contacts and ignored events ---------------------------------------------------------


def test_contact_created_becomes_a_contact_change() -> None:
    change = only(parse(raw("woofed_contact_created.json")))
    assert isinstance(change, ContactChange)
    assert change.contact.external_id == "224"
    assert change.contact.name == "Tim Maia"
    assert change.contact.phone == "+5511900000001"
    assert change.contact.email == "redacted5@example.com"
    assert change.contact.identifier == ""
    assert change.contact.extra["custom_attributes"] == {"cpf": "1234"}


def test_contact_updated_from_evolution_keeps_the_whatsapp_identifier() -> None:
    change = only(parse(raw("nextcrm_contact_updated_whatsapp_evolution.json")))
    assert isinstance(change, ContactChange)
    assert change.contact.external_id == "2"
    assert change.contact.name == "Contato Teste"
    assert change.contact.phone == "+5511900000003"
    assert change.contact.identifier == "5511900000003@s.whatsapp.net"
    assert change.contact.is_group is False
    assert change.contact.avatar_url.endswith("_n.jpg")
    assert change.contact.extra["blocked"] is False


@pytest.mark.parametrize(
    "event",
    [
        "webwidget_triggered",
        "conversation_typing_on",
        "conversation_typing_off",
        "inbox_created",
        "inbox_updated",
        "message_incoming",
        "provider_event_received",
        "something_new",
    ],
)
def test_events_we_do_not_handle_are_ignored_with_a_reason(event: str) -> None:
    result = only(parse({"event": event, "id": 1}))
    assert isinstance(result, Ignored)
    assert event in result.reason


# --- API responses (used by the client and reconciliation) -----------------------------


def test_api_send_message_response_parses_as_an_outbound_agent_message() -> None:
    message = parse_api_message(load("woofed_api_response_send_message.json"))
    assert message.external_conversation_id == "10"
    assert message.external_message_id == "227"
    assert message.direction == Direction.OUTBOUND
    assert message.sender_type == SenderType.AGENT
    assert message.sender_name == "Douglas"
    assert message.content == "Hi Lorena"
    assert message.created_at == datetime.fromtimestamp(1697599321, tz=UTC)


def test_api_create_conversation_response_parses_as_a_created_conversation() -> None:
    change = parse_api_conversation(load("woofed_api_response_create_conversation.json"))
    assert change.external_conversation_id == "10"
    assert change.created is True
    assert change.status == "open"
    assert change.labels == ()
    assert change.assignee_external_id is None  # meta has no assignee key at all
    assert change.contact is not None
    assert change.contact.phone == "+5511900000002"
    assert change.contact.identifier == "5511900000002@s.whatsapp.net"


@pytest.mark.parametrize(
    "name",
    ["woofed_api_response_send_message.json", "woofed_api_response_create_conversation.json"],
)
def test_api_responses_are_not_webhooks(name: str) -> None:
    with pytest.raises(BadRequest, match="event"):
        parse(raw(name))


def test_api_helpers_reject_garbage_with_bad_request() -> None:
    with pytest.raises(BadRequest):
        parse_api_message({"id": 1})
    with pytest.raises(BadRequest):
        parse_api_message({"id": 1, "conversation_id": 2, "message_type": 2})
    with pytest.raises(BadRequest):
        parse_api_conversation({"status": "open"})


# --- garbage in, BadRequest out ---------------------------------------------------------


GOOD = load("woofed_message_created_outgoing_user.json")


def mutated(path: list[str | int], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\x00garbage",
        b"",
        b"not json",
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b"{}",
        b'{"event": 5}',
        b'{"event": ""}',
        b"[" * 100_000,
    ],
    ids=[
        "non-utf8",
        "empty",
        "not-json",
        "array",
        "string",
        "null",
        "no-event",
        "event-not-string",
        "event-empty",
        "deeply-nested",
    ],
)
def test_garbage_bodies_are_bad_requests(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse(body)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["conversation"], "x"),
        (["conversation"], None),
        (["conversation", "id"], None),
        (["conversation", "id"], {"nested": 1}),
        (["conversation", "meta"], "x"),
        (["conversation", "meta", "sender"], ["x"]),
        (["id"], None),
        (["id"], [1]),
        (["id"], True),
        (["message_type"], None),
        (["message_type"], 99),
        (["message_type"], ["incoming"]),
        (["sender"], "x"),
        (["content"], {"text": "x"}),
        (["content_attributes"], "x"),
        (["attachments"], "x"),
        (["attachments"], ["x"]),
        (["account"], 3),
    ],
)
def test_wrong_types_in_a_message_are_bad_requests(path: list[str | int], value: Any) -> None:
    with pytest.raises(BadRequest):
        parse(mutated(path, value))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("changed_attributes", "status"),
        ("changed_attributes", ["status"]),
        ("labels", "a,b"),
        ("labels", [1, 2]),
        ("meta", "x"),
        ("id", None),
        ("status", {"x": 1}),
    ],
)
def test_wrong_types_in_a_conversation_are_bad_requests(key: str, value: Any) -> None:
    data = load("woofed_conversation_updated.json")
    data[key] = value
    with pytest.raises(BadRequest):
        parse(data)


@pytest.mark.parametrize(
    "body",
    [
        {"event": "message_updated", "id": 1},
        {"event": "message_updated", "id": 1, "conversation": {"id": 2}, "content": 5},
        {"event": "contact_created"},
        {"event": "contact_updated", "id": 1, "name": ["x"]},
        {"event": "conversation_created", "conversation": "x"},
    ],
)
def test_other_malformed_events_are_bad_requests(body: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        parse(body)


def test_a_non_json_content_type_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="application/json"):
        parse(raw("woofed_contact_created.json"), content_type="application/x-www-form-urlencoded")


def test_the_registry_serves_the_chatwoot_adapter() -> None:
    assert isinstance(get_adapter("chatwoot"), ChatwootAdapter)
    assert get_adapter("chatwoot").kind == "chatwoot"
