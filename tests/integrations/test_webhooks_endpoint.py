"""POST /webhooks/<kind>/<public id>/ end to end: every recorded payload, signatures, errors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.test import Client
from django.utils import timezone

from conversations.models import Contact, Conversation, Message
from integrations.models import Integration, LogEntry, WebhookEvent, WebhookStatus
from tests.webhook_support import (
    CHATWOOT_SECRET,
    PUBLIC_BASE,
    chatwoot_message,
    fixture_path,
    load_fixture,
    make_integration,
    post_chatwoot,
    post_twilio,
    post_umbler,
    post_umbler_form,
)
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CHATWOOT_WEBHOOK_FIXTURES = [
    "chatwoot/woofed_message_created_incoming_webwidget.json",
    "chatwoot/woofed_message_created_outgoing_user.json",
    "chatwoot/woofed_message_created_with_one_attachment.json",
    "chatwoot/woofed_message_created_with_three_attachments.json",
    "chatwoot/reconstructed_message_created_evolution_whatsapp_group.json",
    "chatwoot/woofed_conversation_updated.json",
    "chatwoot/woofed_contact_created.json",
    "chatwoot/nextcrm_contact_updated_whatsapp_evolution.json",
]


@pytest.fixture
def public_base(settings: Any) -> str:
    settings.PUBLIC_BASE_URL = PUBLIC_BASE
    return PUBLIC_BASE


@pytest.fixture
def chatwoot(company: Any) -> Integration:
    return make_integration(company, "chatwoot")


def raw(name: str) -> bytes:
    return fixture_path(name).read_bytes()


@pytest.mark.parametrize("name", CHATWOOT_WEBHOOK_FIXTURES)
def test_every_chatwoot_fixture_is_accepted_with_a_valid_signature(
    client: Client, chatwoot: Integration, name: str
) -> None:
    response = post_chatwoot(client, chatwoot, raw(name), delivery=f"d-{name}")

    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get(pk=response.json()["event"])
    assert event.status in {WebhookStatus.PROCESSED, WebhookStatus.IGNORED}
    assert event.verified and event.delivery_id == f"d-{name}"
    assert bytes(event.body) == raw(name)
    assert event.headers["x-chatwoot-signature"].startswith("sha256=")
    assert event.processing_ms is not None and event.processing_ms >= 0


def test_chatwoot_incoming_message_creates_contact_conversation_ticket_and_message(
    client: Client, chatwoot: Integration, company: Any
) -> None:
    body = raw("chatwoot/woofed_message_created_incoming_webwidget.json")
    data = json.loads(body)

    response = post_chatwoot(client, chatwoot, body)

    assert response.json()["status"] == "processed"
    message = Message.objects.get()
    assert message.company == company
    assert message.external_id == str(data["id"])
    assert message.content == data["content"]
    assert message.direction == "in" and message.sender_type == "contact"
    conversation = message.conversation
    assert conversation.external_id == str(data["conversation"]["id"])
    assert conversation.last_inbound_at is not None
    ticket = Ticket.objects.get()
    assert message.ticket == ticket and ticket.number == 1 and ticket.status == "pending"
    assert ticket.unread_count == 1 and ticket.waiting_since == message.created_at
    assert TicketEvent.objects.filter(ticket=ticket, kind="created").count() == 1
    chatwoot.refresh_from_db()
    assert chatwoot.last_event_at is not None


def test_chatwoot_attachments_are_stored_as_urls_with_metadata(
    client: Client, chatwoot: Integration
) -> None:
    post_chatwoot(
        client, chatwoot, raw("chatwoot/woofed_message_created_with_three_attachments.json")
    )

    message = Message.objects.get()
    assert len(message.attachments) == 3
    assert all(item["url"].startswith("http") for item in message.attachments)
    assert {"kind", "mime_type", "filename", "extra"} <= set(message.attachments[0])


def test_chatwoot_outgoing_agent_message_attaches_without_opening_a_ticket(
    client: Client, chatwoot: Integration
) -> None:
    post_chatwoot(client, chatwoot, raw("chatwoot/woofed_message_created_outgoing_user.json"))

    message = Message.objects.get()
    assert message.direction == "out" and message.sender_type == "agent"
    assert message.ticket is None
    assert not Ticket.objects.exists()


def test_chatwoot_group_message_becomes_a_group_conversation_with_the_participant_as_sender(
    client: Client, chatwoot: Integration
) -> None:
    post_chatwoot(
        client,
        chatwoot,
        raw("chatwoot/reconstructed_message_created_evolution_whatsapp_group.json"),
    )

    message = Message.objects.select_related("conversation__contact").get()
    assert message.conversation.is_group and message.conversation.contact.is_group
    assert message.conversation.group_name
    assert message.sender_name == "Maria"
    assert not message.content.startswith("**")
    assert message.conversation.contact.phone == ""


def test_chatwoot_contact_events_create_and_update_the_contact(
    client: Client, chatwoot: Integration
) -> None:
    post_chatwoot(client, chatwoot, raw("chatwoot/nextcrm_contact_updated_whatsapp_evolution.json"))
    data = load_fixture("chatwoot/nextcrm_contact_updated_whatsapp_evolution.json")

    contact = Contact.objects.get()
    assert contact.name == data["name"]
    assert contact.phone.startswith("+55")
    renamed = {**data, "name": "Nome Novo"}
    post_chatwoot(client, chatwoot, renamed)
    contact.refresh_from_db()
    assert contact.name == "Nome Novo"
    assert Contact.objects.count() == 1


def test_the_computed_chatwoot_vector_verifies_and_the_body_only_signature_is_refused(
    client: Client, company: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    vector = load_fixture("chatwoot/computed_signature_vector.json")
    integration = make_integration(
        company, "chatwoot", secrets={"webhook_secret": vector["secret"]}
    )
    when = timezone.datetime.fromtimestamp(
        int(vector["headers"]["X-Chatwoot-Timestamp"]) + 10, tz=timezone.UTC
    )
    monkeypatch.setattr("integrations.services.webhooks.timezone.now", lambda: when)
    headers = {
        f"HTTP_{key.upper().replace('-', '_')}": value
        for key, value in vector["headers"].items()
        if key.lower().startswith("x-")
    }
    body = vector["raw_body_utf8"].encode()

    good = client.generic(
        "POST", integration.webhook_path(), body, content_type="application/json", **headers
    )
    headers["HTTP_X_CHATWOOT_SIGNATURE"] = vector["signature_over_body_only_which_must_NOT_match"]
    bad = client.generic(
        "POST", integration.webhook_path(), body, content_type="application/json", **headers
    )

    # The vector's body is a bare message without its conversation: verified, then a 400.
    assert good.status_code == 400 and "conversation" in good.json()["error"]
    assert WebhookEvent.objects.get(pk=good.json()["event"]).verified
    assert bad.status_code == 401
    assert WebhookEvent.objects.get(pk=bad.json()["event"]).status == WebhookStatus.REJECTED


@pytest.mark.parametrize(
    "name",
    [
        "twilio/reconstructed_whatsapp_inbound_text.json",
        "twilio/reconstructed_whatsapp_inbound_image.json",
        "twilio/reconstructed_whatsapp_inbound_button_reply.json",
    ],
)
def test_every_twilio_inbound_fixture_is_ingested_with_its_recorded_signature(
    client: Client, company: Any, public_base: str, name: str
) -> None:
    fixture = load_fixture(name)
    integration = make_integration(company, "twilio", public_id="whatsapp")
    assert f"{public_base}{integration.webhook_path()}" == fixture["url"]

    response = client.generic(
        "POST",
        integration.webhook_path(),
        fixture["raw_body"],
        content_type=fixture["headers"]["Content-Type"],
        HTTP_X_TWILIO_SIGNATURE=fixture["headers"]["X-Twilio-Signature"],
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response/>" in response.content
    message = Message.objects.select_related("conversation__contact").get()
    assert message.external_id == fixture["params"]["MessageSid"]
    assert message.conversation.contact.phone == "+5511900000001"
    assert message.ticket is not None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("twilio/reconstructed_whatsapp_status_read.json", "read"),
        ("twilio/reconstructed_whatsapp_status_failed.json", "failed"),
    ],
)
def test_every_twilio_status_fixture_moves_our_message_status(
    client: Client, company: Any, public_base: str, name: str, expected: str
) -> None:
    fixture = load_fixture(name)
    integration = make_integration(company, "twilio", public_id="status")
    contact = Contact.objects.create(company=company, phone="+5511900000001")
    conversation = Conversation.objects.create(
        company=company,
        integration=integration,
        contact=contact,
        external_id="+5511900000001|+14155238886",
    )
    ours = Message.objects.create(
        company=company,
        conversation=conversation,
        direction="out",
        sender_type="agent",
        content="Seu pedido saiu",
        delivery_status="sent",
        external_id=fixture["params"]["MessageSid"],
    )

    response = client.generic(
        "POST",
        integration.webhook_path(),
        fixture["raw_body"],
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=fixture["headers"]["X-Twilio-Signature"],
    )

    assert response.status_code == 200
    ours.refresh_from_db()
    assert ours.delivery_status == expected
    if expected == "failed":
        assert ours.error_code == "63016"


@pytest.mark.parametrize(
    "name",
    [
        "umbler/message_contact_text.json",
        "umbler/message_member_reply.json",
        "umbler/message_private_note.json",
        "umbler/message_group_image.json",
        "umbler/chat_closed_bot_message.json",
        "umbler/unknown_event.json",
    ],
)
def test_every_umbler_json_sample_is_accepted(client: Client, company: Any, name: str) -> None:
    integration = make_integration(company, "umbler")

    response = post_umbler(client, integration, raw(name))

    assert response.status_code == 200, response.content
    assert response.json()["status"] in {"processed", "ignored"}


def test_umbler_contact_message_then_closed_chat_resolves_the_ticket(
    client: Client, company: Any
) -> None:
    integration = make_integration(company, "umbler")
    first = load_fixture("umbler/message_contact_text.json")
    post_umbler(client, integration, first)
    ticket = Ticket.objects.get()
    assert ticket.status == "pending"
    closed = load_fixture("umbler/message_contact_text.json")
    closed["EventId"] = "closing-event"
    closed["Payload"]["Content"]["Open"] = False
    closed["Payload"]["Content"]["LastMessage"]["Id"] = "ZmSg-closing"
    closed["Payload"]["Content"]["LastMessage"]["Source"] = "Bot"

    post_umbler(client, integration, closed)

    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at is not None
    assert TicketEvent.objects.filter(ticket=ticket, kind="resolved").exists()


@pytest.mark.parametrize(
    "name", ["umbler/legacy_form_chat_incoming.json", "umbler/legacy_form_ack.json"]
)
def test_umbler_legacy_form_samples_are_ingested_with_the_body_token(
    client: Client, company: Any, name: str
) -> None:
    params = load_fixture(name)["params"]
    integration = make_integration(company, "umbler", secrets={"url_token": params["token"]})

    response = post_umbler_form(client, integration, params)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "processed"


# --- refusals -----------------------------------------------------------------------


def test_a_bad_chatwoot_signature_is_401_rejected_and_ingests_nothing(
    client: Client, chatwoot: Integration
) -> None:
    response = post_chatwoot(client, chatwoot, chatwoot_message(message_id=1), secret="wrong")

    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert event.status == WebhookStatus.REJECTED and not event.verified
    assert not Message.objects.exists() and not Contact.objects.exists()
    assert LogEntry.objects.filter(level="warning", source="webhook").exists()


def test_a_bad_twilio_signature_is_401_rejected_and_ingests_nothing(
    client: Client, company: Any, public_base: str
) -> None:
    integration = make_integration(company, "twilio")
    params = dict(
        parse_qsl(load_fixture("twilio/reconstructed_whatsapp_inbound_text.json")["raw_body"])
    )

    response = post_twilio(client, integration, params, token="not-the-token")

    assert response.status_code == 401
    assert WebhookEvent.objects.get().status == WebhookStatus.REJECTED
    assert not Message.objects.exists()


def test_a_twilio_signature_for_another_url_is_refused(
    client: Client, company: Any, settings: Any
) -> None:
    # Without PUBLIC_BASE_URL the URL is the request's own (http://testserver/...), so the
    # fixture signed for https://helpdesk.example.com does not verify.
    settings.PUBLIC_BASE_URL = ""
    fixture = load_fixture("twilio/reconstructed_whatsapp_inbound_text.json")
    integration = make_integration(company, "twilio", public_id="whatsapp")

    response = client.generic(
        "POST",
        integration.webhook_path(),
        fixture["raw_body"],
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=fixture["headers"]["X-Twilio-Signature"],
    )

    assert response.status_code == 401
    assert not Message.objects.exists()


def test_a_bad_umbler_token_is_401_rejected_and_the_stored_token_is_masked(
    client: Client, company: Any
) -> None:
    integration = make_integration(company, "umbler")

    response = post_umbler(
        client, integration, raw("umbler/message_contact_text.json"), token="guessed-token-123"
    )

    assert response.status_code == 401
    event = WebhookEvent.objects.get()
    assert event.status == WebhookStatus.REJECTED
    assert event.query["token"] != "guessed-token-123"
    assert "guessed-token-123" not in event.url
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b'{"event": "message_created"}', "text/plain", "application/json"),
        (b'{"event": "message_created", "id": 5}', "application/json", "conversation"),
        (b'{"id": 5}', "application/json", "event"),
    ],
)
def test_malformed_chatwoot_bodies_are_400_failed_and_kept(
    client: Client, chatwoot: Integration, body: bytes, content_type: str, needle: str
) -> None:
    response = post_chatwoot(client, chatwoot, body, content_type=content_type)

    assert response.status_code == 400
    assert needle in response.json()["error"]
    event = WebhookEvent.objects.get()
    assert event.status == WebhookStatus.FAILED and event.http_status == 400
    assert bytes(event.body) == body and needle in event.error


def test_a_twilio_form_without_a_message_sid_is_400(
    client: Client, company: Any, public_base: str
) -> None:
    integration = make_integration(company, "twilio")

    response = post_twilio(client, integration, {"From": "whatsapp:+5511900000001", "Body": "oi"})

    assert response.status_code == 400 and "MessageSid" in response.json()["error"]
    assert WebhookEvent.objects.get().status == WebhookStatus.FAILED


def test_an_oversized_body_is_413_and_kept_truncated(
    client: Client, chatwoot: Integration, settings: Any
) -> None:
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    body = json.dumps(chatwoot_message(message_id=9, content="x" * 500)).encode()

    response = post_chatwoot(client, chatwoot, body)

    assert response.status_code == 413
    event = WebhookEvent.objects.get()
    assert event.body_truncated and len(bytes(event.body)) == 100
    assert event.status == WebhookStatus.FAILED
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/chatwoot/does-not-exist/",
        "/webhooks/twilio/{public_id}/",  # right id, wrong kind
        "/webhooks/web/{public_id}/",
    ],
)
def test_unknown_ids_and_kind_mismatches_are_404_and_store_nothing(
    client: Client, chatwoot: Integration, path: str
) -> None:
    body = json.dumps(chatwoot_message(message_id=3)).encode()

    response = client.generic(
        "POST", path.format(public_id=chatwoot.public_id), body, content_type="application/json"
    )

    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_an_inactive_integration_is_404(client: Client, chatwoot: Integration) -> None:
    chatwoot.is_active = False
    chatwoot.save()

    response = post_chatwoot(client, chatwoot, chatwoot_message(message_id=3))

    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_get_on_a_webhook_url_is_405(client: Client, chatwoot: Integration) -> None:
    assert client.get(chatwoot.webhook_path()).status_code == 405


def test_an_outsider_integration_writes_only_into_its_own_company(
    client: Client, company: Any, other_company: Any, outsider: Any
) -> None:
    ours = make_integration(company, "chatwoot")
    theirs = make_integration(other_company, "chatwoot")
    post_chatwoot(client, ours, chatwoot_message(message_id=1, conversation_id=10, contact_id=5))
    before = list(Message.objects.for_company(company).values_list("pk", "content"))

    # Same platform ids, same phone, posted to the other company's URL.
    response = post_chatwoot(
        client,
        theirs,
        chatwoot_message(message_id=1, conversation_id=10, contact_id=5, content="intruso"),
    )

    assert response.status_code == 200
    assert list(Message.objects.for_company(company).values_list("pk", "content")) == before
    foreign = Message.objects.for_company(other_company).get()
    assert foreign.content == "intruso"
    assert foreign.conversation.company == other_company
    assert foreign.conversation.contact.company == other_company
    assert Contact.objects.for_company(company).count() == 1
    assert Ticket.objects.for_company(company).get().unread_count == 1
    # A secret from one company does not open another company's URL.
    stolen = post_chatwoot(
        client, theirs, chatwoot_message(message_id=2), secret=CHATWOOT_SECRET + "x"
    )
    assert stolen.status_code == 401
