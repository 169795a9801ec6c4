"""The official twilio library, pointed at a fake Twilio on loopback."""

from __future__ import annotations

import base64

import pytest

from integrations.clients import OutboundMessage, PermanentSendError, TransientSendError
from integrations.twilio.client import TwilioClient
from tests.fakes.platforms import FakeTwilio

SID = "AC" + "0" * 32
TOKEN = "twilio-auth-token"
CALLBACK = "https://atende.example/webhooks/twilio/abc/"


@pytest.fixture
def fake():
    with FakeTwilio(auth_token=TOKEN) as server:
        yield server


def client(fake: FakeTwilio, token: str = TOKEN, **extra: str) -> TwilioClient:
    settings = {
        "base_url": fake.base_url,
        "account_sid": SID,
        "phone_number": "+14155238886",
        **extra,
    }
    return TwilioClient(settings=settings, secrets={"auth_token": token})


def message(**extra) -> OutboundMessage:
    return OutboundMessage(
        client_id="c1",
        content="Seu pedido saiu para entrega",
        contact_phone="+5511987654321",
        status_callback=CALLBACK,
        **extra,
    )


def test_a_whatsapp_message_is_created_with_the_status_callback(fake) -> None:
    result = client(fake).send(message())
    assert result.external_id.startswith("SM") and len(result.external_id) == 34
    [request] = fake.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    expected_auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected_auth}"
    form = {k: v[0] for k, v in request.form.items()}
    assert form["From"] == "whatsapp:+14155238886"
    assert form["To"] == "whatsapp:+5511987654321"
    assert form["Body"] == "Seu pedido saiu para entrega"
    assert form["StatusCallback"] == CALLBACK


def test_media_attachments_are_sent_as_media_urls(fake) -> None:
    client(fake).send(message(attachments=({"url": "https://files.test/a.jpg"},)))
    assert fake.requests[0].form["MediaUrl"] == ["https://files.test/a.jpg"]


def test_a_messaging_service_can_send_instead_of_a_number(fake) -> None:
    client(fake, phone_number="", messaging_service_sid="MG123").send(message())
    form = fake.requests[0].form
    assert form["MessagingServiceSid"] == ["MG123"]
    assert "From" not in form


@pytest.mark.parametrize("status", [500, 503, 429])
def test_twilio_server_errors_and_rate_limits_are_transient(fake, status: int) -> None:
    fake.fail_next(status)
    with pytest.raises(TransientSendError) as caught:
        client(fake).send(message())
    assert caught.value.status == status


def test_an_invalid_number_is_permanent_with_twilios_code_and_message(fake) -> None:
    fake.fail_next(400, body={"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
    with pytest.raises(PermanentSendError) as caught:
        client(fake).send(message())
    assert caught.value.code == "21211"
    assert "Invalid 'To' Phone Number" in caught.value.reason


def test_a_wrong_auth_token_is_permanent(fake) -> None:
    with pytest.raises(PermanentSendError) as caught:
        client(fake, token="wrong").send(message())
    assert caught.value.status == 401
    assert caught.value.code == "20003"


def test_a_timeout_is_transient(fake, settings) -> None:
    settings.OUTBOUND_HTTP_TIMEOUT = 0.2
    fake.delay_next(1.0)
    with pytest.raises(TransientSendError):
        client(fake).send(message())


def test_a_contact_without_a_phone_cannot_be_messaged(fake) -> None:
    with pytest.raises(PermanentSendError) as caught:
        client(fake).send(OutboundMessage(client_id="c", content="x"))
    assert caught.value.code == "no_phone"
    assert fake.requests == []
