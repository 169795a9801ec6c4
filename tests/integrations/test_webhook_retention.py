"""Retention of the raw webhook events (integrations/services/retention.py): what was dealt
with goes after WEBHOOK_EVENTS_KEEP_DAYS, failed events after WEBHOOK_FAILED_KEEP_DAYS,
waiting ones never; delivery claims keep stopping re-deliveries without their event."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.models import Integration, WebhookDelivery, WebhookEvent, WebhookStatus
from integrations.services.retention import webhooks_prune
from integrations.tasks import prune_webhooks
from tenants.models import Company
from tests.webhook_support import make_integration

pytestmark = pytest.mark.django_db


def event(integration: Integration, status: str, days: int, tag: str) -> WebhookEvent:
    made = WebhookEvent.objects.create(
        company_id=integration.company_id,
        integration=integration,
        kind=integration.kind,
        delivery_id=tag,
        body=b"{}",
        status=status,
    )
    WebhookEvent.objects.filter(pk=made.pk).update(
        received_at=timezone.now() - timedelta(days=days)
    )
    return made


def left(company: Company) -> set[str]:
    return set(WebhookEvent.objects.filter(company=company).values_list("delivery_id", flat=True))


@pytest.fixture
def two_companies(company: Company, other_company: Company) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for owner in (company, other_company):
        chatwoot = make_integration(owner, "chatwoot")
        for status in WebhookStatus.values:
            event(chatwoot, status, 100, f"{status}-100")
            event(chatwoot, status, 400, f"{status}-400")
            event(chatwoot, status, 10, f"{status}-10")
        out[owner.slug] = chatwoot
    return out


def test_dealt_with_events_go_after_their_days_failed_later_and_waiting_never(
    company: Company, other_company: Company, two_companies: dict[str, Any], settings: Any
) -> None:
    settings.WEBHOOK_EVENTS_KEEP_DAYS = 90
    settings.WEBHOOK_FAILED_KEEP_DAYS = 365
    gone = webhooks_prune(batch_size=3)  # several batches
    expected = {f"{status}-10" for status in WebhookStatus.values} | {
        "received-100",
        "received-400",  # waiting: never removed, however old
        "failed-100",  # failed: kept for a replay within its own days
    }
    assert left(company) == expected
    assert left(other_company) == expected  # every company's, by the same rules
    assert gone == {"events": 2 * 9, "deliveries": 0}


def test_zero_days_keep_everything(two_companies: dict[str, Any], settings: Any) -> None:
    settings.WEBHOOK_EVENTS_KEEP_DAYS = 0
    settings.WEBHOOK_FAILED_KEEP_DAYS = 0
    before = WebhookEvent.objects.count()
    assert webhooks_prune() == {"events": 0, "deliveries": 0}
    assert WebhookEvent.objects.count() == before
    settings.WEBHOOK_FAILED_KEEP_DAYS = 30  # failed ones only
    assert webhooks_prune()["events"] == 2 * 2
    assert not WebhookEvent.objects.filter(
        status=WebhookStatus.FAILED, received_at__lt=timezone.now() - timedelta(days=30)
    ).exists()
    assert WebhookEvent.objects.filter(status=WebhookStatus.PROCESSED).count() == 2 * 3


def test_a_claim_keeps_stopping_re_deliveries_after_its_event_goes(
    company: Company, settings: Any
) -> None:
    settings.WEBHOOK_EVENTS_KEEP_DAYS = 90
    settings.WEBHOOK_FAILED_KEEP_DAYS = 365
    chatwoot = make_integration(company, "chatwoot")
    old = event(chatwoot, WebhookStatus.PROCESSED, 100, "d-old")
    kept = event(chatwoot, WebhookStatus.FAILED, 100, "d-kept")
    recent_claim = WebhookDelivery.objects.create(
        integration=chatwoot, delivery_id="d-old", event=old
    )
    kept_claim = WebhookDelivery.objects.create(
        integration=chatwoot, delivery_id="d-kept", event=kept
    )
    ancient = WebhookDelivery.objects.create(integration=chatwoot, delivery_id="d-ancient")
    WebhookDelivery.objects.filter(pk=ancient.pk).update(
        created_at=timezone.now() - timedelta(days=400)
    )

    assert webhooks_prune() == {"events": 1, "deliveries": 1}
    recent_claim.refresh_from_db()
    assert recent_claim.event_id is None  # the claim stays: a re-delivery is still a duplicate
    kept_claim.refresh_from_db()
    assert kept_claim.event_id == kept.pk
    assert not WebhookDelivery.objects.filter(pk=ancient.pk).exists()  # past both retentions


def test_the_beat_task_and_the_command_prune(two_companies: dict[str, Any], settings: Any) -> None:
    from atende.celery import app

    assert app.conf.beat_schedule["webhooks-prune"]["task"] == "integrations.prune_webhooks"
    settings.WEBHOOK_EVENTS_KEEP_DAYS = 200
    settings.WEBHOOK_FAILED_KEEP_DAYS = 365
    assert prune_webhooks() == {"events": 2 * 5, "deliveries": 0}  # 400 days (failed too)
    settings.WEBHOOK_EVENTS_KEEP_DAYS = 90
    out = StringIO()
    call_command("prune_webhooks", stdout=out)
    assert out.getvalue().startswith("removed 8 webhook event(s)")  # the 100-day ones
