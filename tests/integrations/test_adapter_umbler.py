"""Umbler Talk adapter on reconstructed payloads in tests/fixtures/umbler (pure, no Django).

There are no captured Umbler deliveries: the fixtures follow INTEGRATIONS.md §4 and the field
set public integrations parse, with invented ids and values.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from integrations.adapters import ADAPTERS, get_adapter
from integrations.base import (
    BadRequest,
    ContentType,
    ConversationChange,
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
from integrations.umbler.adapter import UmblerAdapter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "umbler"
FORM = "application/x-www-form-urlencoded"
NOW = datetime(2026, 10, 22, 12, 0, tzinfo=UTC)
adapter = UmblerAdapter()


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def request(
    body: bytes | dict[str, Any] | list[Any],
    *,
    content_type: str = "application/json",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> WebhookRequest:
    raw_body = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest(
        raw_body=raw_body,
        content_type=content_type,
        headers=headers or {},
        query=query or {},
        url="https://helpdesk.example.com/webhooks/umbler/abc123/",
        now=NOW,
    )


def parse(body: bytes | dict[str, Any] | list[Any], **kwargs: Any) -> ParseResult:
    return adapter.parse(request(body, **kwargs), {})


def legacy(name: str, **changes: str) -> WebhookRequest:
    params = {**load(name)["params"], **changes}
    return request(urlencode(params).encode(), content_type=FORM)


def change_and_message(result: ParseResult) -> tuple[ConversationChange, InboundMessage]:
    change, message = result.events
    assert isinstance(change, ConversationChange)
    assert isinstance(message, InboundMessage)
    return change, message


# --- verify -----------------------------------------------------------------------------


SECRETS = {"url_token": "tok-umbler-1"}
BODY = load("message_contact_text.json")


@pytest.mark.parametrize(
    "where",
    [
        {"query": {"token": "tok-umbler-1"}},
        {"headers": {"x-umbler-token": "tok-umbler-1"}},
        {"headers": {"authorization": "Bearer tok-umbler-1"}},
        {"headers": {"Authorization": "bearer tok-umbler-1"}},
    ],
)
def test_the_token_is_accepted_from_the_url_or_a_header(where: dict[str, Any]) -> None:
    adapter.verify(request(BODY, **where), SECRETS)


def test_the_legacy_token_body_field_is_accepted() -> None:
    req = legacy("legacy_form_chat_incoming.json", token="tok-umbler-1")
    adapter.verify(req, SECRETS)


@pytest.mark.parametrize(
    "where",
    [
        {},
        {"query": {"token": "tok-umbler-2"}},
        {"query": {"token": "tök-umbler-1"}},
        {"headers": {"authorization": "Basic dG9rLXVtYmxlci0x"}},
        {"headers": {"x-umbler-token": ""}},
    ],
)
def test_a_missing_or_wrong_token_is_rejected(where: dict[str, Any]) -> None:
    with pytest.raises(SignatureError):
        adapter.verify(request(BODY, **where), SECRETS)


def test_a_wrong_legacy_body_token_is_rejected() -> None:
    with pytest.raises(SignatureError):
        adapter.verify(legacy("legacy_form_chat_incoming.json"), SECRETS)


def test_a_right_token_anywhere_wins_over_a_wrong_one_elsewhere() -> None:
    req = request(BODY, query={"token": "old"}, headers={"x-umbler-token": "tok-umbler-1"})
    adapter.verify(req, SECRETS)


def test_without_a_configured_token_everything_is_accepted() -> None:
    adapter.verify(request(BODY), {})
    adapter.verify(request(b"\xff", content_type=FORM), {"url_token": ""})


def test_a_non_utf8_legacy_body_fails_verification_cleanly() -> None:
    with pytest.raises(SignatureError):
        adapter.verify(request(b"token=\xff", content_type=FORM), SECRETS)


# --- JSON format ------------------------------------------------------------------------


def test_contact_message_yields_the_chat_state_then_the_message() -> None:
    result = parse(BODY)
    assert result.delivery_id == "ZeVt000000000001"
    change, message = change_and_message(result)
    assert change.external_conversation_id == "ZcHaT000000000A1"
    assert change.status == "open"
    assert change.assignee_external_id == "ZmEmB3rAnA000001"
    assert change.team_external_id == "Zs7eCt0rSuP0rTe1"
    assert change.team_name == "Suporte"
    assert change.is_group is False
    assert change.at == datetime(2026, 10, 22, 12, 0, 4, 100000, tzinfo=UTC)
    assert change.contact is not None
    assert change.contact.external_id == "ZmAr1aC0nTaCt001"
    assert change.contact.phone == "+5511900000001"
    assert change.contact.name == "Maria Souza"
    assert change.contact.extra["tags"] == ["VIP"]

    assert message.external_conversation_id == "ZcHaT000000000A1"
    assert message.external_message_id == "ZmSg000000000001"
    assert message.direction == Direction.INBOUND
    assert message.sender_type == SenderType.CONTACT
    assert message.content == "Olá, meu pedido 4521 não chegou"
    assert message.content_type == ContentType.TEXT
    assert message.is_private is False
    assert message.created_at == datetime(2026, 10, 22, 12, 0, 4, 100000, tzinfo=UTC)
    assert message.contact == change.contact
    assert message.extra["message_state"] == "Read"


def test_member_reply_is_an_outbound_agent_message_named_from_its_prefix() -> None:
    change, message = change_and_message(parse(load("message_member_reply.json")))
    assert message.direction == Direction.OUTBOUND
    assert message.sender_type == SenderType.AGENT
    assert message.sender_external_id == "ZmEmB3rAnA000001"
    assert message.sender_name == "Ana"
    assert message.extra["in_reply_to"] == "ZmSg000000000001"
    assert message.external_message_id == "ZmSg000000000002"
    assert change.assignee_external_id == "ZmEmB3rAnA000001"


def test_group_chat_without_agent_or_sector_is_explicitly_unassigned() -> None:
    change, message = change_and_message(parse(load("message_group_image.json")))
    assert change.is_group is True
    assert change.group_name == "Equipe Vendas"
    assert change.assignee_external_id == ""
    assert change.team_external_id == ""
    assert change.contact is not None
    assert change.contact.identifier == "120363025246125486@g.us"
    assert change.contact.phone == ""
    assert message.group_name == "Equipe Vendas"
    assert message.content == "foto da etiqueta"
    assert message.content_type == ContentType.IMAGE
    (attachment,) = message.attachments
    assert attachment.url == "https://utalk-media.example.com/files/ZfIle00000000001.jpg"
    assert attachment.kind == ContentType.IMAGE
    assert attachment.mime_type == "image/jpeg"
    assert attachment.filename == "etiqueta.jpg"
    assert attachment.size == 48213


def test_a_closed_chat_under_another_type_name_is_resolved_and_keeps_the_bot_message() -> None:
    result = parse(load("chat_closed_bot_message.json"))
    change, message = change_and_message(result)
    assert result.delivery_id == "ZeVt000000000004"
    assert change.status == "resolved"
    assert message.sender_type == SenderType.BOT
    assert message.direction == Direction.OUTBOUND
    assert message.sender_name == "Pesquisa de satisfação"
    assert message.sender_external_id == "ZbOtInStAnCe0001"


def test_a_private_member_message_is_an_internal_note() -> None:
    _, message = change_and_message(parse(load("message_private_note.json")))
    assert message.is_private is True
    assert message.direction == Direction.OUTBOUND
    assert message.sender_type == SenderType.AGENT
    assert message.content == "Cliente já abriu 2 chamados este mês"


def test_an_unknown_event_shape_is_ignored_with_its_type() -> None:
    result = parse(load("unknown_event.json"))
    assert result.delivery_id == "ZeVt000000000006"
    assert result.events == (Ignored("unknown type ContactUpdated"),)


def test_a_chat_without_last_message_yields_only_the_chat_state() -> None:
    data = copy.deepcopy(BODY)
    data["Payload"]["Content"]["LastMessage"] = None
    (change,) = parse(data).events
    assert isinstance(change, ConversationChange)


def test_absent_member_and_sector_keys_leave_them_unstated() -> None:
    data = copy.deepcopy(BODY)
    del data["Payload"]["Content"]["OrganizationMember"]
    del data["Payload"]["Content"]["Sector"]
    change, _ = change_and_message(parse(data))
    assert change.assignee_external_id is None
    assert change.team_external_id is None


def test_a_missing_open_flag_means_open() -> None:
    data = copy.deepcopy(BODY)
    del data["Payload"]["Content"]["Open"]
    change, _ = change_and_message(parse(data))
    assert change.status == "open"


@pytest.mark.parametrize(
    ("message_type", "expected"),
    [("Audio", "audio"), ("Document", "file"), ("Location", "location"), ("Poll", "other")],
)
def test_message_types_map_to_content_types(message_type: str, expected: str) -> None:
    data = copy.deepcopy(BODY)
    data["Payload"]["Content"]["LastMessage"]["MessageType"] = message_type
    _, message = change_and_message(parse(data))
    assert message.content_type == expected
    assert message.extra["umbler_message_type"] == message_type


def test_an_unknown_source_is_a_system_message() -> None:
    data = copy.deepcopy(BODY)
    data["Payload"]["Content"]["LastMessage"]["Source"] = "Automation"
    _, message = change_and_message(parse(data))
    assert (message.direction, message.sender_type) == (Direction.OUTBOUND, SenderType.SYSTEM)


# --- legacy form format -----------------------------------------------------------------


def test_legacy_incoming_chat_is_a_contact_message_keyed_by_the_jid() -> None:
    result = adapter.parse(legacy("legacy_form_chat_incoming.json"), {})
    (message,) = result.events
    assert isinstance(message, InboundMessage)
    assert result.delivery_id == "chat:3EB0C1A2B3C4D5E6F7A8"
    assert message.external_conversation_id == "5511900000001@c.us"
    assert message.external_message_id == "3EB0C1A2B3C4D5E6F7A8"
    assert message.direction == Direction.INBOUND
    assert message.sender_type == SenderType.CONTACT
    assert message.content == "Olá, tudo bem?"
    assert message.content_type == ContentType.TEXT
    assert message.created_at == datetime.fromtimestamp(1793102405, tz=UTC)
    assert message.contact.phone == "5511900000001"
    assert message.contact.name == "Maria Souza"
    assert message.contact.identifier == "5511900000001@c.us"
    assert message.extra["account"] == "551130000000"


def test_legacy_outgoing_chat_is_an_agent_message() -> None:
    (message,) = adapter.parse(
        legacy("legacy_form_chat_incoming.json", **{"chat[dir]": "o"}), {}
    ).events
    assert message.direction == Direction.OUTBOUND
    assert message.sender_type == SenderType.AGENT


def test_legacy_group_media_message_becomes_a_group_attachment() -> None:
    req = legacy(
        "legacy_form_chat_incoming.json",
        **{
            "contact[server]": "g.us",
            "contact[number]": "5511900000001-1600000000",
            "contact[name]": "Equipe Vendas",
            "chat[type]": "image",
            "chat[body]": "https://files.example.com/m/foto%20nova.jpg",
        },
    )
    (message,) = adapter.parse(req, {}).events
    assert message.contact.is_group is True
    assert message.contact.phone == ""
    assert message.group_name == "Equipe Vendas"
    assert message.external_conversation_id == "5511900000001-1600000000@g.us"
    assert message.content == ""
    assert message.content_type == ContentType.IMAGE
    assert message.attachments[0].filename == "foto nova.jpg"


def test_legacy_ack_is_a_read_status_update() -> None:
    result = adapter.parse(legacy("legacy_form_ack.json"), {})
    assert result.events == (
        StatusUpdate(
            external_message_id="3EB0AABBCCDDEEFF0011",
            status=DeliveryStatus.READ,
            external_conversation_id="5511900000001@c.us",
            at=datetime.fromtimestamp(1793102500, tz=UTC),
        ),
    )
    assert result.delivery_id == "ack:3EB0AABBCCDDEEFF0011:3"


@pytest.mark.parametrize(
    ("ack", "status"),
    [("-1", "failed"), ("0", "pending"), ("1", "sent"), ("2", "delivered"), ("4", "read")],
)
def test_legacy_ack_levels_map_to_delivery_statuses(ack: str, status: str) -> None:
    (update,) = adapter.parse(legacy("legacy_form_ack.json", **{"chat[ack]": ack}), {}).events
    assert update.status == status


def test_an_unknown_legacy_ack_or_event_is_ignored() -> None:
    (ack,) = adapter.parse(legacy("legacy_form_ack.json", **{"chat[ack]": "9"}), {}).events
    (other,) = adapter.parse(legacy("legacy_form_ack.json", event="presence"), {}).events
    assert isinstance(ack, Ignored)
    assert isinstance(other, Ignored)


# --- garbage in, BadRequest out ---------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b"",
        b"{not json",
        b"[1, 2]",
        b'"Message"',
        b"{}",
        b'{"Type": 3}',
        b'{"Type": "Message"}',
        b'{"Type": "Message", "Payload": "x"}',
        b'{"Type": "Message", "Payload": {"Type": "Chat", "Content": "x"}}',
        b'{"Type": "Message", "Payload": {"Type": "Chat", "Content": {}}}',
        b'{"Type": "Message", "EventId": {"a": 1}, "Payload": {}}',
        b"[" * 100_000,
    ],
)
def test_garbage_json_bodies_are_bad_requests(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse(body)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["Contact"], "x"),
        (["Contact", "Name"], {"x": 1}),
        (["OrganizationMember"], ["x"]),
        (["Sector"], 7),
        (["LastMessage"], "x"),
        (["LastMessage", "Id"], ["x"]),
        (["LastMessage", "Id"], ""),
        (["LastMessage", "Content"], ["x"]),
        (["LastMessage", "File"], "x"),
        (["LastMessage", "SentByOrganizationMember"], "x"),
        (["Id"], None),
        (["Id"], {"x": 1}),
    ],
)
def test_wrong_types_in_a_chat_are_bad_requests(path: list[str], value: Any) -> None:
    data = copy.deepcopy(BODY)
    target: Any = data["Payload"]["Content"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(BadRequest):
        parse(data)


@pytest.mark.parametrize(
    "params",
    [
        {"token": "x"},
        {"event": "chat", "contact[number]": "5511900000001"},
        {"event": "chat", "chat[uid]": "ABC"},
        {"event": "chat", "chat[uid]": "ABC", "contact[number]": "1", "chat[dir]": "sideways"},
        {"event": "ack"},
    ],
)
def test_malformed_legacy_forms_are_bad_requests(params: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        adapter.parse(request(urlencode(params).encode(), content_type=FORM), {})


def test_a_non_utf8_legacy_form_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        adapter.parse(request(b"event=chat&chat[body]=%FF", content_type=FORM), {})


def test_an_unsupported_content_type_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="application/json"):
        parse(BODY, content_type="text/plain")


# --- registry ---------------------------------------------------------------------------


def test_the_registry_knows_every_platform_and_refuses_unknown_kinds() -> None:
    assert set(ADAPTERS) == {"chatwoot", "twilio", "umbler", "web"}
    assert isinstance(get_adapter("umbler"), UmblerAdapter)
    for kind, registered in ADAPTERS.items():
        assert registered.kind == kind
    with pytest.raises(KeyError):
        get_adapter("telegram")
