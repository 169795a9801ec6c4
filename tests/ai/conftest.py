"""Fixtures for the AI attendant: a fake OpenAI server, a company with the AI on, a
conversation with its ticket, inbound messages stored through the message_stored hook,
and the reply tasks' scheduling captured (tasks are then called directly)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from conversations.hooks import MessageContext, message_stored
from conversations.models import Contact, Conversation, Message
from integrations.ai import buffer
from integrations.ai import client as ai_client
from integrations.ai.models import AISettings
from integrations.ai.tasks import ai_reply, ai_send_part
from integrations.models import Integration
from tenants.models import Company
from tests.fakes.openai_server import FakeOpenAI
from tickets.models import Ticket

_numbers: dict[int, int] = {}


@dataclass
class Chat:
    company: Company
    integration: Integration
    contact: Contact
    conversation: Conversation
    ticket: Ticket

    def refresh(self) -> Chat:
        self.conversation.refresh_from_db()
        self.ticket.refresh_from_db()
        return self

    def bot_messages(self) -> list[Message]:
        return list(
            Message.objects.filter(conversation=self.conversation, sender_type="bot").order_by("id")
        )


def make_chat(company: Company, phone: str = "+5511999990001") -> Chat:
    integration = Integration.objects.create(company=company, kind="chatwoot", name="Chatwoot")
    contact = Contact.objects.create(company=company, name="Maria", phone=phone)
    conversation = Conversation.objects.create(
        company=company, integration=integration, contact=contact, external_id=f"c-{phone}"
    )
    number = Ticket.objects.filter(company=company).count() + 1
    ticket = Ticket.objects.create(
        company=company, number=number, conversation=conversation, contact=contact
    )
    return Chat(company, integration, contact, conversation, ticket)


def inbound(chat: Chat, text: str = "", **fields: Any) -> Message:
    """Store an inbound customer message and run the hooks, as ingest does."""
    message = Message.objects.create(
        company=chat.company,
        conversation=chat.conversation,
        ticket=chat.ticket,
        direction="in",
        sender_type="contact",
        content=text,
        **fields,
    )
    chat.ticket.refresh_from_db()
    message_stored(message, MessageContext(ticket=chat.ticket))
    return message


@pytest.fixture(autouse=True)
def clean_ai_redis() -> Iterator[None]:
    client = buffer.redis_client()
    pattern = f"{settings.REDIS_PREFIX}:ai:*"
    for key in client.scan_iter(pattern):
        client.delete(key)
    # Cached OpenAI clients keep connections to fake servers of earlier tests.
    ai_client._client.cache_clear()
    yield
    for key in client.scan_iter(pattern):
        client.delete(key)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-azul") as fake:
        yield fake


def ai_settings_for(company: Company, fake: FakeOpenAI, **fields: Any) -> AISettings:
    values: dict[str, Any] = {
        "enabled": True,
        "base_url": fake.base_url,
        "model": "fake-model",
        "buffer_seconds": 10,
        "max_wait_seconds": 60,
        "split_long_replies": False,
    }
    values.update(fields)
    ai = AISettings(company=company, **values)
    ai.set_secret("api_key", fake.api_key)
    ai.save()
    return ai


@pytest.fixture
def ai_on(company: Company, fake_openai: FakeOpenAI) -> AISettings:
    return ai_settings_for(company, fake_openai)


@pytest.fixture
def chat(company: Company) -> Chat:
    return make_chat(company)


@dataclass
class Scheduled:
    task: str
    args: tuple
    countdown: float


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> list[Scheduled]:
    """Every apply_async of the AI tasks, recorded instead of sent to the broker."""
    calls: list[Scheduled] = []

    def recorder(name: str) -> Any:
        def apply_async(args: tuple, countdown: float = 0, **kw: Any) -> None:
            calls.append(Scheduled(name, tuple(args), countdown))

        return apply_async

    def delay_recorder(*args: Any) -> None:
        calls.append(Scheduled("send_message", args, 0))

    from integrations.tasks import send_message

    monkeypatch.setattr(ai_reply, "apply_async", recorder("ai_reply"))
    monkeypatch.setattr(ai_send_part, "apply_async", recorder("ai_send_part"))
    monkeypatch.setattr(send_message, "delay", delay_recorder)
    return calls


def run_replies(calls: list[Scheduled]) -> list[str]:
    """Run (and remove) the scheduled AI tasks, shortest countdown first, as a worker
    would -- including the ones they schedule in turn. Outbound sends are left in place."""
    results = []
    while any(c.task != "send_message" for c in calls):
        calls.sort(key=lambda c: (c.task == "send_message", c.countdown))
        call = calls.pop(0)
        task = ai_reply if call.task == "ai_reply" else ai_send_part
        results.append(task(*call.args))
    return results
