"""The AI's calls into the message pipeline and the ticket workflow, by their contract
names (docs/contracts.md): outbound ``message_send`` and the ticket actions. The actor is
None ("the system") unless a person acts through the monitor."""

from __future__ import annotations

from typing import Any

from conversations.models import Message
from conversations.services.outbound import message_send
from tickets.models import Queue, Ticket, TicketEvent, TicketEventKind
from tickets.services.actions import ticket_pause_ai, ticket_transfer

AI_LABEL = "AI"


def send_bot_message(*, ticket: Ticket, content: str, idempotency_key: str) -> Message:
    """Store the bot reply (pending); outbound sends it after commit. The key makes a
    second call for the same burst return the first message."""
    return message_send(
        ticket=ticket,
        content=content,
        actor=None,
        sender_type="bot",
        idempotency_key=idempotency_key,
        source="ai",
    )


def pause_ai(*, ticket: Ticket, reason: str = "", actor: Any = None) -> None:
    # The timeline records why: "ai_handoff" / "ai_failure" from the attendant itself,
    # "manual" when a person pauses it from the monitor.
    ticket_pause_ai(ticket=ticket, actor=actor, reason=reason or "manual")
    ticket.ai_paused = True


def transfer(*, ticket: Ticket, queue: Queue, note: str) -> None:
    moved = ticket_transfer(ticket=ticket, queue=queue, note=note, actor=None)
    ticket.queue, ticket.assignee = moved.queue, moved.assignee


def add_note(*, ticket: Ticket, note: str) -> None:
    """A timeline note (when no hand-off queue is configured)."""
    TicketEvent.objects.create(
        company_id=ticket.company_id,
        ticket=ticket,
        kind=TicketEventKind.NOTE,
        actor_label=AI_LABEL,
        note=note,
    )
