"""The live "My tickets" page's HTTP side: the chat's fetch POST (JSON) and the thread
fragment the page fetches on events and after a reconnection."""

from __future__ import annotations

from typing import Any

import pytest

from conversations.models import Message
from conversations.services.outbound import message_send, note_add
from tenants.models import Role
from tests.conftest import make_member
from tickets.models import Ticket
from tickets.services import actions, webform

from .workflow_factories import make_queue

pytestmark = pytest.mark.django_db

APP = "/app/loja-azul"
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def request_of(company: Any, agent: Any) -> Ticket:
    """``agent`` is the requester (a member in no queue); the queue has its own agent."""
    support_agent = make_member(company, "suporte@azul.test", Role.AGENT)
    make_queue(company, "Suporte", members=(support_agent,), is_default=True)
    return webform.web_ticket_open(
        company=company,
        actor=agent,
        request=webform.WebRequest(title="Impressora", description="Não imprime", complexity="low"),
    )


def test_the_chat_posts_by_fetch_and_gets_the_rendered_message(
    company, agent, request_of, client_for
) -> None:
    web = client_for(agent)
    url = f"{APP}/my-tickets/{request_of.number}/"
    response = web.post(url, {"content": "Alguma novidade?"}, **JSON)
    assert response.status_code == 200
    body = response.json()
    message = Message.objects.get(pk=body["id"])
    assert message.content == "Alguma novidade?" and message.sender_user == agent
    assert body["ticket"] == request_of.number
    assert f'data-message="{message.pk}"' in body["html"] and "Alguma novidade?" in body["html"]
    # Without JavaScript the same form still answers with a redirect.
    plain = web.post(url, {"content": "E agora?"})
    assert plain.status_code == 302 and plain["Location"] == url


@pytest.mark.parametrize(
    ("content", "needle"), [("", "obrigatório"), ("   ", "obrigatório"), ("x" * 10_001, "10000")]
)
def test_an_invalid_chat_message_is_a_clear_400(
    company, agent, request_of, client_for, content, needle
) -> None:
    before = Message.objects.count()
    response = client_for(agent).post(
        f"{APP}/my-tickets/{request_of.number}/", {"content": content}, **JSON
    )
    assert response.status_code == 400
    body = response.json()
    assert needle in body["error"] and "content" in body["errors"]
    assert Message.objects.count() == before


def test_a_missing_content_field_is_a_400_too(company, agent, request_of, client_for) -> None:
    response = client_for(agent).post(f"{APP}/my-tickets/{request_of.number}/", {}, **JSON)
    assert response.status_code == 400
    assert response.json()["error"] == "Este campo é obrigatório."


def test_the_thread_fragment_has_new_public_messages_and_the_state_but_no_private_note(
    company, agent, request_of, client_for
) -> None:
    support_agent = request_of.queue.members.get()
    first = Message.objects.filter(ticket=request_of).order_by("id").last()
    assert first is not None
    actions.ticket_accept(ticket=request_of, actor=support_agent)
    reply = message_send(ticket=request_of, content="Vou verificar", actor=support_agent)
    note_add(ticket=request_of, content="nota interna secreta", actor=support_agent)
    response = client_for(agent).get(
        f"{APP}/my-tickets/{request_of.number}/thread/?after={first.pk}"
    )
    assert response.status_code == 200
    data = response.json()
    assert [m["id"] for m in data["messages"]] == [reply.pk]
    assert "Vou verificar" in data["messages"][0]["html"]
    assert "nota interna secreta" not in response.content.decode()
    assert data["status"] == "open" and data["status_label"] == "Aberto"
    assert "Suporte" in data["facts"]
    assert data["follow"] == [request_of.number]


def test_the_thread_fragment_refreshes_and_drops_messages_and_ignores_junk_cursors(
    company, agent, request_of, client_for
) -> None:
    shown = Message.objects.filter(ticket=request_of).order_by("id").first()
    assert shown is not None
    removed = Message.objects.create(
        company=company,
        conversation=request_of.conversation,
        ticket=request_of,
        direction="out",
        sender_type="agent",
        content="apagada",
        deleted=True,
    )
    url = f"{APP}/my-tickets/{request_of.number}/thread/"
    web = client_for(agent)
    data = web.get(f"{url}?after=99999999&refresh={shown.pk},{removed.pk}").json()
    assert data["messages"] == []
    assert list(data["refreshed"]) == [str(shown.pk)]
    assert data["gone"] == [removed.pk]
    for junk in ("abc", "-1", "²", "9" * 40):
        response = web.get(f"{url}?after={junk}&refresh={junk}")
        assert response.status_code == 200
        assert response.json()["gone"] == []


