"""The buffer hook as wired into the real ingest pipeline."""

from __future__ import annotations

import pytest

from conversations.models import Conversation, Message
from conversations.services.ingest import ingest_in_transaction, message_ingest
from integrations.base import ContactInfo, InboundMessage
from integrations.models import Integration

from .conftest import run_replies

pytestmark = pytest.mark.django_db


def ingest(integration: Integration, mid: str, text: str, *, group: bool = False) -> None:
    contact = ContactInfo(
        external_id="c1",
        name="Maria",
        phone="+5511987654321",
        is_group=group,
        identifier="120363@g.us" if group else "",
    )
    event = InboundMessage(
        external_conversation_id="conv-1",
        external_message_id=mid,
        contact=contact,
        content=text,
    )
    ingest_in_transaction(
        lambda careful: message_ingest(integration=integration, data=event, careful=careful)
    )


def test_webhook_messages_are_buffered_and_answered_once(
    ai_on, company, fake_openai, scheduled, django_capture_on_commit_callbacks
) -> None:
    integration = Integration.objects.create(company=company, kind="chatwoot", name="CW")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(integration, "m1", "bom dia")
        ingest(integration, "m2", "tem horário hoje?")
        ingest(integration, "m2", "tem horário hoje?")  # a duplicate delivery: no-op
    assert [c.args[2] for c in scheduled] == [1, 2]
    conversation = Conversation.objects.get(company=company)
    assert conversation.ai_pending_since is not None
    assert run_replies(scheduled) == ["stale", "replied"]
    [reply] = Message.objects.filter(conversation=conversation, sender_type="bot")
    assert reply.content == "Reply to: bom dia | tem horário hoje?"
    assert reply.ticket is not None and reply.ticket.conversation == conversation


def test_group_conversations_are_left_to_people(
    ai_on, company, scheduled, django_capture_on_commit_callbacks
) -> None:
    integration = Integration.objects.create(company=company, kind="chatwoot", name="CW")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(integration, "m1", "pessoal, bom dia", group=True)
    assert scheduled == []
