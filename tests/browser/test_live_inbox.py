"""The live helpdesk in a real browser: webhooks appear without reload, replies reach the
platform, transfers move tickets between live views, and a cut websocket catches up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from conversations.models import Message
from tenants.models import Role
from tests.browser.conftest import in_thread, wait_until
from tests.browser.pages import (
    WEBHOOK_SECRET,
    SocketCutter,
    connected,
    context_for,
    count,
    login_with_form,
    post_webhook,
    row,
)
from tests.conftest import make_member
from tickets.models import Queue, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def fake_chatwoot() -> Iterator[Any]:
    from tests.fakes.platforms import FakeChatwoot

    with FakeChatwoot(api_token="cw-token") as server:
        yield server


@pytest.fixture
def shop(company: Any, fake_chatwoot: Any) -> dict[str, Any]:
    from integrations.models import Integration

    sales_agent = make_member(company, "ana.agente@azul.test", Role.AGENT)
    support_agent = make_member(company, "bruno.suporte@azul.test", Role.AGENT)
    sales = Queue.objects.create(company=company, name="Vendas", is_default=True, color="#0f766e")
    sales.members.add(sales_agent)
    support = Queue.objects.create(company=company, name="Suporte", color="#175cd3")
    support.members.add(support_agent)
    integration = Integration(company=company, kind="chatwoot", name="Chatwoot")
    integration.settings = {"base_url": fake_chatwoot.base_url, "account_id": "1"}
    integration.set_secrets({"webhook_secret": WEBHOOK_SECRET, "api_token": "cw-token"})
    integration.save()
    return {
        "company": company,
        "sales_agent": sales_agent,
        "support_agent": support_agent,
        "sales": sales,
        "support": support,
        "integration": integration,
    }


def test_a_webhook_appears_live_with_counts_and_sound_and_the_reply_reaches_the_platform(
    live_app: str, browser: Any, shop: dict, fake_chatwoot: Any, shots: Any
) -> None:
    from integrations.tasks import send_message

    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    page = context.new_page()
    login_with_form(page, live_app, "ana.agente@azul.test")
    connected(page)
    assert count(page, "pending") == "0"
    shots(page, "inbox-empty")

    post_webhook(
        live_app, shop["integration"], conversation=501, content="Oi! Meu pedido 4521 atrasou"
    )

    new_row = row(page, "Maria Cliente")
    new_row.wait_for(timeout=10000)
    assert "Meu pedido 4521 atrasou" in new_row.inner_text()
    page.wait_for_function(
        "document.querySelector('.tabs [data-count=pending]').textContent === '1'"
    )
    assert page.locator('[data-count="unread"]').inner_text() == "1"
    assert page.evaluate("window.__atendeSoundPlays") == 1
    shots(page, "inbox-new-ticket")

    new_row.locator("a").click()
    page.wait_for_selector(".msg-in >> text=Meu pedido 4521 atrasou")
    connected(page)
    page.fill("#composer textarea", "Olá Maria, vou verificar agora mesmo.")
    page.click("#composer button[type=submit]")
    reply = page.locator(".msg-out", has_text="vou verificar agora mesmo")
    reply.wait_for()
    assert reply.locator(".ticks").get_attribute("data-status") == "pending"

    message = wait_until(
        lambda: Message.objects.filter(direction="out", content__contains="vou verificar").first()
    )
    in_thread(send_message, shop["company"].pk, message.pk)  # the Celery task, run here
    sent = [r for r in fake_chatwoot.requests if r.method == "POST"]
    assert len(sent) == 1 and sent[0].json["content"] == "Olá Maria, vou verificar agora mesmo."
    assert "/conversations/501/messages" in sent[0].path
    # The delivery status travels back to the page.
    page.wait_for_selector('.msg-out .ticks[data-status="sent"]', timeout=10000)
    shots(page, "ticket-replied")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    shots(page, "ticket-on-a-phone")
    page.goto(f"{live_app}/app/loja-azul/")
    shots(page, "inbox-on-a-phone")
    context.close()


def test_a_transfer_leaves_this_agents_view_and_appears_live_for_the_other_queue(
    live_app: str, browser: Any, shop: dict, shots: Any
) -> None:
    post_webhook(
        live_app,
        shop["integration"],
        conversation=601,
        content="Quero trocar o produto",
        name="Carlos Troca",
        phone="+5511976543210",
    )
    ticket = Ticket.objects.get(contact__name="Carlos Troca")
    assert ticket.queue == shop["sales"]

    ana = context_for(browser, live_app, shop["sales_agent"])
    ana_inbox = ana.new_page()
    ana_inbox.goto(f"{live_app}/app/loja-azul/")
    connected(ana_inbox)
    bruno = context_for(browser, live_app, shop["support_agent"])
    bruno_inbox = bruno.new_page()
    bruno_inbox.goto(f"{live_app}/app/loja-azul/")
    connected(bruno_inbox)
    assert row(ana_inbox, "Carlos Troca").count() == 1
    assert row(bruno_inbox, "Carlos Troca").count() == 0

    ana_ticket = ana.new_page()
    ana_ticket.goto(f"{live_app}/app/loja-azul/tickets/{ticket.number}/")
    connected(ana_ticket)
    ana_ticket.click("#transfer-box summary")
    ana_ticket.select_option("#transfer-box select[name=queue]", label="Suporte")
    ana_ticket.fill("#transfer-box textarea[name=note]", "Troca é com o suporte")
    shots(ana_ticket, "transfer-form")
    ana_ticket.click("#transfer-box button[type=submit]")
    ana_ticket.wait_for_url(f"{live_app}/app/loja-azul/")  # no longer hers: back to the inbox

    row(bruno_inbox, "Carlos Troca").wait_for(timeout=10000)
    row(ana_inbox, "Carlos Troca").wait_for(state="detached", timeout=10000)
    bruno_inbox.wait_for_function(
        "document.querySelector('.tabs [data-count=pending]').textContent === '1'"
    )
    ana_inbox.wait_for_function(
        "document.querySelector('.tabs [data-count=pending]').textContent === '0'"
    )
    shots(ana_inbox, "old-queue-after-transfer")
    shots(bruno_inbox, "new-queue-after-transfer")

    bruno_inbox.locator(".ticket-row a", has_text="Carlos Troca").click()
    bruno_inbox.wait_for_selector(".timeline-event >> text=Troca é com o suporte")
    shots(bruno_inbox, "ticket-timeline-transfer-note")
    ana.close()
    bruno.close()


def test_events_sent_while_the_websocket_was_cut_are_shown_after_it_comes_back(
    live_app: str, browser: Any, shop: dict, shots: Any
) -> None:
    context = context_for(browser, live_app, shop["sales_agent"])
    page = context.new_page()
    cutter = SocketCutter(page)
    page.goto(f"{live_app}/app/loja-azul/")
    connected(page)

    # Cut: no network for the page, and its socket closed (and refused until restored).
    context.set_offline(True)
    cutter.cut()
    page.wait_for_selector('#live-status[data-state="offline"]')
    shots(page, "offline")

    post_webhook(
        live_app,
        shop["integration"],
        conversation=701,
        content="Alguém aí?",
        name="Diana Offline",
        phone="+5511965432109",
    )
    post_webhook(
        live_app,
        shop["integration"],
        conversation=702,
        content="Preciso de um orçamento",
        name="Eduardo Offline",
        phone="+5511954321098",
    )
    time.sleep(0.5)
    assert row(page, "Diana Offline").count() == 0

    cutter.restore()
    context.set_offline(False)
    connected(page)
    opened = cutter.opened
    row(page, "Diana Offline").wait_for(timeout=10000)
    row(page, "Eduardo Offline").wait_for(timeout=10000)
    page.wait_for_function(
        "document.querySelector('.tabs [data-count=pending]').textContent === '2'"
    )
    # Replayed events update the list but do not ring for old news.
    assert page.evaluate("window.__atendeSoundPlays") == 0
    shots(page, "caught-up")
    # Coming back online while a retry was pending opened one socket, not two (the retry
    # waits up to 4 s after the attempts made while cut).
    page.wait_for_timeout(4500)
    assert cutter.opened == opened
    assert page.get_attribute("#live-status", "data-state") == "connected"
    context.close()


def test_the_page_connects_again_by_itself_when_the_agents_queues_change(
    live_app: str, browser: Any, shop: dict, shots: Any
) -> None:
    """The server closes the agent's socket when their queues change (the websocket
    tests prove what it hears after); the page connects again at once, without reload."""
    from tickets.services.queues import queue_update

    context = context_for(browser, live_app, shop["sales_agent"])
    page = context.new_page()
    cutter = SocketCutter(page)
    page.goto(f"{live_app}/app/loja-azul/")
    connected(page)
    page.evaluate("window.__noReload = true")
    opened = cutter.opened

    in_thread(queue_update, queue=shop["sales"], actor=None, member_ids=[])
    for _ in range(100):  # Playwright routes sockets only while it has the thread
        if cutter.opened > opened:
            break
        page.wait_for_timeout(100)
    assert cutter.opened == opened + 1  # connected again, by itself, once
    connected(page)
    assert page.evaluate("window.__noReload") is True
    shots(page, "reconnected")
    context.close()
