"""The ingest pipeline through the webhook endpoint: duplicates, ordering, identity, tickets."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from conversations import hooks
from conversations.models import Contact, Conversation, Message, ParkedMessageEvent
from conversations.services.ingest import message_apply_parked
from integrations.models import Integration, WebhookDelivery, WebhookEvent, WebhookStatus
from tests.webhook_support import (
    chatwoot_message,
    make_integration,
    post_chatwoot,
    post_twilio,
    post_umbler_form,
)
from tickets.models import Queue, Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def chatwoot(company: Any) -> Integration:
    return make_integration(company, "chatwoot")


@pytest.fixture
def twilio(company: Any, settings: Any) -> Integration:
    settings.PUBLIC_BASE_URL = "https://helpdesk.example.com"
    return make_integration(company, "twilio")


def twilio_inbound(sid: str, phone: str, body: str = "oi", name: str = "Zé") -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC1",
        "From": f"whatsapp:{phone}",
        "To": "whatsapp:+14155238886",
        "Body": body,
        "NumMedia": "0",
        "ProfileName": name,
        "WaId": phone.lstrip("+"),
        "MessageType": "text",
    }


def conversation_event(
    conversation_id: int, event: str = "conversation_status_changed", **extra: Any
) -> dict[str, Any]:
    meta = extra.pop("meta", {})
    return {"event": event, "id": conversation_id, "meta": meta, **extra}


# --- duplicates ---------------------------------------------------------------------


def test_the_same_delivery_twice_stores_one_message_and_answers_duplicate(
    client: Client, chatwoot: Integration
) -> None:
    payload = chatwoot_message(message_id=100)

    first = post_chatwoot(client, chatwoot, payload, delivery="delivery-1")
    second = post_chatwoot(client, chatwoot, payload, delivery="delivery-1")

    assert first.json()["status"] == "processed"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert Message.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1
    assert Ticket.objects.get().unread_count == 1


def test_the_same_message_id_in_another_delivery_is_a_no_op(
    client: Client, chatwoot: Integration
) -> None:
    payload = chatwoot_message(message_id=100)

    post_chatwoot(client, chatwoot, payload, delivery="delivery-1")
    second = post_chatwoot(client, chatwoot, payload, delivery="delivery-2")
    third = post_chatwoot(client, chatwoot, payload)  # no delivery id at all

    assert second.json()["status"] == "duplicate"
    assert third.json()["status"] == "duplicate"
    assert Message.objects.count() == 1
    assert Ticket.objects.get().unread_count == 1


def test_a_delivery_that_failed_is_processed_when_the_platform_retries_it(
    client: Client, chatwoot: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(message: Message, context: hooks.MessageContext) -> None:
        raise RuntimeError("metrics are down")

    monkeypatch.setattr(hooks, "_message_stored_hooks", [explode])
    payload = chatwoot_message(message_id=100)
    failed = post_chatwoot(client, chatwoot, payload, delivery="retry-me")
    monkeypatch.setattr(hooks, "_message_stored_hooks", [])

    retried = post_chatwoot(client, chatwoot, payload, delivery="retry-me")

    assert failed.status_code == 202 and failed.json()["status"] == "failed"
    assert retried.json()["status"] == "processed"
    assert Message.objects.count() == 1


# --- crash and replay -----------------------------------------------------------------


def test_a_crash_inside_ingest_leaves_nothing_half_written_and_the_event_replays(
    client: Client, chatwoot: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(message: Message, context: hooks.MessageContext) -> None:
        raise RuntimeError("boom in a hook")

    monkeypatch.setattr(hooks, "_message_stored_hooks", [explode])
    response = post_chatwoot(client, chatwoot, chatwoot_message(message_id=7), delivery="d7")

    assert response.status_code == 202
    event = WebhookEvent.objects.get()
    assert event.status == WebhookStatus.FAILED and "boom in a hook" in event.error
    for model in (Contact, Conversation, Message, Ticket, TicketEvent, WebhookDelivery):
        assert not model.objects.exists(), model
    assert chatwoot.logs.filter(level="error").exists()

    monkeypatch.setattr(hooks, "_message_stored_hooks", [])
    call_command("replay_webhooks", "--company", chatwoot.company.slug)

    event.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED and event.attempts == 2 and not event.error
    assert Message.objects.get().external_id == "7"
    assert Ticket.objects.count() == 1

    # Replaying again (by id, whatever its status) changes nothing.
    call_command("replay_webhooks", "--id", str(event.pk))
    event.refresh_from_db()
    assert event.attempts == 2 and Message.objects.count() == 1


def test_replay_of_a_failed_event_that_got_through_meanwhile_is_a_duplicate(
    client: Client, chatwoot: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hooks, "_message_stored_hooks", [lambda m, c: 1 / 0])
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=8), delivery="d8")
    monkeypatch.setattr(hooks, "_message_stored_hooks", [])
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=8), delivery="d8")

    call_command("replay_webhooks", "--status", "failed", "--since", "2020-01-01")

    statuses = sorted(WebhookEvent.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "processed"]
    assert Message.objects.count() == 1


# --- out of order -------------------------------------------------------------------


def test_a_status_before_its_message_is_parked_and_applied_when_the_message_gets_its_id(
    client: Client, twilio: Integration, company: Any
) -> None:
    status = {
        "MessageSid": "SM-early",
        "MessageStatus": "delivered",
        "From": "whatsapp:+14155238886",
        "To": "whatsapp:+5511900000001",
        "AccountSid": "AC1",
    }
    assert post_twilio(client, twilio, status).status_code == 200
    assert ParkedMessageEvent.objects.count() == 1
    contact = Contact.objects.create(company=company, phone="+5511900000001")
    conversation = Conversation.objects.create(
        company=company, integration=twilio, contact=contact, external_id="x"
    )
    ours = Message.objects.create(
        company=company,
        conversation=conversation,
        direction="out",
        sender_type="agent",
        delivery_status="pending",
    )

    # What the outbound send task does once Twilio returned the SID.
    ours.external_id = "SM-early"
    ours.save()
    message_apply_parked(ours)

    ours.refresh_from_db()
    assert ours.delivery_status == "delivered" and ours.sent_at is not None
    assert not ParkedMessageEvent.objects.exists()


def test_statuses_only_move_forward(client: Client, twilio: Integration, company: Any) -> None:
    contact = Contact.objects.create(company=company, phone="+5511900000001")
    conversation = Conversation.objects.create(
        company=company, integration=twilio, contact=contact, external_id="x"
    )
    ours = Message.objects.create(
        company=company,
        conversation=conversation,
        direction="out",
        sender_type="agent",
        delivery_status="sent",
        external_id="SM-1",
    )
    base = {"MessageSid": "SM-1", "From": "whatsapp:+14155238886", "To": "whatsapp:+5511900000001"}

    for status in ("read", "delivered", "sent", "failed"):
        post_twilio(client, twilio, {**base, "MessageStatus": status, "ErrorCode": "30008"})

    ours.refresh_from_db()
    assert ours.delivery_status == "read" and ours.error_code == ""


def test_a_legacy_umbler_ack_before_its_message_converges(client: Client, company: Any) -> None:
    integration = make_integration(company, "umbler", secrets={})
    ack = {"event": "ack", "contact[number]": "5511900000001", "chat[uid]": "U1", "chat[ack]": "3"}
    chat = {
        "event": "chat",
        "contact[number]": "5511900000001",
        "contact[name]": "Maria",
        "chat[uid]": "U1",
        "chat[dir]": "o",
        "chat[type]": "chat",
        "chat[body]": "Olá!",
    }

    post_umbler_form(client, integration, ack)
    post_umbler_form(client, integration, chat)

    message = Message.objects.get()
    assert message.direction == "out" and message.delivery_status == "read"
    assert not ParkedMessageEvent.objects.exists()


def test_an_edit_and_a_deletion_before_the_create_converge(
    client: Client, chatwoot: Integration
) -> None:
    edit = {
        "event": "message_updated",
        "id": 300,
        "content": "texto corrigido",
        "conversation": {"id": 501},
        "content_attributes": {},
        "updated_at": "2026-11-23T12:01:00Z",
    }
    delete = {
        "event": "message_updated",
        "id": 301,
        "content": "This message was deleted",
        "conversation": {"id": 501},
        "content_attributes": {"deleted": True},
    }
    post_chatwoot(client, chatwoot, edit)
    post_chatwoot(client, chatwoot, delete)

    post_chatwoot(client, chatwoot, chatwoot_message(message_id=300, content="texto errado"))
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=301, content="apagar isto"))

    edited = Message.objects.get(external_id="300")
    deleted = Message.objects.get(external_id="301")
    assert edited.content == "texto corrigido" and edited.edited_at is not None
    assert deleted.deleted and deleted.content == "apagar isto"
    assert not ParkedMessageEvent.objects.exists()


def test_an_edit_after_the_create_updates_the_message(
    client: Client, chatwoot: Integration
) -> None:
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=300, content="antes"))
    post_chatwoot(
        client,
        chatwoot,
        {"event": "message_updated", "id": 300, "content": "depois", "conversation": {"id": 501}},
    )

    message = Message.objects.get()
    assert message.content == "depois" and message.edited_at is not None


# --- identity -----------------------------------------------------------------------


def test_a_brazilian_mobile_with_and_without_the_ninth_digit_is_one_contact(
    client: Client, company: Any, chatwoot: Integration, twilio: Integration
) -> None:
    post_twilio(client, twilio, twilio_inbound("SM-a", "+558199998888"))
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1, phone="+5581999998888"))
    post_twilio(client, twilio, twilio_inbound("SM-b", "+5581999998888"))

    contact = Contact.objects.get()
    assert contact.phone_key == "+5581999998888"
    assert Message.objects.filter(conversation__contact=contact).count() == 3
    # Twilio keys its conversation by phone_key too: one conversation per line there.
    assert Conversation.objects.filter(integration=twilio).count() == 1


def test_contacts_get_better_data_from_later_messages_but_keep_what_they_had(
    client: Client, chatwoot: Integration
) -> None:
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1, name=""))
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=2, name="Ana Paula"))
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=3, name="Outro Nome"))

    assert Contact.objects.get().name == "Ana Paula"


def test_group_messages_share_the_group_conversation_with_participant_names(
    client: Client, chatwoot: Integration
) -> None:
    for index, who in enumerate(["Maria", "João"]):
        post_chatwoot(
            client,
            chatwoot,
            chatwoot_message(
                message_id=10 + index,
                conversation_id=900,
                contact_id=90,
                name="Família (GROUP)",
                phone="",
                identifier="120363@g.us",
                content=f"**+5511900000{index}01 - {who}:**\n\nmensagem {index}",
            ),
        )

    conversation = Conversation.objects.get()
    assert conversation.is_group and conversation.group_name == "Família"
    assert list(conversation.messages.order_by("id").values_list("sender_name", "content")) == [
        ("Maria", "mensagem 0"),
        ("João", "mensagem 1"),
    ]
    assert Contact.objects.get().is_group


# --- echoes and replies -------------------------------------------------------------


def test_the_chatwoot_echo_of_our_own_message_is_recognised_not_stored_twice(
    client: Client, chatwoot: Integration
) -> None:
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1))
    ticket = Ticket.objects.get()
    ours = Message.objects.create(
        company=ticket.company,
        conversation=ticket.conversation,
        ticket=ticket,
        direction="out",
        sender_type="agent",
        content="Já verifico",
        delivery_status="pending",
    )
    echo = chatwoot_message(
        message_id=2,
        message_type="outgoing",
        content="Já verifico",
        sender={"id": 3, "name": "Agente", "type": "user"},
        content_attributes={"atende_message_id": str(ours.client_id)},
    )

    response = post_chatwoot(client, chatwoot, echo)

    assert response.json()["status"] == "processed"
    assert Message.objects.count() == 2
    ours.refresh_from_db()
    assert ours.external_id == "2" and ours.delivery_status == "sent"


def test_an_echo_with_an_unknown_key_is_stored_as_a_platform_reply(
    client: Client, chatwoot: Integration
) -> None:
    echo = chatwoot_message(
        message_id=2,
        message_type="outgoing",
        sender={"id": 3, "name": "Ag", "type": "user"},
        content_attributes={"atende_message_id": str(uuid.uuid4())},
    )

    post_chatwoot(client, chatwoot, echo)

    assert Message.objects.get().sender_type == "agent"


def test_an_agent_reply_on_the_platform_ends_the_wait_but_a_private_note_does_not(
    client: Client, chatwoot: Integration
) -> None:
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1))
    agent = {"id": 3, "name": "Agente", "type": "user"}
    post_chatwoot(
        client,
        chatwoot,
        chatwoot_message(message_id=2, message_type="outgoing", private=True, sender=agent),
    )
    ticket = Ticket.objects.get()
    assert ticket.waiting_since is not None

    post_chatwoot(
        client, chatwoot, chatwoot_message(message_id=3, message_type="outgoing", sender=agent)
    )

    ticket.refresh_from_db()
    assert ticket.waiting_since is None
    note = Message.objects.get(external_id="2")
    assert note.is_private and note.ticket == ticket
    assert Ticket.objects.count() == 1


def test_hooks_receive_each_new_message_once_with_the_ticket_context(
    client: Client, chatwoot: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, bool, str]] = []
    monkeypatch.setattr(
        hooks,
        "_message_stored_hooks",
        [lambda m, c: seen.append((m.pk, c.ticket_created, c.source))],
    )

    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1))
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1))
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=2))

    ids = list(Message.objects.order_by("id").values_list("pk", flat=True))
    assert seen == [(ids[0], True, "ingest"), (ids[1], False, "ingest")]


# --- tickets ------------------------------------------------------------------------


def test_a_customer_writing_within_the_window_reopens_and_later_opens_a_new_ticket(
    client: Client, chatwoot: Integration, company: Any
) -> None:
    queue = Queue.objects.create(company=company, name="Suporte", is_default=True)
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1))
    ticket = Ticket.objects.get()
    assert ticket.queue == queue
    Ticket.objects.filter(pk=ticket.pk).update(status="resolved", resolved_at=timezone.now())

    post_chatwoot(client, chatwoot, chatwoot_message(message_id=2))
    ticket.refresh_from_db()
    assert ticket.status == "pending" and ticket.reopen_count == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind="reopened").exists()

    company.reopen_window_hours = 1
    company.save()
    Ticket.objects.filter(pk=ticket.pk).update(
        status="resolved", resolved_at=timezone.now() - timedelta(hours=2)
    )
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=3))

    newest = Ticket.objects.order_by("-number").first()
    assert newest is not None and newest.pk != ticket.pk and newest.number == 2
    assert Message.objects.get(external_id="3").ticket == newest


def test_ticket_numbers_are_per_company(client: Client, company: Any, other_company: Any) -> None:
    ours = make_integration(company, "chatwoot")
    theirs = make_integration(other_company, "chatwoot")
    for n in range(3):
        post_chatwoot(client, ours, chatwoot_message(message_id=n, conversation_id=n))
    post_chatwoot(client, theirs, chatwoot_message(message_id=1, conversation_id=1))

    assert sorted(Ticket.objects.for_company(company).values_list("number", flat=True)) == [1, 2, 3]
    assert list(Ticket.objects.for_company(other_company).values_list("number", flat=True)) == [1]


def test_chatwoot_status_changes_resolve_and_reopen_the_ticket(
    client: Client, chatwoot: Integration
) -> None:
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1, conversation_id=501))

    post_chatwoot(client, chatwoot, conversation_event(501, status="resolved"))
    ticket = Ticket.objects.get()
    assert ticket.status == "resolved" and ticket.resolved_at is not None
    post_chatwoot(client, chatwoot, conversation_event(501, status="resolved"))  # repeated
    post_chatwoot(client, chatwoot, conversation_event(501, status="open"))

    ticket.refresh_from_db()
    assert ticket.status == "pending" and ticket.reopen_count == 1
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["created", "resolved", "reopened"]


def test_chatwoot_assignee_and_team_changes_are_recorded_and_the_team_moves_the_queue(
    client: Client, chatwoot: Integration, company: Any
) -> None:
    sales = Queue.objects.create(
        company=company, name="Vendas", external_refs={str(chatwoot.pk): "12"}
    )
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1, conversation_id=501))

    post_chatwoot(
        client,
        chatwoot,
        conversation_event(
            501,
            event="conversation_updated",
            status="open",
            meta={"assignee": {"id": 4, "name": "Douglas"}, "team": {"id": 12, "name": "Sales"}},
        ),
    )

    ticket = Ticket.objects.get()
    assert ticket.queue == sales
    assigned = TicketEvent.objects.get(ticket=ticket, kind="assigned")
    assert assigned.actor_label == "Chatwoot: Douglas"
    transferred = TicketEvent.objects.get(ticket=ticket, kind="transferred")
    assert transferred.data["to_queue"] == sales.pk

    post_chatwoot(
        client,
        chatwoot,
        conversation_event(501, event="conversation_updated", meta={"assignee": None}),
    )
    assert TicketEvent.objects.filter(ticket=ticket, kind="unassigned").count() == 1


def test_a_status_change_for_an_unknown_conversation_without_contact_is_ignored(
    client: Client, chatwoot: Integration
) -> None:
    response = post_chatwoot(client, chatwoot, conversation_event(999, status="resolved"))

    assert response.json()["status"] == "ignored"
    assert not Conversation.objects.exists()
