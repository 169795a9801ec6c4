"""seed_demo step: one integration of each kind for the demo company, and a default queue.

``--json`` lists, per integration, what a sender needs: the webhook URL and the
secret/token it must sign or authenticate with."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings

from integrations.models import Integration, IntegrationKind
from tenants.management.commands.seed_demo import seed_steps
from tenants.models import Company
from tickets.models import Queue

DEFAULT_BASE = "http://127.0.0.1:8000"

# name, settings, the secret a sender uses (the key of the secrets dict), other secrets
DEMO_INTEGRATIONS: dict[str, tuple[str, dict[str, str], str, tuple[str, ...]]] = {
    IntegrationKind.CHATWOOT: (
        "Chatwoot demo",
        {"base_url": "http://127.0.0.1:3000", "account_id": "1"},
        "webhook_secret",
        ("api_token",),
    ),
    IntegrationKind.TWILIO: (
        "WhatsApp (Twilio) demo",
        {"account_sid": "AC" + "0" * 32, "phone_number": "+14155238886"},
        "auth_token",
        (),
    ),
    IntegrationKind.UMBLER: (
        "Umbler Talk demo",
        {"organization_id": "demo-org", "phone_number": "+5511955550000"},
        "url_token",
        ("api_token",),
    ),
    IntegrationKind.WEB: ("Web form", {}, "", ()),
}


def _webhook_url(integration: Integration) -> str:
    base = settings.PUBLIC_BASE_URL or DEFAULT_BASE
    return f"{base}{integration.webhook_path()}"


def seed_integrations(company: Company, out: dict[str, Any]) -> None:
    """Create what is missing (by kind); never rotate secrets of existing integrations."""
    out["integrations"] = []
    for kind, (name, config, sender_secret, other_secrets) in DEMO_INTEGRATIONS.items():
        integration = (
            Integration.objects.for_company(company).filter(kind=kind).order_by("id").first()
        )
        if integration is None:
            integration = Integration(company=company, kind=kind, name=name, settings=config)
            generated = {
                key: secrets.token_urlsafe(24) for key in (sender_secret, *other_secrets) if key
            }
            integration.set_secrets(generated)
            integration.save()
        entry: dict[str, Any] = {
            "id": integration.pk,
            "kind": kind,
            "name": integration.name,
            "public_id": integration.public_id,
            "webhook_url": _webhook_url(integration),
        }
        if sender_secret:
            entry["secret_name"] = sender_secret
            entry["secret"] = integration.get_secrets().get(sender_secret, "")
        out["integrations"].append(entry)
    if not Queue.objects.for_company(company).exists():
        Queue.objects.create(company=company, name="Atendimento", is_default=True)
    out["queues"] = list(Queue.objects.for_company(company).values("id", "name", "is_default"))


if seed_integrations not in seed_steps:
    seed_steps.append(seed_integrations)
