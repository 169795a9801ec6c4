"""seed_demo creates one integration of each kind and prints what senders need."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from integrations.models import Integration
from tickets.models import Queue

pytestmark = pytest.mark.django_db


def seed() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_seed_demo_creates_each_kind_once_with_its_sender_secret(settings) -> None:
    settings.PUBLIC_BASE_URL = ""
    first = seed()
    by_kind = {i["kind"]: i for i in first["integrations"]}
    assert set(by_kind) == {"chatwoot", "twilio", "umbler", "web"}
    for kind, secret_name in (
        ("chatwoot", "webhook_secret"),
        ("twilio", "auth_token"),
        ("umbler", "url_token"),
    ):
        entry = by_kind[kind]
        integration = Integration.objects.get(pk=entry["id"])
        assert entry["secret_name"] == secret_name
        assert len(entry["secret"]) >= 24
        assert integration.get_secrets()[secret_name] == entry["secret"]
        assert entry["webhook_url"] == (
            f"http://127.0.0.1:8000/webhooks/{kind}/{integration.public_id}/"
        )
    assert "secret" not in by_kind["web"]
    assert [q["name"] for q in first["queues"]] == ["Atendimento"]

    again = seed()
    assert again["integrations"] == first["integrations"]  # idempotent, secrets unchanged
    assert Integration.objects.count() == 4
    assert Queue.objects.count() == 1


def test_the_webhook_urls_use_the_public_base_url(settings) -> None:
    settings.PUBLIC_BASE_URL = "https://atende.example"
    urls = [i["webhook_url"] for i in seed()["integrations"]]
    assert all(url.startswith("https://atende.example/webhooks/") for url in urls)
