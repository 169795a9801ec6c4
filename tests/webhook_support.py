"""Helpers for webhook tests: integrations with secrets, signed requests, fixture files."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.test import Client
from twilio.request_validator import RequestValidator

from integrations.models import Integration
from tenants.models import Company

SHARED_FIXTURES = Path("/work/shared/fixtures")
LOCAL_FIXTURES = Path(__file__).parent / "fixtures"
CHATWOOT_SECRET = "chatwoot-test-secret-9f8e7d"
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"  # the reconstructed fixtures' token
UMBLER_TOKEN = "umbler-test-token-1234"
PUBLIC_BASE = "https://helpdesk.example.com"


def fixture_path(name: str) -> Path:
    shared = SHARED_FIXTURES / name
    return shared if shared.exists() else LOCAL_FIXTURES / name


def load_fixture(name: str) -> Any:
    return json.loads(fixture_path(name).read_text(encoding="utf-8"))


def make_integration(
    company: Company,
    kind: str,
    *,
    public_id: str | None = None,
    secrets: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
    name: str = "",
) -> Integration:
    integration = Integration(company=company, kind=kind, name=name or kind.title())
    if public_id:
        integration.public_id = public_id
    if secrets is None:
        secrets = {
            "chatwoot": {"webhook_secret": CHATWOOT_SECRET},
            "twilio": {"auth_token": TWILIO_TOKEN},
            "umbler": {"url_token": UMBLER_TOKEN},
        }[kind]
    integration.set_secrets(secrets)
    integration.settings = settings or {}
    integration.save()
    return integration


def chatwoot_headers(
    body: bytes, *, secret: str = CHATWOOT_SECRET, delivery: str = "", timestamp: int | None = None
) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {
        "HTTP_X_CHATWOOT_SIGNATURE": f"sha256={digest}",
        "HTTP_X_CHATWOOT_TIMESTAMP": ts,
    }
    if delivery:
        headers["HTTP_X_CHATWOOT_DELIVERY"] = delivery
    return headers


def post_chatwoot(
    client: Client,
    integration: Integration,
    payload: dict[str, Any] | bytes,
    *,
    delivery: str = "",
    secret: str = CHATWOOT_SECRET,
    content_type: str = "application/json",
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.generic(
        "POST",
        integration.webhook_path(),
        body,
        content_type=content_type,
        **chatwoot_headers(body, secret=secret, delivery=delivery),
    )


def twilio_signature(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_twilio(
    client: Client,
    integration: Integration,
    params: dict[str, str],
    *,
    token: str = TWILIO_TOKEN,
    signature: str | None = None,
) -> Any:
    """Post a form signed for the public URL (settings.PUBLIC_BASE_URL must be PUBLIC_BASE)."""
    url = f"{PUBLIC_BASE}{integration.webhook_path()}"
    body = urlencode(params)
    return client.generic(
        "POST",
        integration.webhook_path(),
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature or twilio_signature(url, params, token),
    )


def post_umbler(
    client: Client,
    integration: Integration,
    payload: dict[str, Any] | bytes,
    *,
    token: str = UMBLER_TOKEN,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.generic(
        "POST", f"{integration.webhook_path()}?token={token}", body, content_type="application/json"
    )


def post_umbler_form(client: Client, integration: Integration, params: dict[str, str]) -> Any:
    return client.generic(
        "POST",
        integration.webhook_path(),
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
    )


def chatwoot_message(
    *,
    message_id: int,
    conversation_id: int = 501,
    content: str = "Oi, tudo bem?",
    message_type: str = "incoming",
    contact_id: int = 77,
    phone: str = "+5511987654321",
    name: str = "Ana Cliente",
    sender: dict[str, Any] | None = None,
    private: bool = False,
    content_attributes: dict[str, Any] | None = None,
    identifier: str | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """A Chatwoot ``message_created`` body shaped like the real captures."""
    contact = {
        "id": contact_id,
        "name": name,
        "phone_number": phone,
        "email": None,
        "identifier": identifier,
        "thumbnail": "",
        "type": "contact",
    }
    return {
        "event": "message_created",
        "id": message_id,
        "content": content,
        "content_type": "text",
        "content_attributes": content_attributes or {},
        "message_type": message_type,
        "private": private,
        "created_at": created_at or datetime.now(UTC).isoformat(),
        "account": {"id": 1, "name": "Loja"},
        "inbox": {"id": 3, "name": "WhatsApp"},
        "sender": sender
        if sender is not None
        else {k: v for k, v in contact.items() if k != "type"},
        "conversation": {
            "id": conversation_id,
            "channel": "Channel::Api",
            "meta": {"sender": contact, "assignee": None},
        },
    }
