"""Celery tasks of the ticket workflow: thin, id-taking, idempotent (STYLE.md rule 11)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
    "ignore_result": True,
}


@shared_task(name="tickets.route_ticket", **RETRY)
def route_ticket(company_id: int, ticket_id: int) -> None:
    """Give a waiting ticket to an agent per its queue's rule (re-checks under lock)."""
    from .services.routing import ticket_route

    ticket_route(company_id=company_id, ticket_id=ticket_id)


@shared_task(name="tickets.route_queue", **RETRY)
def route_queue(company_id: int, queue_id: int) -> None:
    """Route a queue's waiting tickets while somebody is eligible."""
    from .services.routing import queue_route

    queue_route(company_id=company_id, queue_id=queue_id)


@shared_task(name="tickets.give_back_offline_tickets", ignore_result=True)
def give_back_offline_tickets() -> None:
    """Beat (every minute): unanswered tickets of agents offline past the grace period
    go back to their queue."""
    from .services.routing import give_back_offline_tickets as run

    run()


@shared_task(name="tickets.send_due_scheduled_messages", ignore_result=True)
def send_due_scheduled_messages() -> None:
    """Beat (every 30 s): send scheduled messages whose time has come (claimed with
    SKIP LOCKED, so overlapping runs never send one twice)."""
    from .services.scheduled import scheduled_send_due

    scheduled_send_due()


@shared_task(name="tickets.chatwoot_open_request", **RETRY)
def chatwoot_open_request(company_id: int, ticket_id: int) -> None:
    """Mirror a web-form ticket to the company's Chatwoot Client API inbox."""
    from .services.webform import chatwoot_open_request as run

    run(company_id=company_id, ticket_id=ticket_id)


@shared_task(name="tickets.chatwoot_post_message", **RETRY)
def chatwoot_post_message(company_id: int, message_id: int) -> None:
    """Send a requester's chat message to the mirrored Chatwoot conversation."""
    from .services.webform import chatwoot_post_message as run

    run(company_id=company_id, message_id=message_id)
