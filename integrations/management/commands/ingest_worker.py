"""``manage.py ingest_worker``: ingest queued webhook events (WEBHOOK_INGEST=queued).

Runs until SIGTERM/SIGINT (finishing the batch in hand); ``--drain`` ingests what waits
now and exits. See integrations/worker.py and docs/webhooks.md.
"""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from atende.handlers import freeze_startup_objects
from integrations import worker


class Command(BaseCommand):
    help = "Ingest the stored webhook events in batches (queued mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.WEBHOOK_BATCH_SIZE,
            help="events per transaction (default: WEBHOOK_BATCH_SIZE)",
        )
        parser.add_argument("--drain", action="store_true", help="ingest what waits now, then exit")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if opts["drain"]:
            taken = worker.drain(batch_size=opts["batch_size"])
            self.stdout.write(f"ingested {taken} event(s)")
            return
        if connection.vendor != "postgresql":
            raise CommandError(
                "the ingest worker needs PostgreSQL (LISTEN/NOTIFY); with SQLite webhooks "
                "are ingested inline (WEBHOOK_INGEST=inline)"
            )
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # A long-lived process: the garbage collector's full passes over Django's startup
        # objects stalled every event in flight for ~150 ms (bench/README.md, real time).
        freeze_startup_objects()
        self.stdout.write(f"ingest worker: batches of {opts['batch_size']}, listening")
        worker.run(should_stop=lambda: stopping, batch_size=opts["batch_size"])
        self.stdout.write("ingest worker: stopped")
