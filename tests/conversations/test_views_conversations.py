"""The plain conversation list and thread pages, with reply, note and retry."""

from __future__ import annotations

import pytest

from conversations.models import Message
from integrations.base import DeliveryStatus, Direction
from integrations.tasks import send_message
from tests.integrations.outbound_rows import (
    make_conversation,
    make_integration,
    make_message,
    make_ticket,
)
from tickets.models import Queue, TicketStatus

pytestmark = pytest.mark.django_db

BASE = "/app/loja-azul/conversations/"


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(send_message, "delay", lambda *args: calls.append(args))
    return calls


@pytest.fixture
def conversation(company, agent):
    conversation = make_conversation(
        make_integration(company, "twilio", name="WhatsApp"), name="Maria Silva"
    )
    # Agents see their queues' tickets (tickets.selectors.visible_tickets).
    queue = Queue.objects.create(company=company, name="Atendimento")
    queue.members.add(agent)
    make_ticket(conversation, status=TicketStatus.OPEN, queue=queue)
    return conversation


def test_the_list_shows_contact_channel_last_message_and_ticket(
    conversation, agent, client_for, django_assert_max_num_queries
) -> None:
    make_message(conversation, ticket=conversation.tickets.get(), content="Quero trocar o pedido")
    client = client_for(agent)
    with django_assert_max_num_queries(8):
        response = client.get(BASE)
    assert response.status_code == 200
    html = response.text
    assert "Maria Silva" in html and "WhatsApp" in html
    assert "Quero trocar o pedido" in html
    assert f"#{conversation.tickets.get().number}" in html
    assert client.get(f"{BASE}?status=resolved").text.count("data-conversation=") == 0
    assert client.get(f"{BASE}?q=maria").text.count("data-conversation=") == 1


def test_the_thread_shows_messages_in_order_with_styles_status_and_attachments(
    conversation, agent, client_for
) -> None:
    ticket = conversation.tickets.get()
    make_message(
        conversation,
        ticket=ticket,
        content="primeira",
        attachments=[
            {"url": "https://files.example/foto.jpg", "kind": "image"},
            {"url": "javascript:alert(1)", "kind": "file"},
        ],
    )
    make_message(
        conversation,
        ticket=ticket,
        direction=Direction.OUTBOUND,
        content="segunda",
        sender_name="Alice",
        delivery_status=DeliveryStatus.READ,
    )
    make_message(
        conversation,
        ticket=ticket,
        direction=Direction.OUTBOUND,
        content="terceira",
        delivery_status=DeliveryStatus.FAILED,
        error_code="63016",
        error_message="Outside the 24h window",
    )
    make_message(
        conversation, ticket=ticket, direction=Direction.OUTBOUND, content="nota", is_private=True
    )
    html = client_for(agent).get(f"{BASE}{conversation.pk}/").text
    assert (
        html.index("primeira") < html.index("segunda") < html.index("terceira") < html.index("nota")
    )
    assert 'class="msg in"' in html and 'class="msg out"' in html and 'class="msg note"' in html
    assert '<img src="https://files.example/foto.jpg"' in html
    assert "javascript:" not in html
    assert "Outside the 24h window" in html
    assert 'action="/app/loja-azul/messages/' in html  # the retry button


def test_replying_from_the_thread_stores_a_pending_message_and_schedules_it(
    conversation, agent, client_for, enqueued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(agent).post(
            f"{BASE}{conversation.pk}/reply/", {"content": "Olá Maria"}
        )
    assert response.status_code == 302
    message = Message.objects.get()
    assert (message.content, message.delivery_status, message.sender_user) == (
        "Olá Maria",
        "pending",
        agent,
    )
    assert enqueued == [(message.company_id, message.pk)]


def test_a_note_from_the_thread_is_private_and_not_sent(
    conversation, agent, client_for, enqueued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client_for(agent).post(f"{BASE}{conversation.pk}/note/", {"content": "VIP"})
    assert Message.objects.get().is_private
    assert enqueued == []


def test_an_empty_reply_is_refused_with_a_message(conversation, agent, client_for) -> None:
    response = client_for(agent).post(
        f"{BASE}{conversation.pk}/reply/", {"content": ""}, follow=True
    )
    assert response.status_code == 200
    assert not Message.objects.exists()


def test_retry_puts_a_failed_message_back_in_the_queue(
    conversation, agent, client_for, enqueued, django_capture_on_commit_callbacks
) -> None:
    failed = make_message(
        conversation,
        ticket=conversation.tickets.get(),
        direction=Direction.OUTBOUND,
        delivery_status=DeliveryStatus.FAILED,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(agent).post(f"/app/loja-azul/messages/{failed.pk}/retry/")
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.delivery_status == DeliveryStatus.PENDING
    assert enqueued == [(failed.company_id, failed.pk)]


def test_outsiders_get_404_on_every_conversation_page(
    company, conversation, outsider, client_for
) -> None:
    message = make_message(conversation)
    client = client_for(outsider)
    for url in (
        BASE,
        f"{BASE}{conversation.pk}/",
        f"{BASE}{conversation.pk}/reply/",
        f"{BASE}{conversation.pk}/note/",
        f"/app/loja-azul/messages/{message.pk}/retry/",
    ):
        for method in ("get", "post"):
            assert getattr(client, method)(url).status_code == 404, (method, url)
    assert Message.objects.count() == 1


def test_another_companys_conversation_is_404_for_members(
    company, other_company, agent, client_for
) -> None:
    theirs = make_conversation(make_integration(other_company, "web"))
    make_ticket(theirs)
    client = client_for(agent)
    assert client.get(f"{BASE}{theirs.pk}/").status_code == 404
    assert client.post(f"{BASE}{theirs.pk}/reply/", {"content": "x"}).status_code == 404
    assert not Message.objects.exists()
