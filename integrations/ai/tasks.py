"""Celery tasks of the AI attendant: thin wrappers around integrations.ai.services."""

from __future__ import annotations

from celery import shared_task

from . import services
from .client import AIError


@shared_task(
    bind=True,
    name="integrations.ai.tasks.ai_reply",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(AIError,),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=3,
)
def ai_reply(self, company_id: int, conversation_id: int, seq: int) -> str:  # type: ignore[no-untyped-def]
    """Answer the conversation's burst if ``seq`` still owns it (see services.reply_run).
    On the last try a failure becomes the fallback message + hand-off instead of a retry."""
    retries = self.request.retries or 0
    return services.reply_run(
        company_id=company_id,
        conversation_id=conversation_id,
        seq=seq,
        attempt=retries,
        last_try=retries >= (self.max_retries or 0),
    )


@shared_task(
    name="integrations.ai.tasks.ai_send_part",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def ai_send_part(company_id: int, log_id: int, index: int) -> str:
    return services.send_part(company_id=company_id, log_id=log_id, index=index)


@shared_task(name="integrations.ai.tasks.ai_sweep", ignore_result=True)
def ai_sweep() -> int:
    """Beat: re-schedule bursts whose task was lost (Redis flushed, worker gone)."""
    return services.sweep()
