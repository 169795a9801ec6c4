"""Re-process stored webhook events: ``manage.py replay_webhooks [--company slug]
[--status failed] [--id N ...] [--since 2026-11-23T10:00] [--limit N]``."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from integrations.models import WebhookEvent, WebhookStatus
from integrations.services.webhooks import REPLAYABLE, webhook_replay


def _since(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since: not an ISO date or datetime: {value!r}")
        parsed = datetime.combine(day, time.min)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = "Replay failed (or stuck received) webhook events; processed ones are left alone."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", help="only this company (slug)")
        parser.add_argument(
            "--status",
            default=WebhookStatus.FAILED,
            choices=[str(s) for s in REPLAYABLE],
            help="which events to replay (default: failed)",
        )
        parser.add_argument("--id", type=int, action="append", dest="ids", help="event id(s)")
        parser.add_argument("--since", help="received at or after (ISO date or datetime)")
        parser.add_argument("--limit", type=int, default=1000, help="at most N events")

    def handle(self, *args: Any, **options: Any) -> None:
        events = WebhookEvent.objects.order_by("id")
        if options["ids"]:
            events = events.filter(pk__in=options["ids"])
        else:
            events = events.filter(status=options["status"])
        if options["company"]:
            events = events.filter(company__slug=options["company"])
        if options["since"]:
            events = events.filter(received_at__gte=_since(options["since"]))
        counts: Counter[str] = Counter()
        # Only ids are loaded up front: bodies are read one event at a time.
        for pk in list(events.values_list("pk", flat=True)[: options["limit"]]):
            event = WebhookEvent.objects.get(pk=pk)
            before = event.status
            result = webhook_replay(event=event)
            outcome = result.event.status if before in REPLAYABLE else f"skipped ({before})"
            counts[outcome] += 1
            if options["verbosity"] > 1:
                self.stdout.write(f"event {pk}: {outcome} {result.event.error}".rstrip())
        summary = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "nothing"
        self.stdout.write(f"replayed {sum(counts.values())} event(s) - {summary}")