def test_nobody_else_gets_the_thread_or_posts_by_fetch(
    company, agent, request_of, outsider, client_for
) -> None:
    colleague = make_member(company, "paula@azul.test", Role.AGENT)
    boss = make_member(company, "chefe@azul.test", Role.SUPERVISOR)
    for user in (colleague, boss, outsider):
        web = client_for(user)
        assert web.get(f"{APP}/my-tickets/{request_of.number}/thread/").status_code == 404
        posted = web.post(f"{APP}/my-tickets/{request_of.number}/", {"content": "oi"}, **JSON)
        assert posted.status_code == 404
    assert not Message.objects.filter(content="oi").exists()


def test_the_page_lists_the_follow_ups_it_follows_live(
    company, agent, request_of, client_for
) -> None:
    page = client_for(agent).get(f"{APP}/my-tickets/{request_of.number}/").content.decode()
    assert f'data-follow="{request_of.number}"' in page
    assert "js/my_ticket.js" in page and 'id="live-status"' in page


def test_the_thread_fragment_costs_a_fixed_number_of_queries(
    company, agent, request_of, client_for, django_assert_num_queries
) -> None:
    support_agent = request_of.queue.members.get()
    for n in range(5):
        message_send(ticket=request_of, content=f"Resposta {n}", actor=support_agent)
    web = client_for(agent)
    url = f"{APP}/my-tickets/{request_of.number}/thread/"
    first = Message.objects.filter(ticket=request_of).order_by("id").first()
    assert first is not None
    # Session, user, company language, membership, ticket, new messages, refreshed
    # messages, follow-ups: however many messages.
    with django_assert_num_queries(8):
        data = web.get(f"{url}?after={first.pk}&refresh={first.pk}").json()
    assert len(data["messages"]) == 5 and list(data["refreshed"]) == [str(first.pk)]


def test_writing_on_a_request_closed_for_good_answers_with_the_follow_up_to_follow(
    company, agent, request_of, client_for
) -> None:
    company.reopen_window_hours = 0
    company.save()
    support_agent = request_of.queue.members.get()
    actions.ticket_accept(ticket=request_of, actor=support_agent)
    actions.ticket_resolve(ticket=Ticket.objects.get(pk=request_of.pk), actor=support_agent)
    web = client_for(agent)
    body = web.post(
        f"{APP}/my-tickets/{request_of.number}/", {"content": "Voltou a falhar"}, **JSON
    ).json()
    follow_up = Ticket.objects.get(company=company, requester=agent, number=body["ticket"])
    assert follow_up.pk != request_of.pk
    assert follow_up.conversation_id == request_of.conversation_id
    data = web.get(f"{APP}/my-tickets/{request_of.number}/thread/").json()
    assert data["follow"] == [request_of.number, follow_up.number]
    assert data["status"] == "resolved"  # the page's own request
    assert "Voltou a falhar" in data["messages"][-1]["html"]


def test_the_list_follows_its_open_tickets_and_gives_its_rows_as_json(
    company, agent, request_of, client_for
) -> None:
    """The "My tickets" list is live: it follows the open tickets and fetches its rows
    (rendered by the server) again when one changes."""
    web = client_for(agent)
    page = web.get(f"{APP}/my-tickets/").content.decode()
    assert f'data-follow="{request_of.number}"' in page
    assert "js/my_tickets.js" in page and 'id="live-status"' in page
    support_agent = Ticket.objects.get(pk=request_of.pk).queue.members.get()
    actions.ticket_accept(ticket=Ticket.objects.get(pk=request_of.pk), actor=support_agent)
    data = web.get(f"{APP}/my-tickets/", **JSON).json()
    assert data["follow"] == [request_of.number]
    assert f'data-ticket="{request_of.number}"' in data["rows"]
    assert 'data-status="open"' in data["rows"]
    Ticket.objects.filter(pk=request_of.pk).update(status="closed")  # (the closing job)
    data = web.get(f"{APP}/my-tickets/", **JSON).json()
    assert data["follow"] == []  # closed for good: nothing more to hear
    assert 'data-status="closed"' in data["rows"]


def test_nobody_else_gets_anothers_list_rows(
    company, agent, request_of, outsider, client_for
) -> None:
    colleague = make_member(company, "paula@azul.test", Role.AGENT)
    data = client_for(colleague).get(f"{APP}/my-tickets/", **JSON).json()
    assert data["follow"] == [] and "data-ticket" not in data["rows"]
    assert client_for(outsider).get(f"{APP}/my-tickets/", **JSON).status_code == 404
