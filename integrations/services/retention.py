"""Retention of the raw webhook events (``WEBHOOK_EVENTS_KEEP_DAYS``,
``WEBHOOK_FAILED_KEEP_DAYS``): every request to a webhook URL is stored before it is
processed, so without this the table grows for ever. What the events produced (contacts,
conversations, messages, tickets, metrics) is not touched, and an event still waiting to
be ingested is never removed, whatever its age.

Run by Celery beat (``integrations.prune_webhooks``) and ``manage.py prune_webhooks``.
Deletes in batches, each its own short transaction, oldest first by reception (the
``webhookevent_received`` index), so a large backlog never holds long locks.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import WebhookDelivery, WebhookEvent, WebhookStatus

DEALT_WITH = (
    WebhookStatus.PROCESSED,
    WebhookStatus.DUPLICATE,
    WebhookStatus.IGNORED,
    WebhookStatus.REJECTED,
)

# One batch on PostgreSQL, oldest first by reception (``webhookevent_received`` walks only
# the events past the shorter retention): the events go, and the delivery claims that
# named them keep their claim (the platform's id, what stops a late re-delivery) without
# the event; the foreign key is checked at the COMMIT, when no claim names them any more.
_PRUNE_SQL = """
WITH gone AS (
    DELETE FROM integrations_webhookevent WHERE id IN (
        SELECT id FROM integrations_webhookevent
        WHERE received_at < %s
          AND ((status = ANY(%s) AND received_at < %s) OR (status = %s AND received_at < %s))
        ORDER BY received_at LIMIT %s
    )
    RETURNING id
), unlinked AS (
    UPDATE integrations_webhookdelivery SET event_id = NULL
    WHERE event_id IN (SELECT id FROM gone)
)
SELECT count(*) FROM gone
"""


def _cutoff(now: datetime, days: int) -> datetime:
    """Events received before this go; 0 days keeps them for ever (a cutoff before any)."""
    return now - timedelta(days=days) if days > 0 else datetime(2000, 1, 1, tzinfo=UTC)


def webhooks_prune(
    *, now: datetime | None = None, batch_size: int = 5000, max_seconds: float = 60.0
) -> dict[str, int]:
    """Remove the events past their retention, and the delivery claims older than the
    longer of the two retentions. Returns how many of each went. Stops after
    ``max_seconds`` (the next run goes on)."""
    now = now or timezone.now()
    done_before = _cutoff(now, settings.WEBHOOK_EVENTS_KEEP_DAYS)
    failed_before = _cutoff(now, settings.WEBHOOK_FAILED_KEEP_DAYS)
    started = time.monotonic()
    events = 0
    while time.monotonic() - started < max_seconds:
        with transaction.atomic():
            taken = _prune_batch(done_before, failed_before, batch_size)
        events += taken
        if taken < batch_size:
            break
    # A claim outlives its event (see _PRUNE_SQL) but not both retentions: nothing
    # re-delivers a webhook months later.
    keep_days = (settings.WEBHOOK_EVENTS_KEEP_DAYS, settings.WEBHOOK_FAILED_KEEP_DAYS)
    claims = 0
    if min(keep_days) > 0:
        claims, _ = WebhookDelivery.objects.filter(
            created_at__lt=now - timedelta(days=max(keep_days)), event__isnull=True
        ).delete()
    return {"events": events, "deliveries": claims}


def _prune_batch(done_before: datetime, failed_before: datetime, batch_size: int) -> int:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _PRUNE_SQL,
                [
                    max(done_before, failed_before),
                    list(DEALT_WITH),
                    done_before,
                    WebhookStatus.FAILED,
                    failed_before,
                    batch_size,
                ],
            )
            return int(cursor.fetchone()[0])
    expired = Q(status__in=DEALT_WITH, received_at__lt=done_before) | Q(
        status=WebhookStatus.FAILED, received_at__lt=failed_before
    )
    ids = list(
        WebhookEvent.objects.filter(expired)
        .order_by("received_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    WebhookEvent.objects.filter(pk__in=ids).delete()  # the claims' SET_NULL by the ORM
    return len(ids)
