"""REST: contacts, conversations, messages, replies and retries (company-scoped)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

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

BASE = "/api/v1/companies/loja-azul/"


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(send_message, "delay", lambda *args: calls.append(args))
    return calls


@pytest.fixture
def chatwoot(company):
    return make_integration(company, "chatwoot", settings={"account_id": "1"})


@pytest.fixture
def conversation(chatwoot, agent):
    conversation = make_conversation(chatwoot, name="Maria Silva", phone="+5511987654321")
    # Agents see their queues' tickets (tickets.selectors.visible_tickets).
    queue = Queue.objects.create(company=chatwoot.company, name="Atendimento")
    queue.members.add(agent)
    make_ticket(conversation, status=TicketStatus.OPEN, queue=queue)
    return conversation


def test_conversations_are_listed_with_ticket_and_last_message_in_fixed_queries(
    company, chatwoot, admin_user, api_client_for, django_assert_num_queries
) -> None:
    now = timezone.now()
    for i in range(5):
        conversation = make_conversation(chatwoot, name=f"Cliente {i}")
        ticket = make_ticket(conversation, status=TicketStatus.PENDING)
        make_message(conversation, ticket=ticket, content=f"mensagem {i}")
        conversation.last_message_at = now - timedelta(minutes=i)
        conversation.save()
    api = api_client_for(admin_user)
    with django_assert_num_queries(4):  # user, membership, count, page (joins + subqueries)
        response = api.get(f"{BASE}conversations/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["contact"]["name"] for r in rows] == [f"Cliente {i}" for i in range(5)]
    assert rows[0]["ticket"]["status"] == "pending"
    assert rows[0]["last_message"] == {
        "content": "mensagem 0",
        "direction": "in",
        "delivery_status": "received",
    }
    assert rows[0]["channel"]["kind"] == "chatwoot"


def test_conversations_filter_by_ticket_status_channel_contact_and_date(
    company, chatwoot, admin_user, api_client_for
) -> None:
    twilio = make_integration(company, "twilio")
    open_one = make_conversation(chatwoot)
    make_ticket(open_one, status=TicketStatus.OPEN)
    resolved = make_conversation(twilio)
    make_ticket(resolved, status=TicketStatus.RESOLVED)
    old = timezone.now() - timedelta(days=10)
    resolved.last_message_at = old
    resolved.save()
    open_one.last_message_at = timezone.now()
    open_one.save()
    api = api_client_for(admin_user)

    def ids(query: str) -> list[int]:
        response = api.get(f"{BASE}conversations/?{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids("status=open") == [open_one.pk]
    assert ids("status=resolved") == [resolved.pk]
    assert ids("kind=twilio") == [resolved.pk]
    assert ids(f"contact={open_one.contact_id}") == [open_one.pk]
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert ids(f"since={since}") == [open_one.pk]
    assert ids(f"until={since}") == [resolved.pk]


@pytest.mark.parametrize("query", ["status=lost", "kind=fax", "since=yesterday", "contact=x"])
def test_bad_filters_are_400(company, admin_user, api_client_for, query) -> None:
    assert api_client_for(admin_user).get(f"{BASE}conversations/?{query}").status_code == 400


def test_messages_are_cursor_paginated_newest_first_with_filters(
    conversation, admin_user, api_client_for, django_assert_num_queries
) -> None:
    ticket = conversation.tickets.get()
    for i in range(5):
        make_message(conversation, ticket=ticket, content=f"in {i}")
    failed = make_message(
        conversation,
        ticket=ticket,
        direction=Direction.OUTBOUND,
        content="oops",
        delivery_status=DeliveryStatus.FAILED,
        error_code="63016",
    )
    api = api_client_for(admin_user)
    with django_assert_num_queries(4):  # user, membership, conversation, page
        response = api.get(f"{BASE}conversations/{conversation.pk}/messages/?page_size=4")
    data = response.json()
    assert [m["content"] for m in data["results"]] == ["oops", "in 4", "in 3", "in 2"]
    following = api.get(data["next"]).json()
    assert [m["content"] for m in following["results"]] == ["in 1", "in 0"]
    only_failed = api.get(f"{BASE}conversations/{conversation.pk}/messages/?status=failed").json()
    assert [m["id"] for m in only_failed["results"]] == [failed.pk]
    outbound = api.get(f"{BASE}conversations/{conversation.pk}/messages/?direction=out").json()
    assert [m["id"] for m in outbound["results"]] == [failed.pk]


def test_a_reply_is_stored_pending_and_scheduled(
    conversation, agent, api_client_for, enqueued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(agent).post(
            f"{BASE}conversations/{conversation.pk}/reply/",
            {"content": "Já verifico!"},
            format="json",
        )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["delivery_status"] == "pending" and data["direction"] == "out"
    assert data["sender_user"] == agent.pk
    assert enqueued == [(conversation.company_id, data["id"])]


def test_a_private_reply_is_a_note_and_is_not_sent(
    conversation, agent, api_client_for, enqueued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(agent).post(
            f"{BASE}conversations/{conversation.pk}/reply/",
            {"content": "cliente irritado", "private": True},
            format="json",
        )
    assert response.status_code == 201
    assert response.json()["is_private"] is True
    assert enqueued == []


def test_an_empty_reply_or_a_conversation_without_ticket_is_400(
    company, chatwoot, conversation, agent, admin_user, api_client_for
) -> None:
    api = api_client_for(agent)
    response = api.post(
        f"{BASE}conversations/{conversation.pk}/reply/", {"content": " "}, format="json"
    )
    assert response.status_code == 400
    bare = make_conversation(chatwoot)
    # Without a ticket an agent cannot see it (404); an admin sees it and gets a clear 400.
    assert (
        api.post(
            f"{BASE}conversations/{bare.pk}/reply/", {"content": "Oi"}, format="json"
        ).status_code
        == 404
    )
    api = api_client_for(admin_user)
    response = api.post(f"{BASE}conversations/{bare.pk}/reply/", {"content": "Oi"}, format="json")
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_a_failed_message_is_retried_through_the_api(
    conversation, agent, api_client_for, enqueued, django_capture_on_commit_callbacks
) -> None:
    failed = make_message(
        conversation,
        ticket=conversation.tickets.get(),
        direction=Direction.OUTBOUND,
        delivery_status=DeliveryStatus.FAILED,
        error_code="500",
    )
    api = api_client_for(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{BASE}messages/{failed.pk}/retry/")
    assert response.status_code == 200
    assert response.json()["delivery_status"] == "pending"
    assert enqueued == [(failed.company_id, failed.pk)]
    assert api.post(f"{BASE}messages/{failed.pk}/retry/").status_code == 400


def test_contacts_are_searchable(company, chatwoot, admin_user, api_client_for) -> None:
    make_conversation(chatwoot, name="Maria Silva", phone="+5511987654321")
    make_conversation(chatwoot, name="João Souza", phone="+5521912345678")
    api = api_client_for(admin_user)
    names = [c["name"] for c in api.get(f"{BASE}contacts/?q=maria").json()["results"]]
    assert names == ["Maria Silva"]
    by_phone = api.get(f"{BASE}contacts/?q=552191").json()["results"]
    assert [c["name"] for c in by_phone] == ["João Souza"]
    detail = api.get(f"{BASE}contacts/{by_phone[0]['id']}/")
    assert detail.status_code == 200 and detail.json()["phone"] == "+5521912345678"


def test_another_companys_rows_are_404_for_members_and_outsiders_see_nothing(
    company, other_company, conversation, admin_user, outsider, api_client_for
) -> None:
    theirs = make_conversation(make_integration(other_company, "web"))
    their_ticket = make_ticket(theirs)
    their_message = make_message(
        theirs,
        ticket=their_ticket,
        direction=Direction.OUTBOUND,
        delivery_status=DeliveryStatus.FAILED,
    )
    api = api_client_for(admin_user)
    assert api.get(f"{BASE}conversations/{theirs.pk}/").status_code == 404
    assert api.get(f"{BASE}conversations/{theirs.pk}/messages/").status_code == 404
    assert api.get(f"{BASE}contacts/{theirs.contact_id}/").status_code == 404
    response = api.post(f"{BASE}conversations/{theirs.pk}/reply/", {"content": "x"}, format="json")
    assert response.status_code == 404
    assert api.post(f"{BASE}messages/{their_message.pk}/retry/").status_code == 404
    assert [c["id"] for c in api.get(f"{BASE}conversations/").json()["results"]] == [
        conversation.pk
    ]
    their_message.refresh_from_db()
    assert their_message.delivery_status == DeliveryStatus.FAILED

    outsider_api = api_client_for(outsider)
    message = make_message(conversation)
    for url in (
        "contacts/",
        f"contacts/{conversation.contact_id}/",
        "conversations/",
        f"conversations/{conversation.pk}/",
        f"conversations/{conversation.pk}/messages/",
        f"conversations/{conversation.pk}/reply/",
        f"messages/{message.pk}/retry/",
    ):
        for method in ("get", "post", "patch", "delete"):
            assert getattr(outsider_api, method)(BASE + url).status_code == 404, (method, url)


def test_agents_see_only_conversations_of_tickets_they_may_see(
    company, chatwoot, agent, supervisor, api_client_for
) -> None:
    pytest.importorskip("tickets.selectors")
    sales = Queue.objects.create(company=company, name="Vendas")
    support = Queue.objects.create(company=company, name="Suporte")
    sales.members.add(agent)
    mine = make_conversation(chatwoot, name="Na minha fila")
    make_ticket(mine, queue=sales)
    other = make_conversation(chatwoot, name="Em outra fila")
    make_ticket(other, queue=support)
    api = api_client_for(agent)
    assert [c["id"] for c in api.get(f"{BASE}conversations/").json()["results"]] == [mine.pk]
    assert api.get(f"{BASE}conversations/{other.pk}/").status_code == 404
    assert api.get(f"{BASE}conversations/{other.pk}/messages/").status_code == 404
    response = api.post(f"{BASE}conversations/{other.pk}/reply/", {"content": "x"}, format="json")
    assert response.status_code == 404
    assert [c["name"] for c in api.get(f"{BASE}contacts/").json()["results"]] == ["Na minha fila"]
    everything = api_client_for(supervisor).get(f"{BASE}conversations/").json()["results"]
    assert {c["id"] for c in everything} == {mine.pk, other.pk}
