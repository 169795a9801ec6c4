"""The browser side of the realtime layer, independent of any platform: a ticket event
published by a service updates an open inbox and ticket page without reload."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from conversations import realtime
from tests.browser.conftest import in_thread
from tests.browser.pages import connected, context_for, row
from tests.tickets.live_factories import make_message, make_queue, make_ticket

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_a_published_ticket_event_updates_the_inbox_and_the_ticket_page(
    live_app: str, browser: Any, company: Any, agent: Any, shots: Any
) -> None:
    queue = make_queue(company, "Vendas", agent)
    ticket = make_ticket(company, queue=queue, name="Fernanda Live")
    context = context_for(browser, live_app, agent)
    inbox = context.new_page()
    inbox.goto(f"{live_app}/app/loja-azul/")
    connected(inbox)
    assert row(inbox, "Fernanda Live").count() == 1
    page = context.new_page()
    page.goto(f"{live_app}/app/loja-azul/tickets/{ticket.number}/")
    connected(page)

    def new_message() -> None:
        with transaction.atomic():
            message = make_message(ticket, "Chegou a segunda via?")
            ticket.unread_count = 1
            ticket.save()
            realtime.message_changed(message, "message.created")

    in_thread(new_message)

    page.wait_for_selector(".msg-in >> text=Chegou a segunda via?", timeout=10000)
    inbox.wait_for_function(
        "document.querySelector('.ticket-row .row-preview').textContent.includes('segunda via')"
    )
    assert inbox.evaluate("window.__atendeSoundPlays") == 1
    shots(inbox, "inbox-updated")
    shots(page, "ticket-updated")

    def resolve() -> None:
        with transaction.atomic():
            ticket.status = "resolved"
            ticket.save()
            realtime.ticket_changed(ticket, "ticket.status")

    in_thread(resolve)
    row(inbox, "Fernanda Live").wait_for(state="detached", timeout=10000)
    page.wait_for_selector('#ticket-panel [data-status="resolved"]', timeout=10000)
    context.close()
