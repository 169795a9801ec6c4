"""``manage.py prune_webhooks``: remove the raw webhook events past their retention now
(what Celery beat does every 6 hours; integrations/services/retention.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from integrations.services.retention import webhooks_prune


class Command(BaseCommand):
    help = (
        "Remove stored webhook events older than WEBHOOK_EVENTS_KEEP_DAYS "
        "(failed ones: WEBHOOK_FAILED_KEEP_DAYS)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-seconds", type=float, default=600.0, help="stop after this long (default 600)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        gone = webhooks_prune(max_seconds=opts["max_seconds"])
        self.stdout.write(
            f"removed {gone['events']} webhook event(s) and {gone['deliveries']} delivery "
            f"claim(s) (kept: {settings.WEBHOOK_EVENTS_KEEP_DAYS} days, failed "
            f"{settings.WEBHOOK_FAILED_KEEP_DAYS} days; 0 = for ever)"
        )
