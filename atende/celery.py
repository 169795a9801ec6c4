"""The Celery app. Tasks take ids (company id explicit), are idempotent and ignore results."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atende.settings")

app = Celery("atende")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="atende.ping", ignore_result=True)
def ping() -> str:
    """Proves a worker consumes the broker (used by the readiness docs and tests)."""
    return "pong"


# Packages inside apps are not found by autodiscover_tasks() (it imports <app>.tasks only).
app.autodiscover_tasks(["integrations.ai"])


@worker_process_init.connect
def _freeze_startup_objects(**kwargs: object) -> None:
    """Each pool process keeps Django's startup objects out of the collector's full passes,
    as the web servers and the ingest worker do (atende/handlers.py)."""
    from atende.handlers import freeze_startup_objects

    freeze_startup_objects()


# The AI buffer's safety net: bursts whose reply task was lost get re-scheduled.
# The ticket workflow: scheduled messages go out, absent agents give tickets back.
# Queued webhook events waiting too long are ingested by the sweep.
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "ai-sweep": {"task": "integrations.ai.tasks.ai_sweep", "schedule": 30.0},
    "tickets-send-scheduled": {"task": "tickets.send_due_scheduled_messages", "schedule": 30.0},
    "tickets-give-back": {"task": "tickets.give_back_offline_tickets", "schedule": 60.0},
    # Queued webhooks that no ingest worker took (docs/webhooks.md).
    "webhooks-sweep": {"task": "integrations.sweep_webhooks", "schedule": 30.0},
    # Raw webhook events past their retention (WEBHOOK_EVENTS_KEEP_DAYS).
    "webhooks-prune": {"task": "integrations.prune_webhooks", "schedule": 6 * 3600.0},
}
