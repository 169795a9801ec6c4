"""The web form mirrored to a Chatwoot Client API inbox, against a fake Chatwoot on
loopback: contact link per user, conversation, messages both ways, retries."""

from __future__ import annotations

import hashlib
import hmac
import itertools
from typing import Any

import pytest
from django.test import Client

from conversations.models import Message
from integrations.chatwoot.client_api import ClientAPIError
from tests.fakes.server import Answer, FakeServer, RecordedRequest
from tests.webhook_support import CHATWOOT_SECRET, chatwoot_message, post_chatwoot
from tickets.models import ChatwootContactLink, Ticket
from tickets.services import webform
from tickets.tasks import chatwoot_open_request, chatwoot_post_message

pytestmark = pytest.mark.django_db

INBOX = "inbox-ABC123"
HMAC_TOKEN = "hmac-token-xyz"


class FakeClientAPI(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(900)

    def answer(self, request: RecordedRequest) -> Answer:
        prefix = f"/public/api/v1/inboxes/{INBOX}"
        if request.method != "POST" or not request.path.startswith(prefix):
            return 404, {"error": "not found"}
        path = request.path[len(prefix) :]
        if path == "/contacts":
            n = next(self.ids)
            return 200, {
                "id": n,
                "source_id": f"src-{n}",
                "pubsub_token": f"pub-{n}",
                "name": request.json["name"],
            }
        if path.endswith("/conversations"):
            return 200, {"id": next(self.ids), "inbox_id": 3, "messages": []}
        if path.endswith("/messages"):
            return 200, {
                "id": next(self.ids),
                "content": request.json["content"],
                "message_type": 0,
            }
        return 404, {"error": "not found"}


@pytest.fixture
def fake():
    with FakeClientAPI() as server:
        yield server


@pytest.fixture
def web(company, fake):
    integration = webform.web_integration(company)
    integration.settings = {"chatwoot_base_url": fake.base_url, "chatwoot_inbox_identifier": INBOX}
    integration.set_secrets({"chatwoot_hmac_token": HMAC_TOKEN, "webhook_secret": CHATWOOT_SECRET})
    integration.save()
    return integration


def open_request(company: Any, user: Any, title: str = "Impressora") -> Ticket:
    return webform.web_ticket_open(
        company=company,
        actor=user,
        request=webform.WebRequest(title=title, description="Não imprime", complexity="low"),
    )


def paths(fake: FakeClientAPI) -> list[str]:
    return [r.path.split(INBOX, 1)[1] for r in fake.requests]


def test_a_request_is_opened_in_chatwoot_after_commit(
    company, agent, web, fake, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = open_request(company, agent)
    assert any(cb.__qualname__.startswith("web_ticket_open.") for cb in callbacks)
    assert fake.requests == []  # nothing over the network inside the transaction
    chatwoot_open_request(company.pk, ticket.pk)
    contact_req, conv_req, msg_req = fake.requests
    assert contact_req.path.endswith("/contacts")
    assert contact_req.json["identifier"] == f"atende-user-{agent.pk}"
    assert contact_req.json["email"] == agent.email
    expected = hmac.new(
        HMAC_TOKEN.encode(), f"atende-user-{agent.pk}".encode(), hashlib.sha256
    ).hexdigest()
    assert contact_req.json["identifier_hash"] == expected
    assert conv_req.path.endswith("/contacts/src-900/conversations")
    assert conv_req.json["custom_attributes"]["atende_ticket"] == ticket.number
    assert msg_req.path.endswith("/contacts/src-900/conversations/901/messages")
    assert msg_req.json["content"] == "Impressora\n\nNão imprime"
    ticket.conversation.refresh_from_db()
    assert ticket.conversation.external_id == "901"
    assert ticket.conversation.extra["chatwoot_conversation_id"] == "901"
    first = Message.objects.filter(ticket=ticket, direction="in").get()
    assert first.external_id == "902"
    link = ChatwootContactLink.objects.get(company=company, user=agent)
    assert (link.contact_identifier, link.pubsub_token, link.inbox_identifier) == (
        "src-900",
        "pub-900",
        INBOX,
    )
    # Running the task again sends nothing new.
    chatwoot_open_request(company.pk, ticket.pk)
    assert len(fake.requests) == 3


def test_one_chatwoot_contact_per_user_and_inbox(company, agent, web, fake) -> None:
    for title in ("A", "B"):
        chatwoot_open_request(company.pk, open_request(company, agent, title).pk)
    assert paths(fake).count("/contacts") == 1
    assert ChatwootContactLink.objects.filter(user=agent).count() == 1


def test_chat_messages_go_to_chatwoot_and_replies_come_back_by_webhook(
    company, agent, web, fake
) -> None:
    ticket = open_request(company, agent)
    chatwoot_open_request(company.pk, ticket.pk)
    message = webform.web_message_post(ticket=ticket, content="Alguma novidade?", actor=agent)
    assert chatwoot_post_message(company.pk, message.pk) is None
    message.refresh_from_db()
    last = fake.requests[-1]
    assert last.json["content"] == "Alguma novidade?" and message.external_id == "903"
    assert last.json["echo_id"] == str(message.client_id)
    chatwoot_post_message(company.pk, message.pk)  # idempotent: already sent
    assert len(fake.requests) == 4

    client = Client()
    # The echo of the requester's own message is a duplicate, not a second message.
    echo = chatwoot_message(
        message_id=903, conversation_id=901, content="Alguma novidade?", message_type="incoming"
    )
    assert post_chatwoot(client, web, echo).status_code < 300
    # A Chatwoot agent answers in Chatwoot: it lands on the same ticket.
    reply = chatwoot_message(
        message_id=950,
        conversation_id=901,
        content="Já estamos vendo!",
        message_type="outgoing",
        sender={"id": 5, "name": "Douglas", "type": "user"},
    )
    assert post_chatwoot(client, web, reply).status_code < 300
    thread = list(
        Message.objects.filter(conversation=ticket.conversation)
        .order_by("id")
        .values_list("direction", "content")
    )
    assert thread.count(("in", "Alguma novidade?")) == 1
    assert ("out", "Já estamos vendo!") in thread
    assert Message.objects.get(content="Já estamos vendo!").ticket_id == ticket.pk


def test_a_message_written_before_the_mirror_exists_is_sent_with_it(
    company, agent, web, fake
) -> None:
    ticket = open_request(company, agent)
    early = webform.web_message_post(ticket=ticket, content="E aí?", actor=agent)
    chatwoot_post_message(company.pk, early.pk)
    assert fake.requests == []  # waits for the conversation
    chatwoot_open_request(company.pk, ticket.pk)
    assert [r.json.get("content") for r in fake.requests if r.path.endswith("/messages")] == [
        "Impressora\n\nNão imprime",
        "E aí?",
    ]


def test_a_chatwoot_outage_raises_for_retry_and_the_retry_does_not_duplicate(
    company, agent, web, fake
) -> None:
    ticket = open_request(company, agent)
    fake.fail_next(503)
    with pytest.raises(ClientAPIError) as failure:
        chatwoot_open_request(company.pk, ticket.pk)
    assert failure.value.transient
    chatwoot_open_request(company.pk, ticket.pk)
    assert paths(fake).count("/contacts") == 2  # the failed try and the retry
    assert sum(p.endswith("/conversations") for p in paths(fake)) == 1
    assert chatwoot_open_request.max_retries == 5


def test_without_chatwoot_settings_nothing_is_mirrored(
    company, agent, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = open_request(company, agent)
    assert not any(cb.__qualname__.startswith("web_ticket_open.") for cb in callbacks)
    assert callbacks  # the realtime events still go out
    assert chatwoot_open_request(company.pk, ticket.pk) is None
