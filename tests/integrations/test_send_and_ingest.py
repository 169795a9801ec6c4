"""Replies out meeting webhooks in: the echo of our own Chatwoot message and a Twilio
status that overtakes the send are folded into the one message we stored."""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.models import Message
from conversations.services.outbound import message_send
from integrations.base import DeliveryStatus
from integrations.chatwoot.client import ChatwootClient
from integrations.tasks import send_message
from integrations.twilio.client import TwilioClient
from tests.fakes.platforms import FakeChatwoot, FakeTwilio
from tests.integrations.outbound_rows import make_conversation, make_ticket
from tests.webhook_support import (
    CHATWOOT_SECRET,
    PUBLIC_BASE,
    TWILIO_TOKEN,
    chatwoot_message,
    make_integration,
    post_chatwoot,
    post_twilio,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch) -> None:
    monkeypatch.setattr(send_message, "delay", lambda *args: None)


def echo_of(message: Message, external_id: int) -> dict:
    return chatwoot_message(
        message_id=external_id,
        conversation_id=int(message.conversation.external_id),
        content=message.content,
        message_type="outgoing",
        sender={"id": 1, "name": "Atende", "type": "user"},
        content_attributes={"atende_message_id": str(message.client_id)},
    )


@pytest.fixture
def chatwoot(company):
    with FakeChatwoot() as fake:
        integration = make_integration(
            company,
            "chatwoot",
            settings={"base_url": fake.base_url, "account_id": "1"},
            secrets={"webhook_secret": CHATWOOT_SECRET, "api_token": "t"},
        )
        ticket = make_ticket(make_conversation(integration, external_id="501"))
        yield fake, ticket


def test_the_chatwoot_echo_after_the_send_updates_our_message_instead_of_adding_one(
    chatwoot, agent
) -> None:
    fake, ticket = chatwoot
    message = message_send(ticket=ticket, content="Olá!", actor=agent)
    assert send_message(message.company_id, message.pk) == "sent"
    integration = ticket.conversation.integration
    response = post_chatwoot(Client(), integration, echo_of(message, 227), delivery="d-echo-1")
    assert response.status_code == 200
    assert Message.objects.count() == 1
    assert len(fake.requests) == 1
    message.refresh_from_db()
    assert (message.external_id, message.delivery_status) == ("227", DeliveryStatus.SENT)


def test_an_echo_that_overtakes_the_send_call_still_leaves_one_message(
    chatwoot, agent, monkeypatch
) -> None:
    fake, ticket = chatwoot
    message = message_send(ticket=ticket, content="Olá!", actor=agent)
    original = ChatwootClient.send

    def send_then_echo(self, outbound):
        result = original(self, outbound)
        post_chatwoot(
            Client(),
            ticket.conversation.integration,
            echo_of(message, int(result.external_id)),
            delivery="d-echo-2",
        )
        return result

    monkeypatch.setattr(ChatwootClient, "send", send_then_echo)
    assert send_message(message.company_id, message.pk) == "sent"
    assert Message.objects.count() == 1
    assert len(fake.requests) == 1
    message.refresh_from_db()
    assert message.external_id == "227" and message.delivery_status == DeliveryStatus.SENT


def test_a_twilio_status_that_arrives_before_the_sid_is_recorded_is_applied_after(
    company, agent, settings, monkeypatch
) -> None:
    settings.PUBLIC_BASE_URL = PUBLIC_BASE
    with FakeTwilio() as fake:
        integration = make_integration(
            company,
            "twilio",
            settings={
                "base_url": fake.base_url,
                "account_sid": "AC" + "2" * 32,
                "phone_number": "+14155238886",
            },
            secrets={"auth_token": TWILIO_TOKEN},
        )
        ticket = make_ticket(make_conversation(integration, phone="+5511987654321"))
        message = message_send(ticket=ticket, content="Pedido enviado", actor=agent)
        original = TwilioClient.send

        def send_then_callback(self, outbound):
            result = original(self, outbound)
            response = post_twilio(
                Client(),
                integration,
                {
                    "MessageSid": result.external_id,
                    "SmsSid": result.external_id,
                    "MessageStatus": "delivered",
                    "SmsStatus": "delivered",
                    "To": "whatsapp:+5511987654321",
                    "From": "whatsapp:+14155238886",
                    "AccountSid": "AC" + "2" * 32,
                    "ApiVersion": "2010-04-01",
                    "ChannelPrefix": "whatsapp",
                },
            )
            assert response.status_code == 200, response.content
            return result

        monkeypatch.setattr(TwilioClient, "send", send_then_callback)
        assert send_message(company.pk, message.pk) == "sent"
    message.refresh_from_db()
    assert message.external_id.startswith("SM")
    assert message.delivery_status == DeliveryStatus.DELIVERED
    assert Message.objects.count() == 1
