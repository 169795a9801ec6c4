"""The requester's live "My tickets" page over the real ASGI stack and Redis: the
requester socket hears only the sanitized, public events of the tickets it may follow
(tickets.services.webform.requester_ticket), and nobody else hears them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from atende.asgi import application
from conversations import realtime
from conversations.models import Message
from conversations.services.outbound import message_send, note_add
from tenants.models import Role
from tests.conftest import jwt_for, make_member
from tests.tickets.live_factories import make_message, make_queue, make_ticket
from tests.webhook_support import CHATWOOT_SECRET, chatwoot_message, post_chatwoot
from tickets.models import Ticket
from tickets.services import actions, webform

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_NOTE = "cliente difícil, cuidado"


@pytest.fixture(autouse=True)
def clean_realtime_keys() -> None:
    client = realtime._redis()
    for key in client.scan_iter(f"{settings.REDIS_PREFIX}:rt:*"):
        client.delete(key)


async def connect_requester(user: Any, slug: str = "loja-azul") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, f"/ws/companies/{slug}/requester/?token={jwt_for(user)}"
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    # The requester socket says nothing about the company: no counts, no sequence.
    assert "counts" not in hello and "seq" not in hello
    return communicator


async def follow(ws: WebsocketCommunicator, number: Any) -> dict[str, Any]:
    await ws.send_json_to({"type": "follow", "ticket": number})
    return await ws.receive_json_from(timeout=5)


@sync_to_async
def arrange(company: Any) -> dict[str, Any]:
    """A plain requester (a member in no queue), the support agent of the default queue,
    a colleague of the requester and a web request."""
    requester = make_member(company, "pedro@azul.test", Role.AGENT)
    colleague = make_member(company, "paula@azul.test", Role.AGENT)
    support_agent = make_member(company, "suporte@azul.test", Role.AGENT)
    support = make_queue(company, "Suporte", support_agent)
    support.is_default = True
    support.save()
    other_queue = make_queue(company, "Vendas", support_agent)
    ticket = webform.web_ticket_open(
        company=company,
        actor=requester,
        request=webform.WebRequest(title="Impressora", description="Não imprime", complexity="low"),
    )
    return {
        "requester": requester,
        "colleague": colleague,
        "support_agent": support_agent,
        "support": support,
        "other_queue": other_queue,
        "ticket": ticket,
    }


@sync_to_async
def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


async def test_the_requester_hears_the_agents_reply_and_status_changes_but_no_private_note(
    company,
) -> None:
    world = await arrange(company)
    ticket, agent = world["ticket"], world["support_agent"]
    ws = await connect_requester(world["requester"])
    assert await follow(ws, ticket.number) == {"type": "following", "ticket": ticket.number}

    await sync_to_async(actions.ticket_accept)(ticket=await fresh(ticket), actor=agent)
    accepted = await ws.receive_json_from(timeout=5)
    assert accepted == {
        "type": "requester.ticket",
        "event": "ticket.assigned",
        "ticket": {
            "number": ticket.number,
            "status": "open",
            "queue_name": "Suporte",
            "assignee_name": "Suporte",
        },
    }

    reply = await sync_to_async(message_send)(
        ticket=await fresh(ticket), content="Vou verificar a impressora", actor=agent
    )
    heard = await ws.receive_json_from(timeout=5)
    assert heard["type"] == "requester.message" and heard["event"] == "message.created"
    # Only the id: the page fetches the text through its own selector.
    assert heard["message"] == {"id": reply.pk}
    assert heard["ticket"]["number"] == ticket.number

    await sync_to_async(note_add)(ticket=await fresh(ticket), content=SECRET_NOTE, actor=agent)
    assert await ws.receive_nothing(timeout=0.5)

    await sync_to_async(actions.ticket_resolve)(
        ticket=await fresh(ticket), actor=agent, note=SECRET_NOTE
    )
    resolved = await ws.receive_json_from(timeout=5)
    assert resolved["type"] == "requester.ticket"
    assert resolved["ticket"]["status"] == "resolved"
    assert SECRET_NOTE not in json.dumps(resolved)
    await ws.disconnect()


async def test_a_transfer_note_and_the_staff_fields_never_reach_the_requester(company) -> None:
    world = await arrange(company)
    ticket, agent = world["ticket"], world["support_agent"]
    ws = await connect_requester(world["requester"])
    await follow(ws, ticket.number)

    await sync_to_async(actions.ticket_transfer)(
        ticket=await fresh(ticket), queue=world["other_queue"], note=SECRET_NOTE, actor=agent
    )
    raw = await ws.receive_from(timeout=5)
    event = json.loads(raw)
    assert event["type"] == "requester.ticket" and event["event"] == "ticket.transferred"
    assert event["ticket"]["queue_name"] == "Vendas"
    assert SECRET_NOTE not in raw
    # None of the staff payload: no counts, seq, contact, phone, preview, audience.
    assert set(event) == {"type", "event", "ticket"}
    assert set(event["ticket"]) == {"number", "status", "queue_name", "assignee_name"}
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_the_requester_hears_their_own_message_sent_from_another_tab(company) -> None:
    world = await arrange(company)
    ticket = world["ticket"]
    ws = await connect_requester(world["requester"])
    await follow(ws, ticket.number)

    message = await sync_to_async(webform.web_message_post)(
        ticket=await fresh(ticket), content="Alguma novidade?", actor=world["requester"]
    )
    heard = await ws.receive_json_from(timeout=5)
    assert heard["type"] == "requester.message" and heard["message"] == {"id": message.pk}
    await ws.disconnect()


async def test_a_reply_mirrored_from_chatwoot_by_webhook_reaches_the_requester(company) -> None:
    world = await arrange(company)
    ticket = world["ticket"]

    @sync_to_async
    def mirror() -> None:
        integration = webform.web_integration(company)
        integration.set_secrets({"webhook_secret": CHATWOOT_SECRET})
        integration.save()
        # What chatwoot_open_request records once the request is mirrored.
        ticket.conversation.external_id = "901"
        ticket.conversation.save(update_fields=["external_id"])

    await mirror()
    ws = await connect_requester(world["requester"])
    await follow(ws, ticket.number)

    @sync_to_async
    def chatwoot_agent_answers() -> Message:
        integration = webform.web_integration(company)
        reply = chatwoot_message(
            message_id=950,
            conversation_id=901,
            content="Já estamos vendo!",
            message_type="outgoing",
            sender={"id": 5, "name": "Douglas", "type": "user"},
        )
        assert post_chatwoot(Client(), integration, reply).status_code < 300
        return Message.objects.get(content="Já estamos vendo!")

    stored = await chatwoot_agent_answers()
    assert stored.ticket_id == ticket.pk
    heard = await ws.receive_json_from(timeout=5)
    assert heard["type"] == "requester.message" and heard["message"] == {"id": stored.pk}
    await ws.disconnect()


async def test_a_colleague_and_an_outsider_are_refused_like_a_missing_ticket_and_hear_nothing(
    company, outsider
) -> None:
    world = await arrange(company)
    ticket = world["ticket"]
    colleague = await connect_requester(world["colleague"])
    missing = await follow(colleague, 999)
    refused = await follow(colleague, ticket.number)
    assert missing == {"type": "error", "error": "ticket_not_found", "ticket": 999}
    assert refused == {"type": "error", "error": "ticket_not_found", "ticket": ticket.number}
    for junk in ("1", None, True, -1, 2**40, {"a": 1}):
        assert (await follow(colleague, junk))["error"] == "ticket_not_found"

    # Another company's member: refused at the door of this company's socket, and on
    # their own company's socket the number is just a missing ticket.
    door = WebsocketCommunicator(
        application, f"/ws/companies/loja-azul/requester/?token={jwt_for(outsider)}"
    )
    connected, code = await door.connect(timeout=5)
    assert not connected and code == 4404
    anonymous = WebsocketCommunicator(application, "/ws/companies/loja-azul/requester/")
    connected, code = await anonymous.connect(timeout=5)
    assert not connected and code == 4401
    stranger = await connect_requester(outsider, slug="outra")
    assert (await follow(stranger, ticket.number))["error"] == "ticket_not_found"

    agent = world["support_agent"]
    await sync_to_async(actions.ticket_accept)(ticket=await fresh(ticket), actor=agent)
    await sync_to_async(message_send)(ticket=await fresh(ticket), content="Resposta", actor=agent)
    assert await colleague.receive_nothing(timeout=0.5)
    assert await stranger.receive_nothing(timeout=0.2)
    await colleague.disconnect()
    await stranger.disconnect()


async def test_the_requester_socket_hears_nothing_of_other_tickets_even_for_a_supervisor(
    company, supervisor
) -> None:
    world = await arrange(company)

    @sync_to_async
    def supervisors_request_and_other_traffic() -> tuple[Ticket, Ticket]:
        own = webform.web_ticket_open(
            company=company,
            actor=supervisor,
            request=webform.WebRequest(title="Cadeira", description="Quebrou", complexity="low"),
        )
        return own, make_ticket(company, queue=world["support"], name="Cliente WhatsApp")

    own, other = await supervisors_request_and_other_traffic()
    # A supervisor may see every ticket, but their requester socket is not the inbox.
    ws = await connect_requester(supervisor)
    assert (await follow(ws, own.number))["type"] == "following"

    @sync_to_async
    def traffic() -> None:
        with transaction.atomic():
            message = make_message(other, "Oi, quero um orçamento")
            realtime.message_changed(message, "message.created")
            realtime.ticket_changed(other, "ticket.updated")
            # The requester's web ticket of someone else, too.
            realtime.ticket_changed(world["ticket"], "ticket.updated")

    await traffic()
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_a_plain_requester_on_the_inbox_socket_gets_no_company_counts_or_events(
    company,
) -> None:
    world = await arrange(company)
    ticket = world["ticket"]
    inbox = WebsocketCommunicator(
        application, f"/ws/companies/loja-azul/?token={jwt_for(world['requester'])}"
    )
    connected, _ = await inbox.connect(timeout=5)
    assert connected
    hello = await inbox.receive_json_from(timeout=5)
    # In no queue: no queue's counts, and only their own (empty) assignments.
    assert hello["counts"] == {
        "queues": {},
        "total": {"pending": 0, "open": 0, "unread": 0},
        "mine": {"open": 0, "unread": 0},
    }
    # Their inbox socket may not subscribe to their request as staff either.
    await inbox.send_json_to({"type": "subscribe", "ticket": ticket.number})
    assert (await inbox.receive_json_from(timeout=5))["error"] == "ticket_not_found"

    agent = world["support_agent"]
    await sync_to_async(actions.ticket_accept)(ticket=await fresh(ticket), actor=agent)
    await sync_to_async(note_add)(ticket=await fresh(ticket), content=SECRET_NOTE, actor=agent)
    other = await sync_to_async(make_ticket)(company, queue=world["support"])

    @sync_to_async
    def other_traffic() -> None:
        with transaction.atomic():
            realtime.ticket_changed(other, "ticket.created")

    await other_traffic()
    assert await inbox.receive_nothing(timeout=0.5)
    await inbox.disconnect()


async def test_a_reconnected_requester_follows_again_and_hears_new_events(company) -> None:
    world = await arrange(company)
    ticket = world["ticket"]
    first = await connect_requester(world["requester"])
    await follow(first, ticket.number)
    await first.disconnect()
    # Missed while away: the page fetches its thread after "following" (no replay here).
    await sync_to_async(webform.web_message_post)(
        ticket=await fresh(ticket), content="Enquanto eu estava fora", actor=world["requester"]
    )
    again = await connect_requester(world["requester"])
    assert await again.receive_nothing(timeout=0.3)
    assert (await follow(again, ticket.number))["type"] == "following"
    await sync_to_async(actions.ticket_accept)(
        ticket=await fresh(ticket), actor=world["support_agent"]
    )
    assert (await again.receive_json_from(timeout=5))["ticket"]["status"] == "open"
    await again.disconnect()


async def test_a_follow_up_of_a_closed_request_is_followed_and_heard_too(company) -> None:
    world = await arrange(company)
    ticket, agent, requester = world["ticket"], world["support_agent"], world["requester"]

    @sync_to_async
    def close_for_good_and_write_again() -> Ticket:
        company.reopen_window_hours = 0
        company.save()
        actions.ticket_accept(ticket=Ticket.objects.get(pk=ticket.pk), actor=agent)
        actions.ticket_resolve(ticket=Ticket.objects.get(pk=ticket.pk), actor=agent)
        message = webform.web_message_post(
            ticket=Ticket.objects.get(pk=ticket.pk), content="Voltou", actor=requester
        )
        assert message.ticket is not None
        return message.ticket

    follow_up = await close_for_good_and_write_again()
    assert follow_up.pk != ticket.pk
    ws = await connect_requester(requester)
    assert (await follow(ws, follow_up.number))["type"] == "following"
    colleague = await connect_requester(world["colleague"])
    assert (await follow(colleague, follow_up.number))["error"] == "ticket_not_found"

    reply = await sync_to_async(message_send)(
        ticket=await fresh(follow_up), content="Vamos ver de novo", actor=agent
    )
    heard = await ws.receive_json_from(timeout=5)
    assert heard["message"] == {"id": reply.pk}
    assert heard["ticket"]["number"] == follow_up.number
    assert await colleague.receive_nothing(timeout=0.3)
    await ws.disconnect()
    await colleague.disconnect()


def test_requester_payload_passes_only_public_state() -> None:
    row = {
        "number": 7,
        "status": "open",
        "queue_name": "Suporte",
        "assignee_name": "Ana",
        "contact": "Pedro",
        "phone": "+5511999999999",
        "unread": 3,
    }
    public = {"id": 1, "is_private": False, "preview": "texto"}
    private = {"id": 2, "is_private": True, "preview": SECRET_NOTE}
    assert realtime.requester_payload("ticket.transferred", row, {"note": SECRET_NOTE}) == {
        "type": "requester.ticket",
        "event": "ticket.transferred",
        "ticket": {"number": 7, "status": "open", "queue_name": "Suporte", "assignee_name": "Ana"},
    }
    assert realtime.requester_payload("message.created", row, {"message": public})["message"] == {
        "id": 1
    }
    assert realtime.requester_payload("message.created", row, {"message": private}) is None
    assert realtime.requester_payload("message.created", row, {"message": {"id": 3}}) is None
    assert realtime.requester_payload("message.status", row, {"message": public}) is None
    assert realtime.requester_payload("ticket.read", row, {}) is None
    assert realtime.requester_payload("ticket.something_new", row, {}) is None
