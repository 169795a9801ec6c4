"""Background work of the integrations app. Tasks take ids and call one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from integrations.clients import TransientSendError

SEND_MAX_RETRIES = 6


@shared_task(
    bind=True,
    name="integrations.send_message",
    ignore_result=True,
    autoretry_for=(TransientSendError,),
    max_retries=SEND_MAX_RETRIES,
    retry_backoff=5,  # 5 s, 10 s, 20 s ... with full jitter
    retry_backoff_max=300,
    retry_jitter=True,
    acks_late=True,
)
def send_message(self: Any, company_id: int, message_id: int) -> str:
    """Send one pending outbound message; idempotent (a sent message is skipped).

    A transient platform error propagates so Celery retries with backoff; the last
    allowed attempt marks the message failed instead.
    """
    from conversations.services.outbound import message_deliver

    final = self.request.retries >= (self.max_retries or 0)
    return message_deliver(company_id=company_id, message_id=message_id, final_attempt=final)


@shared_task(name="integrations.sweep_webhooks", ignore_result=True)
def sweep_webhooks() -> int:
    """The safety net of queued ingest: events stored more than WEBHOOK_SWEEP_AFTER_SECONDS
    ago and still waiting (no ingest worker running, or a notification lost) are ingested
    here. A no-op query when the workers keep up."""
    from datetime import timedelta

    from django.conf import settings

    from integrations.services.webhooks import webhooks_drain

    min_age = timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS)
    # At most 50 batches per run: the next run goes on.
    return webhooks_drain(min_age=min_age, max_batches=50)


@shared_task(name="integrations.prune_webhooks", ignore_result=True)
def prune_webhooks() -> dict[str, int]:
    """Beat (every 6 hours): raw webhook events past their retention go
    (WEBHOOK_EVENTS_KEEP_DAYS, WEBHOOK_FAILED_KEEP_DAYS; integrations/services/retention.py)."""
    from integrations.services.retention import webhooks_prune

    return webhooks_prune()
