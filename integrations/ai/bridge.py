"""The AI's calls into the message pipeline and the ticket workflow, by their contract
names (docs/contracts.md): outbound ``message_send`` and the ticket actions.

Until those services are merged into a checkout, a minimal stand-in with the same
effect on the rows keeps the attendant usable (a pending bot message; the ticket's
queue/ai_paused plus a timeline event). Once the contract modules exist, they are used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from conversations.models import Message
from integrations.base import DeliveryStatus, Direction, SenderType
from tickets.models import Queue, Ticket, TicketEvent, TicketEventKind

AI_LABEL = "AI"


def _contract(module: str, name: str) -> Callable[..., Any] | None:
    try:
        return getattr(importlib.import_module(module), name)
    except (ModuleNotFoundError, AttributeError):
        return None


def send_bot_message(*, ticket: Ticket, content: str, idempotency_key: str) -> Message:
    """Store the bot reply (pending) and have outbound send it after commit."""
    message_send = _contract("conversations.services.outbound", "message_send")
    if message_send is not None:
        return message_send(
            ticket=ticket,
            content=content,
            actor=None,
            sender_type="bot",
            idempotency_key=idempotency_key,
            source="ai",
        )
    now = timezone.now()
    return Message.objects.create(
        company_id=ticket.company_id,
        conversation_id=ticket.conversation_id,
        ticket=ticket,
        direction=Direction.OUTBOUND,
        sender_type=SenderType.BOT,
        sender_name=AI_LABEL,
        content=content,
        delivery_status=DeliveryStatus.PENDING,
        idempotency_key=idempotency_key,
        created_at=now,
    )


def pause_ai(*, ticket: Ticket, reason: str = "", actor: Any = None) -> None:
    action = _contract("tickets.services.actions", "ticket_pause_ai")
    if action is not None:
        action(ticket=ticket, actor=actor)
        return
    with transaction.atomic():
        if Ticket.objects.filter(pk=ticket.pk, ai_paused=False).update(ai_paused=True):
            TicketEvent.objects.create(
                company_id=ticket.company_id,
                ticket=ticket,
                kind=TicketEventKind.AI_PAUSED,
                actor_label=AI_LABEL,
                note=reason,
            )
        ticket.ai_paused = True


def transfer(*, ticket: Ticket, queue: Queue, note: str) -> None:
    action = _contract("tickets.services.actions", "ticket_transfer")
    if action is not None:
        action(ticket=ticket, queue=queue, note=note, actor=None)
        return
    with transaction.atomic():
        previous = ticket.queue_id
        Ticket.objects.filter(pk=ticket.pk).update(
            queue=queue, queued_at=timezone.now(), assignee=None
        )
        TicketEvent.objects.create(
            company_id=ticket.company_id,
            ticket=ticket,
            kind=TicketEventKind.TRANSFERRED,
            actor_label=AI_LABEL,
            note=note,
            data={"from_queue": previous, "to_queue": queue.pk},
        )
        ticket.queue = queue


def add_note(*, ticket: Ticket, note: str) -> None:
    """A timeline note (used when no hand-off queue is configured)."""
    TicketEvent.objects.create(
        company_id=ticket.company_id,
        ticket=ticket,
        kind=TicketEventKind.NOTE,
        actor_label=AI_LABEL,
        note=note,
    )
