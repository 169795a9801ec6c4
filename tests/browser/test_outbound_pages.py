"""The integrations page and the plain conversation thread in a real browser: an admin
connects Chatwoot and copies the webhook URL; an agent replies and sees it sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conversations.models import Message
from integrations.models import Integration
from integrations.tasks import send_message
from tenants.models import Role
from tests.browser.conftest import in_thread
from tests.browser.test_live_inbox import context_for
from tests.conftest import make_member
from tests.integrations.outbound_rows import make_conversation, make_message, make_ticket
from tickets.models import Queue

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

SECRET = "cw-browser-secret-token-0042"


@pytest.fixture
def fake_chatwoot() -> Iterator[Any]:
    from tests.fakes.platforms import FakeChatwoot

    with FakeChatwoot(api_token=SECRET) as server:
        yield server


def test_an_admin_connects_chatwoot_and_sees_the_webhook_url_but_never_the_secret(
    company: Any, admin_user: Any, browser: Any, live_app: str, shots: Any
) -> None:
    context = context_for(browser, live_app, admin_user)
    page = context.new_page()
    page.goto(f"{live_app}/app/loja-azul/integrations/")
    shots(page, "empty-list")
    page.click('text="Adicionar integração"')  # pt-BR, the company's language
    page.select_option("select[name=kind]", "chatwoot")
    page.click("main form button[type=submit]")
    page.fill("input[name=name]", "Chatwoot suporte")
    page.fill("input[name=setting_base_url]", "https://chat.example.com")
    page.fill("input[name=setting_account_id]", "3")
    page.fill("input[name=secret_api_token]", SECRET)
    shots(page, "form-filled")
    page.click("form.integration-form button[type=submit]")
    page.wait_for_selector("#webhook-url")
    integration = Integration.objects.get()
    assert integration.get_secrets() == {"api_token": SECRET}
    url = page.input_value("#webhook-url")
    assert url.endswith(f"/webhooks/chatwoot/{integration.public_id}/")
    assert SECRET not in page.content()
    assert page.get_attribute("input[name=secret_api_token]", "placeholder")
    shots(page, "saved")
    page.goto(f"{live_app}/app/loja-azul/integrations/")
    assert page.is_visible(f"button[data-copy=webhook-{integration.pk}]")
    assert SECRET not in page.content()
    shots(page, "list")
    context.close()


def test_an_agent_replies_in_the_thread_and_sees_it_sent(
    company: Any, browser: Any, live_app: str, shots: Any, fake_chatwoot: Any
) -> None:
    agent = make_member(company, "ana.agente@azul.test", Role.AGENT)
    queue = Queue.objects.create(company=company, name="Vendas")
    queue.members.add(agent)
    integration = Integration(company=company, kind="chatwoot", name="Chatwoot")
    integration.settings = {"base_url": fake_chatwoot.base_url, "account_id": "1"}
    integration.set_secrets({"api_token": SECRET})
    integration.save()
    conversation = make_conversation(integration, name="Maria Cliente", external_id="77")
    ticket = make_ticket(conversation, queue=queue)
    make_message(conversation, ticket=ticket, content="Meu pedido não chegou")
    context = context_for(browser, live_app, agent)
    page = context.new_page()
    page.goto(f"{live_app}/app/loja-azul/conversations/")
    page.click("text=Maria Cliente")
    page.fill("textarea[name=content] >> nth=0", "Vou verificar agora mesmo!")
    page.click('text="Enviar"')
    page.wait_for_selector("li.msg.out[data-status=pending]")
    shots(page, "pending")
    message = Message.objects.get(direction="out")
    assert in_thread(send_message, company.pk, message.pk) == "sent"
    assert fake_chatwoot.requests[0].json["content"] == "Vou verificar agora mesmo!"
    page.reload()
    page.wait_for_selector("li.msg.out[data-status=sent]")
    shots(page, "sent")
    context.close()
