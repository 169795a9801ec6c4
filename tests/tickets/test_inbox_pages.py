"""The inbox and ticket pages: what each member sees, filters, the thread, read markers
and the sound preference."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import Role
from tests.conftest import make_member
from tests.tickets.live_factories import make_message, make_queue, make_ticket
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(company, agent):
    other_agent = make_member(company, "other@azul.test", Role.AGENT)
    sales = make_queue(company, "Vendas", agent)
    support = make_queue(company, "Suporte", other_agent)
    return {
        "sales": sales,
        "support": support,
        "other_agent": other_agent,
        "mine": make_ticket(company, queue=sales, name="Ana Souza", phone="+5511912345678"),
        "theirs": make_ticket(company, queue=support, name="Beto Lima"),
        "group": make_ticket(
            company, queue=sales, name="Família Souza", is_group=True, kind="umbler"
        ),
    }


def test_the_company_root_is_the_inbox_and_the_overview_keeps_its_name(
    company, agent, client_for, world
):
    client = client_for(agent)
    response = client.get("/app/loja-azul/")
    assert response.status_code == 200
    assert response.resolver_match.view_name == "tickets:inbox"
    assert client.get("/app/loja-azul/overview/").resolver_match.view_name == "tenants:home"


def test_an_agent_sees_the_waiting_tickets_of_their_queues_only(company, agent, client_for, world):
    page = client_for(agent).get("/app/loja-azul/").text
    assert "Ana Souza" in page
    assert "Família Souza" in page
    assert "Beto Lima" not in page
    counts = json.loads(
        page.split('id="inbox-counts" type="application/json">')[1].split("</script>")[0]
    )
    assert counts["queues"] == {str(world["sales"].pk): {"pending": 2, "open": 0, "unread": 0}}
    assert counts["mine"] == {"open": 0, "unread": 0}


def test_a_group_conversation_is_shown_as_a_group(company, agent, client_for, world):
    page = client_for(agent).get("/app/loja-azul/?channel=umbler").text
    assert "Família Souza" in page and "Ana Souza" not in page
    row = page.split(f'data-id="{world["group"].pk}"')[1].split("</li>")[0]
    assert "avatar-group" in row
    assert 'class="badge row-group" >' in row or 'class="badge row-group">' in row


def test_a_supervisor_sees_every_queue_and_filters_by_queue_and_search(
    company, supervisor, client_for, world
):
    client = client_for(supervisor)
    page = client.get("/app/loja-azul/").text
    assert "Ana Souza" in page and "Beto Lima" in page
    page = client.get(f"/app/loja-azul/?queue={world['support'].pk}").text
    assert "Beto Lima" in page and "Ana Souza" not in page
    make_message(world["theirs"], "o boleto venceu ontem")
    page = client.get("/app/loja-azul/?q=boleto").text
    assert "Beto Lima" in page and "Ana Souza" not in page
    page = client.get("/app/loja-azul/?q=912345678").text
    assert "Ana Souza" in page and "Beto Lima" not in page


def test_tabs_split_waiting_open_mine_and_resolved(company, agent, client_for, world):
    Ticket.objects.filter(pk=world["mine"].pk).update(status="open", assignee=agent)
    Ticket.objects.filter(pk=world["group"].pk).update(status="resolved")
    client = client_for(agent)
    assert "Ana Souza" not in client.get("/app/loja-azul/?status=pending").text
    assert "Ana Souza" in client.get("/app/loja-azul/?status=mine").text
    assert "Ana Souza" in client.get("/app/loja-azul/?status=open").text
    resolved = client.get("/app/loja-azul/?status=resolved").text
    assert "Família Souza" in resolved and "Ana Souza" not in resolved


def test_the_inbox_row_shows_the_last_public_message_as_preview(company, agent, client_for, world):
    make_message(world["mine"], "primeira")
    make_message(
        world["mine"], "segredo interno", is_private=True, direction="out", sender_type="agent"
    )
    page = client_for(agent).get("/app/loja-azul/").text
    row = page.split(f'data-id="{world["mine"].pk}"')[1].split("</li>")[0]
    assert "primeira" in row and "segredo" not in row


def test_the_inbox_query_count_does_not_grow_with_the_rows(
    company, agent, client_for, world, django_assert_max_num_queries
):
    client = client_for(agent)
    client.get("/app/loja-azul/")
    for _ in range(10):
        make_ticket(company, queue=world["sales"])
    with django_assert_max_num_queries(14):
        client.get("/app/loja-azul/")


def test_the_ticket_page_interleaves_messages_and_timeline_and_tells_senders_apart(
    company, agent, client_for, world
):
    ticket = world["mine"]
    now = timezone.now()
    make_message(ticket, "Oi, meu pedido não chegou", created_at=now - timedelta(minutes=5))
    TicketEvent.objects.create(
        company=company,
        ticket=ticket,
        kind="assigned",
        actor=agent,
        data={"to": agent.pk, "to_name": "Agent"},
    )
    TicketEvent.objects.filter(ticket=ticket).update(created_at=now - timedelta(minutes=4))
    make_message(
        ticket,
        "Vou verificar",
        direction="out",
        sender_type="agent",
        sender_user=agent,
        delivery_status="delivered",
        created_at=now - timedelta(minutes=3),
    )
    make_message(
        ticket,
        "cliente VIP",
        direction="out",
        sender_type="agent",
        is_private=True,
        delivery_status="delivered",
        created_at=now - timedelta(minutes=2),
    )
    make_message(
        ticket,
        "",
        content_type="audio",
        created_at=now - timedelta(minutes=1),
        attachments=[{"url": "https://cdn.example/a.ogg", "kind": "audio"}],
        transcription="quero cancelar",
    )
    make_message(
        ticket,
        "foto",
        content_type="image",
        created_at=now,
        attachments=[
            {"url": "https://cdn.example/p.jpg", "kind": "image"},
            {"url": "https://cdn.example/nota.pdf", "kind": "file", "filename": "nota.pdf"},
        ],
    )
    page = client_for(agent).get(f"/app/loja-azul/tickets/{ticket.number}/").text
    order = [
        page.index(s)
        for s in (
            "meu pedido",
            "atribuiu o chamado",  # the timeline, in the company's pt-BR
            "Vou verificar",
            "cliente VIP",
            "quero cancelar",
        )
    ]
    assert order == sorted(order)
    assert 'class="msg msg-in msg-contact"' in page
    assert "msg msg-out msg-agent msg-note" in page
    assert (
        '<audio class="msg-audio" controls preload="none" src="https://cdn.example/a.ogg">' in page
    )
    assert '<img class="msg-image" src="https://cdn.example/p.jpg"' in page
    assert 'href="https://cdn.example/nota.pdf"' in page and "nota.pdf" in page
    assert 'class="ticks" data-status="delivered"' in page


def test_an_agent_cannot_open_another_queues_ticket_nor_its_items(
    company, agent, client_for, world
):
    client = client_for(agent)
    number = world["theirs"].number
    assert client.get(f"/app/loja-azul/tickets/{number}/").status_code == 404
    assert client.get(f"/app/loja-azul/tickets/{number}/items/").status_code == 404
    assert client.post(f"/app/loja-azul/tickets/{number}/read/").status_code == 404


def test_the_items_endpoint_returns_what_came_after_the_cursors(company, agent, client_for, world):
    ticket = world["mine"]
    first = make_message(ticket, "um")
    make_message(ticket, "dois")
    data = (
        client_for(agent)
        .get(
            f"/app/loja-azul/tickets/{ticket.number}/items/?after_m={first.pk}&after_e=0&refresh={first.pk},x"
        )
        .json()
    )
    assert [i["key"] for i in data["items"]] == [f"m{first.pk + 1}"]
    assert "dois" in data["items"][0]["html"]
    assert "um" in data["refreshed"][str(first.pk)]
    assert data["status"] == "pending" and "Atribuir a mim" in data["panel"]


@pytest.mark.parametrize("junk", ["²", "٣", "9" * 30, "-1", " "])
def test_junk_cursors_and_filters_are_ignored_never_a_500(company, agent, client_for, world, junk):
    ticket = world["mine"]
    client = client_for(agent)
    url = f"/app/loja-azul/tickets/{ticket.number}/items/"
    response = client.get(url, {"after_m": junk, "after_e": junk, "refresh": f"{junk},1"})
    assert response.status_code == 200
    assert client.get("/app/loja-azul/", {"queue": junk, "channel": junk}).status_code == 200


def test_opening_a_ticket_marks_it_read(
    company, agent, client_for, world, django_capture_on_commit_callbacks
):
    ticket = world["mine"]
    Ticket.objects.filter(pk=ticket.pk).update(unread_count=3)
    client = client_for(agent)
    with django_capture_on_commit_callbacks() as callbacks:
        assert client.post(f"/app/loja-azul/tickets/{ticket.number}/read/").json() == {
            "changed": True
        }
    assert len(callbacks) == 1  # one ticket.read event, after commit
    ticket.refresh_from_db()
    assert ticket.unread_count == 0
    assert client.post(f"/app/loja-azul/tickets/{ticket.number}/read/").json() == {"changed": False}


def test_the_sound_preference_is_remembered_per_user(company, agent, client_for):
    client = client_for(agent)
    assert 'data-sound="on"' in client.get("/app/loja-azul/").text
    response = client.post(
        "/app/loja-azul/inbox/sound/", {"enabled": "0"}, HTTP_ACCEPT="application/json"
    )
    assert response.json() == {"sound": False}
    agent.refresh_from_db()
    assert agent.sound_enabled is False
    assert 'data-sound="off"' in client.get("/app/loja-azul/").text
    assert client.get("/app/loja-azul/inbox/sound/").status_code == 405


def test_an_outsider_gets_404_on_the_inbox_and_ticket_pages(company, outsider, client_for, world):
    client = client_for(outsider)
    number = world["mine"].number
    for url in (
        "/app/loja-azul/",
        f"/app/loja-azul/tickets/{number}/",
        f"/app/loja-azul/tickets/{number}/items/",
    ):
        assert client.get(url).status_code == 404
    for url in (
        f"/app/loja-azul/tickets/{number}/reply/",
        f"/app/loja-azul/tickets/{number}/act/",
        "/app/loja-azul/inbox/sound/",
    ):
        assert client.post(url, {"content": "x", "action": "accept"}).status_code == 404


def test_a_reply_from_the_composer_is_stored_pending_and_sent_after_commit(
    company, agent, client_for, world, django_capture_on_commit_callbacks
):
    from unittest import mock

    ticket = world["mine"]
    url = f"/app/loja-azul/tickets/{ticket.number}/reply/"
    with (
        mock.patch("integrations.tasks.send_message.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(agent).post(
            url,
            {"content": "Já estou verificando", "mode": "reply"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 200
    message = ticket.messages.get()
    assert message.direction == "out" and message.delivery_status == "pending"
    assert message.sender_user == agent and not message.is_private
    assert (
        response.json()["key"] == f"m{message.pk}"
        and "Já estou verificando" in response.json()["html"]
    )
    delay.assert_called_once_with(company.pk, message.pk)


def test_a_private_note_is_never_sent(
    company, agent, client_for, world, django_capture_on_commit_callbacks
):
    from unittest import mock

    ticket = world["mine"]
    with (
        mock.patch("integrations.tasks.send_message.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(agent).post(
            f"/app/loja-azul/tickets/{ticket.number}/reply/",
            {"content": "cliente pediu desconto", "mode": "note"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 200
    assert ticket.messages.get().is_private is True
    assert "msg-note" in response.json()["html"]
    delay.assert_not_called()


def test_an_empty_reply_is_a_clear_400(company, agent, client_for, world):
    response = client_for(agent).post(
        f"/app/loja-azul/tickets/{world['mine'].number}/reply/",
        {"content": "  "},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400 and response.json()["error"]
    assert not world["mine"].messages.exists()


def test_assign_to_me_from_the_ticket_page_takes_the_ticket(company, agent, client_for, world):
    ticket = world["mine"]
    client = client_for(agent)
    response = client.post(f"/app/loja-azul/tickets/{ticket.number}/act/", {"action": "accept"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == "open"
    page = client.get(response["Location"]).text
    assert "Assign to me" not in page


def test_the_second_agent_to_accept_is_told_who_has_the_ticket(company, agent, client_for, world):
    colleague = make_member(company, "colleague@azul.test", Role.AGENT)
    world["sales"].members.add(colleague)
    ticket = world["mine"]
    url = f"/app/loja-azul/tickets/{ticket.number}/act/"
    client_for(agent).post(url, {"action": "accept"})
    late = client_for(colleague)
    response = late.post(url, {"action": "accept"}, follow=True)
    ticket.refresh_from_db()
    assert ticket.assignee == agent  # no double assignment
    flashes = [str(m) for m in response.context["messages"]]
    assert len(flashes) == 1 and "flash-error" in response.text
    assert agent.display_name in flashes[0] or "#" in flashes[0]


def test_a_transfer_out_of_the_agents_queues_goes_back_to_the_inbox(
    company, agent, client_for, world
):
    ticket = world["mine"]
    response = client_for(agent).post(
        f"/app/loja-azul/tickets/{ticket.number}/act/",
        {"action": "transfer", "queue": world["support"].pk, "note": "é com o suporte"},
    )
    assert response.status_code == 302 and response["Location"] == "/app/loja-azul/"
    ticket.refresh_from_db()
    assert ticket.queue == world["support"] and ticket.status == "pending"
    assert ticket.events.get(kind="transferred").note == "é com o suporte"


def test_a_bad_action_or_queue_is_a_message_not_a_500(company, agent, client_for, world):
    client = client_for(agent)
    url = f"/app/loja-azul/tickets/{world['mine'].number}/act/"
    for data in (
        {"action": "explode"},
        {"action": "transfer", "queue": "999999"},
        {"action": "assign", "assignee": "abc"},
        {"action": "priority", "priority": "x"},
    ):
        response = client.post(url, data, follow=True)
        assert response.status_code == 200
        assert "flash-error" in response.text, data


def test_the_composer_finds_quick_replies_by_shortcut(company, agent, client_for, world):
    from tickets.models import QuickReply

    QuickReply.objects.create(company=company, shortcut="ola", content="Olá! Como posso ajudar?")
    QuickReply.objects.create(company=company, shortcut="obrigado", content="Obrigado pelo contato")
    QuickReply.objects.create(company=company, shortcut="pix", content="Nossa chave PIX é ...")
    data = client_for(agent).get("/app/loja-azul/inbox/quick-replies/?q=/o").json()
    assert [r["shortcut"] for r in data["results"]] == ["obrigado", "ola"]
