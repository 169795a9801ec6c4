"""Helpers shared by the browser tests: signed webhooks, signed-in contexts, locators."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

import requests
from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD

WEBHOOK_SECRET = "browser-test-secret"
_ids = itertools.count(9000)


def post_webhook(
    base: str,
    integration: Any,
    *,
    conversation: int,
    content: str,
    name: str = "Maria Cliente",
    phone: str = "+5511987654321",
) -> None:
    """A signed Chatwoot ``message_created`` (incoming) posted to the live server."""
    message_id = next(_ids)
    contact = {
        "id": conversation + 1000,
        "name": name,
        "phone_number": phone,
        "email": None,
        "identifier": None,
        "thumbnail": "",
        "type": "contact",
    }
    body = json.dumps(
        {
            "event": "message_created",
            "id": message_id,
            "content": content,
            "content_type": "text",
            "content_attributes": {},
            "message_type": "incoming",
            "private": False,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "account": {"id": 1, "name": "Loja"},
            "inbox": {"id": 3, "name": "WhatsApp"},
            "sender": {k: v for k, v in contact.items() if k != "type"},
            "conversation": {
                "id": conversation,
                "channel": "Channel::Api",
                "meta": {"sender": contact, "assignee": None},
            },
        }
    ).encode()
    ts = str(int(time.time()))
    digest = hmac.new(
        WEBHOOK_SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    response = requests.post(
        base + integration.webhook_path(),
        data=body,
        timeout=10,
        headers={
            "Content-Type": "application/json",
            "X-Chatwoot-Signature": f"sha256={digest}",
            "X-Chatwoot-Timestamp": ts,
        },
    )
    assert response.status_code == 200, response.text


def login_with_form(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/app/loja-azul/")


def context_for(browser: Any, base: str, user: Any) -> Any:
    """A browser context already signed in as ``user`` (session cookie of a forced login)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            }
        ]
    )
    return context


def connected(page: Any) -> None:
    page.wait_for_selector('#live-status[data-state="connected"]', timeout=10000)


def row(page: Any, name: str) -> Any:
    return page.locator(".ticket-row", has_text=name)


def count(page: Any, key: str) -> str:
    return page.locator(f'.tabs [data-count="{key}"]').inner_text()


class SocketCutter:
    """The page's websockets routed through Playwright so a test can cut them when it
    wants, whatever the browser does with its own network emulation: going offline
    (``context.set_offline``) races with closing a socket that is already open (the close
    frame can be held back, and the page then believes it is connected for a minute).

    ``cut()`` closes every routed socket at once and refuses new ones, ``restore()``
    lets them through again; ``opened`` counts the connections that reached the server.
    Call it before the page loads (only sockets opened after routing are routed)."""

    def __init__(self, page: Any) -> None:
        self.refusing = False
        self.opened = 0
        self._open: list[Any] = []
        page.route_web_socket(lambda url: "/ws/" in url, self._route)

    def _route(self, ws: Any) -> None:
        if self.refusing:
            ws.close()
            return
        server = ws.connect_to_server()
        self.opened += 1
        self._open.append((ws, server))

    def cut(self) -> None:
        self.refusing = True
        for ws, server in self._open:
            server.close()
            ws.close()
        self._open.clear()

    def restore(self) -> None:
        self.refusing = False
