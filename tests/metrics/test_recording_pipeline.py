"""Response times recorded through the real pipeline: webhooks in, replies out."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conversations.services.outbound import message_send, note_add
from metrics.models import ResponderType, ResponseTime
from tests.webhook_support import chatwoot_message, make_integration, post_chatwoot
from tickets.models import Queue, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_staff_bot_and_platform_replies_are_recorded_once_each(
    company: Any, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Queue.objects.create(company=company, name="Suporte", is_default=True)
    chatwoot = make_integration(company, "chatwoot")
    client = Client()
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1))
    ticket = Ticket.objects.get()
    assert ticket.waiting_since is not None
    with django_capture_on_commit_callbacks():
        bot = message_send(
            ticket=ticket, content="Olá! Sou o assistente.", sender_type="bot", source="ai"
        )
    note_add(ticket=ticket, content="cliente VIP", actor=agent)
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=2, content="quero falar com gente"))
    with django_capture_on_commit_callbacks():
        staff = message_send(ticket=ticket, content="Oi, sou a Ana", actor=agent)
    with django_capture_on_commit_callbacks():
        message_send(ticket=ticket, content="Mais alguma coisa?", actor=agent)  # nothing waits
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=3, content="sim"))
    platform_agent = {"id": 3, "name": "Douglas", "type": "user"}
    post_chatwoot(
        client,
        chatwoot,
        chatwoot_message(
            message_id=4, message_type="outgoing", sender=platform_agent, content="pois não"
        ),
    )
    rows = list(ResponseTime.objects.order_by("pk"))
    assert [r.message_id for r in rows[:2]] == [bot.pk, staff.pk]
    assert [r.responder_type for r in rows] == [
        ResponderType.BOT,
        ResponderType.AGENT,
        ResponderType.AGENT,
    ]
    assert [(r.is_first, r.is_first_agent) for r in rows] == [
        (True, False),
        (False, True),
        (False, False),
    ]
    assert rows[1].responder == agent and rows[2].responder is None
    ticket.refresh_from_db()
    assert ticket.waiting_since is None
    assert ticket.first_response_at == rows[0].answered_at


def test_a_reopen_through_the_pipeline_starts_a_new_first_response(
    company: Any, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Queue.objects.create(company=company, name="Suporte", is_default=True)
    chatwoot = make_integration(company, "chatwoot")
    client = Client()
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=1))
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks():
        message_send(ticket=ticket, content="Oi", actor=agent)
    Ticket.objects.filter(pk=ticket.pk).update(status="resolved", resolved_at=timezone.now())
    post_chatwoot(client, chatwoot, chatwoot_message(message_id=2, content="voltei"))
    ticket.refresh_from_db()
    assert ticket.reopen_count == 1 and ticket.first_response_at is None
    with django_capture_on_commit_callbacks():
        message_send(ticket=ticket, content="Bem-vinda de volta", actor=agent)
    first, again = ResponseTime.objects.order_by("pk")
    assert first.is_first and first.cycle == 0
    assert again.is_first and again.is_first_agent and again.cycle == 1
    assert again.waited_since >= ticket.reopened_at
    ticket.refresh_from_db()
    assert ticket.first_response_at == again.answered_at
