"""The requester's "My tickets" page in a real browser: the agent's reply and status
changes appear without reload, a private note never does, the requester writes without
reload, and what was said while the socket was cut shows up when it comes back."""

from __future__ import annotations

import time
from typing import Any

import pytest

from conversations.services.outbound import message_send, note_add
from tenants.models import Role
from tests.browser.conftest import in_thread
from tests.browser.pages import SocketCutter, connected, context_for
from tests.conftest import make_member
from tickets.models import Queue, Ticket
from tickets.services import actions, webform

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def request_world(company: Any) -> dict[str, Any]:
    requester = make_member(company, "pedro.solicitante@azul.test", Role.AGENT)
    agent = make_member(company, "ana.suporte@azul.test", Role.AGENT)
    support = Queue.objects.create(company=company, name="Suporte", is_default=True)
    support.members.add(agent)
    ticket = webform.web_ticket_open(
        company=company,
        actor=requester,
        request=webform.WebRequest(
            title="Impressora do 3º andar", description="Não imprime desde ontem", complexity="low"
        ),
    )
    return {"requester": requester, "agent": agent, "ticket": ticket}


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def test_the_requester_follows_the_request_live_and_chats_without_reload(
    live_app: str, browser: Any, request_world: dict, shots: Any
) -> None:
    ticket, agent = request_world["ticket"], request_world["agent"]
    context = context_for(browser, live_app, request_world["requester"])
    page = context.new_page()
    page.goto(f"{live_app}/app/loja-azul/my-tickets/{ticket.number}/")
    connected(page)
    page.evaluate("window.__noReload = true")
    assert page.get_attribute("[data-status]", "data-status") == "pending"
    shots(page, "request-opened")

    in_thread(actions.ticket_accept, ticket=fresh(ticket), actor=agent)
    page.wait_for_selector('[data-status="open"]', timeout=10000)
    page.wait_for_selector('[data-facts] >> text="Ana.Suporte"', timeout=10000)
    in_thread(
        note_add, ticket=fresh(ticket), content="nota interna: usuário insistente", actor=agent
    )
    in_thread(message_send, ticket=fresh(ticket), content="Olá Pedro, já vou olhar.", actor=agent)
    page.wait_for_selector('.wf-msg.wf-out >> text="Olá Pedro, já vou olhar."', timeout=10000)
    assert "usuário insistente" not in page.content()
    shots(page, "agent-replied")

    page.fill("#chat-form textarea", "Obrigado! Fico no aguardo.")
    page.click("#chat-form button[type=submit]")
    page.wait_for_selector('.wf-msg.wf-in >> text="Obrigado! Fico no aguardo."', timeout=10000)
    assert page.input_value("#chat-form textarea") == ""
    assert ticket.conversation.messages.filter(content="Obrigado! Fico no aguardo.").count() == 1
    # An empty message is refused on the page, with no request.
    page.click("#chat-form button[type=submit]")
    assert page.locator(".wf-msg", has_text="Obrigado! Fico no aguardo.").count() == 1

    in_thread(actions.ticket_resolve, ticket=fresh(ticket), actor=agent)
    page.wait_for_selector('[data-status="resolved"]', timeout=10000)
    assert page.evaluate("window.__noReload") is True  # never reloaded
    shots(page, "resolved-live")
    context.close()


def test_a_reply_sent_while_the_socket_was_cut_shows_up_when_it_comes_back(
    live_app: str, browser: Any, request_world: dict, shots: Any
) -> None:
    ticket, agent = request_world["ticket"], request_world["agent"]
    context = context_for(browser, live_app, request_world["requester"])
    page = context.new_page()
    cutter = SocketCutter(page)
    page.goto(f"{live_app}/app/loja-azul/my-tickets/{ticket.number}/")
    connected(page)

    context.set_offline(True)
    cutter.cut()
    page.wait_for_selector('#live-status[data-state="offline"]')
    in_thread(message_send, ticket=fresh(ticket), content="Resposta enquanto offline", actor=agent)
    time.sleep(0.5)
    assert page.locator(".wf-msg", has_text="Resposta enquanto offline").count() == 0
    shots(page, "offline")

    cutter.restore()
    context.set_offline(False)
    connected(page)
    page.wait_for_selector('.wf-msg.wf-out >> text="Resposta enquanto offline"', timeout=10000)
    shots(page, "caught-up")
    context.close()


def test_the_list_of_my_tickets_follows_their_status_without_reload(
    live_app: str, browser: Any, request_world: dict, shots: Any
) -> None:
    ticket, agent = request_world["ticket"], request_world["agent"]
    context = context_for(browser, live_app, request_world["requester"])
    page = context.new_page()
    page.goto(f"{live_app}/app/loja-azul/my-tickets/")
    connected(page)
    page.evaluate("window.__noReload = true")
    status = f'tr[data-ticket="{ticket.number}"] [data-status]'
    assert page.get_attribute(status, "data-status") == "pending"

    in_thread(actions.ticket_accept, ticket=fresh(ticket), actor=agent)
    page.wait_for_selector(f'tr[data-ticket="{ticket.number}"] [data-status="open"]', timeout=10000)
    in_thread(actions.ticket_resolve, ticket=fresh(ticket), actor=agent)
    page.wait_for_selector(
        f'tr[data-ticket="{ticket.number}"] [data-status="resolved"]', timeout=10000
    )
    assert page.evaluate("window.__noReload") is True
    shots(page, "list-live")
    context.close()
