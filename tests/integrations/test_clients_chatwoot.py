"""The real Chatwoot client against a fake Chatwoot on loopback."""

from __future__ import annotations

import pytest

from integrations.chatwoot.client import ChatwootClient
from integrations.clients import OutboundMessage, PermanentSendError, TransientSendError
from tests.fakes.platforms import FakeChatwoot

TOKEN = "cw-agent-token"


@pytest.fixture
def fake():
    with FakeChatwoot(api_token=TOKEN) as server:
        yield server


def client(fake: FakeChatwoot, **overrides: str) -> ChatwootClient:
    settings = {"base_url": fake.base_url, "account_id": "7", **overrides}
    return ChatwootClient(settings=settings, secrets={"api_token": TOKEN})


def message(**extra) -> OutboundMessage:
    return OutboundMessage(
        client_id="6f1c2b55-0000-4000-8000-000000000001",
        content="Olá!",
        conversation_external_id="10",
        **extra,
    )


def test_a_reply_is_posted_to_the_conversation_with_the_token_and_the_echo_marker(fake) -> None:
    result = client(fake).send(message())
    assert result.external_id == "227"
    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == "/api/v1/accounts/7/conversations/10/messages"
    assert request.headers["api_access_token"] == TOKEN
    assert request.json == {
        "content": "Olá!",
        "message_type": "outgoing",
        "private": False,
        "content_attributes": {"atende_message_id": "6f1c2b55-0000-4000-8000-000000000001"},
    }


def test_each_send_gets_the_new_platform_id(fake) -> None:
    ids = [client(fake).send(message()).external_id for _ in range(2)]
    assert ids == ["227", "228"]


def test_attachments_travel_as_links_in_the_text(fake) -> None:
    client(fake).send(message(attachments=({"url": "https://files.test/a.pdf"},)))
    assert fake.requests[0].json["content"] == "Olá!\nhttps://files.test/a.pdf"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_transient(fake, status: int) -> None:
    fake.fail_next(status)
    with pytest.raises(TransientSendError) as caught:
        client(fake).send(message())
    assert caught.value.status == status
    assert caught.value.code == str(status)


def test_a_bad_token_is_permanent_with_chatwoots_reason(fake) -> None:
    bad = ChatwootClient(
        settings={"base_url": fake.base_url, "account_id": "7"}, secrets={"api_token": "nope"}
    )
    with pytest.raises(PermanentSendError) as caught:
        bad.send(message())
    assert caught.value.status == 401
    assert "sign in" in caught.value.reason


def test_a_422_carries_the_platforms_message(fake) -> None:
    fake.fail_next(422, body={"message": "Conversation is locked"})
    with pytest.raises(PermanentSendError) as caught:
        client(fake).send(message())
    assert caught.value.reason == "Conversation is locked"


def test_a_timeout_is_transient(fake, settings) -> None:
    settings.OUTBOUND_HTTP_TIMEOUT = 0.2
    fake.delay_next(1.0)
    with pytest.raises(TransientSendError) as caught:
        client(fake).send(message())
    assert caught.value.code == "timeout"


def test_a_refused_connection_is_transient() -> None:
    with FakeChatwoot() as gone:
        url = gone.base_url
    closed = ChatwootClient(
        settings={"base_url": url, "account_id": "7"}, secrets={"api_token": "t"}
    )
    with pytest.raises(TransientSendError) as caught:
        closed.send(message())
    assert caught.value.code == "connection"


def test_missing_configuration_is_permanent_and_names_what_is_missing() -> None:
    with pytest.raises(PermanentSendError) as caught:
        ChatwootClient(settings={}, secrets={}).send(message())
    assert caught.value.code == "not_configured"
    assert "base_url" in caught.value.reason and "api_token" in caught.value.reason
