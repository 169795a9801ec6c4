"""The Umbler Talk client against a fake Umbler on loopback."""

from __future__ import annotations

import pytest

from integrations.clients import OutboundMessage, PermanentSendError, TransientSendError
from integrations.umbler.client import DEFAULT_BASE_URL, UmblerClient
from tests.fakes.platforms import FakeUmbler

TOKEN = "umbler-api-token"


@pytest.fixture
def fake():
    with FakeUmbler(api_token=TOKEN) as server:
        yield server


def client(fake: FakeUmbler, token: str = TOKEN) -> UmblerClient:
    settings = {
        "base_url": fake.base_url,
        "organization_id": "org-1",
        "phone_number": "+5511955550000",
    }
    return UmblerClient(settings=settings, secrets={"api_token": token})


def message() -> OutboundMessage:
    return OutboundMessage(
        client_id="c1", content="Bom dia!", contact_phone="+5511987654321", contact_name="Maria"
    )


def test_a_reply_is_posted_to_the_simplified_endpoint_with_a_bearer_token(fake) -> None:
    result = client(fake).send(message())
    assert result.external_id
    [request] = fake.requests
    assert request.path == "/api/v1/messages/simplified/"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.json == {
        "toPhone": "+5511987654321",
        "fromPhone": "+5511955550000",
        "organizationId": "org-1",
        "message": "Bom dia!",
        "contactName": "Maria",
    }


def test_the_default_base_url_is_umblers_api() -> None:
    assert UmblerClient(settings={}, secrets={}).base_url == DEFAULT_BASE_URL


def test_a_5xx_is_transient_and_a_4xx_permanent(fake) -> None:
    fake.fail_next(502)
    with pytest.raises(TransientSendError):
        client(fake).send(message())
    fake.fail_next(400, body={"message": "Invalid phone"})
    with pytest.raises(PermanentSendError) as caught:
        client(fake).send(message())
    assert caught.value.reason == "Invalid phone"


def test_a_wrong_token_is_permanent(fake) -> None:
    with pytest.raises(PermanentSendError) as caught:
        client(fake, token="nope").send(message())
    assert caught.value.status == 401
