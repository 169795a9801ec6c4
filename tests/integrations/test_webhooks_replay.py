"""webhook_replay: only failed/received events, re-verification of unverified ones."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conversations.models import Message
from integrations.models import Integration, LogEntry, WebhookEvent, WebhookStatus
from integrations.services.logs import log_entry
from integrations.services.webhooks import webhook_replay
from tests.webhook_support import chatwoot_headers, chatwoot_message, make_integration

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def chatwoot(company: Any) -> Integration:
    return make_integration(company, "chatwoot")


def stored_event(
    integration: Integration, body: bytes, headers: dict[str, str], **fields: Any
) -> WebhookEvent:
    """An event as a process that died right after storing it would have left it."""
    return WebhookEvent.objects.create(
        company=integration.company,
        integration=integration,
        kind=integration.kind,
        body=body,
        content_type="application/json",
        headers=headers,
        url=f"https://helpdesk.example.com{integration.webhook_path()}",
        **fields,
    )


def signed_headers(body: bytes, *, timestamp: int, secret: str | None = None) -> dict[str, str]:
    django_style = chatwoot_headers(
        body, timestamp=timestamp, **({"secret": secret} if secret else {})
    )
    return {
        key.removeprefix("HTTP_").lower().replace("_", "-"): value
        for key, value in django_style.items()
    }


def test_a_stuck_received_event_is_verified_as_of_its_reception_and_processed(
    chatwoot: Integration,
) -> None:
    body = json.dumps(chatwoot_message(message_id=55)).encode()
    received = timezone.now() - timedelta(hours=3)
    event = stored_event(chatwoot, body, signed_headers(body, timestamp=int(received.timestamp())))
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=received)
    event.refresh_from_db()

    result = webhook_replay(event=event)

    assert result.http_status == 200
    event.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED and event.verified
    assert Message.objects.get().external_id == "55"
    assert LogEntry.objects.filter(source="webhook", message__contains="replayed").exists()


def test_a_stuck_event_with_a_bad_signature_is_rejected_on_replay(chatwoot: Integration) -> None:
    body = json.dumps(chatwoot_message(message_id=56)).encode()
    event = stored_event(
        chatwoot, body, signed_headers(body, timestamp=int(timezone.now().timestamp()), secret="x")
    )

    result = webhook_replay(event=event)

    assert result.http_status == 401
    event.refresh_from_db()
    assert event.status == WebhookStatus.REJECTED
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "status", [WebhookStatus.PROCESSED, WebhookStatus.DUPLICATE, WebhookStatus.REJECTED]
)
def test_replaying_anything_but_failed_or_received_is_a_no_op(
    chatwoot: Integration, status: str
) -> None:
    body = json.dumps(chatwoot_message(message_id=57)).encode()
    event = stored_event(chatwoot, body, {}, status=status, verified=True, attempts=1)

    webhook_replay(event=event)

    event.refresh_from_db()
    assert event.status == status and event.attempts == 1
    assert not Message.objects.exists()


def test_a_truncated_event_cannot_be_replayed(chatwoot: Integration) -> None:
    event = stored_event(
        chatwoot, b'{"event": "mess', {}, status=WebhookStatus.FAILED, body_truncated=True
    )

    result = webhook_replay(event=event)

    assert result.http_status == 413
    event.refresh_from_db()
    assert event.status == WebhookStatus.FAILED and "truncated" in event.error


def test_log_entry_writes_a_company_scoped_line(company: Any, chatwoot: Integration) -> None:
    entry = log_entry(
        company=company,
        level="error",
        source="send",
        message="x" * 5000,
        context={"message": 1},
        integration=chatwoot,
    )

    assert entry.company == company and entry.integration == chatwoot
    assert len(entry.message) == 2000 and entry.context == {"message": 1}
