"""What the ticket workflow does when the message pipeline stores a message
(registered in TicketsConfig.ready(); see conversations.hooks).

- A staff reply (agent, source "staff", not a private note) pauses the AI attendant.
- A customer message that opened a ticket: the queue's greeting is sent (once: a ticket
  is created once) and the ticket is routed after commit; a reopened ticket is routed.
- A customer message outside business hours gets the out-of-hours reply once per ticket
  (``Ticket.out_of_hours_sent`` flips under the ticket's row, so two concurrent inbound
  messages cannot both send it).

Automatic messages (greeting, out-of-hours) go out through ``message_send`` with
``sender_type="system"``: they are not a reply by a person or by the AI, so response-time
metrics do not count them as the first response. Group conversations get neither.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError

from conversations.hooks import MessageContext

logger = logging.getLogger(__name__)


def on_message_stored(message: Any, context: MessageContext) -> None:
    ticket = context.ticket
    if ticket is None:
        return
    if message.direction == "out":
        if message.sender_type == "agent" and context.source == "staff" and not message.is_private:
            ai_pause_for_staff_reply(ticket, message.sender_user)
        return
    if message.direction != "in" or message.sender_type != "contact":
        return
    from .services.routing import schedule_route

    if context.ticket_created:
        send_greeting(ticket)
        schedule_route(ticket)
    elif context.ticket_reopened and ticket.assignee_id is None:
        schedule_route(ticket)
    send_out_of_hours(ticket, at=message.created_at)


def ai_pause_for_staff_reply(ticket: Any, actor: Any) -> bool:
    from .models import Ticket, TicketEventKind
    from .services.actions import _event

    if not Ticket.objects.filter(pk=ticket.pk, ai_paused=False).update(ai_paused=True):
        return False
    ticket.ai_paused = True
    _event(ticket, TicketEventKind.AI_PAUSED, actor, reason="staff_reply")
    # No event of its own: the reply's "message.created" carries the ticket row as it is
    # after commit (ai_paused included), so one event tells the inbox both things.
    return True


def _system_send(ticket: Any, content: str, key: str) -> bool:
    from conversations.services.outbound import message_send

    try:
        message_send(
            ticket=ticket,
            content=content,
            sender_type="system",
            source="system",
            idempotency_key=f"{key}:{ticket.pk}",
        )
    except ValidationError:
        logger.warning("tickets: could not send the %s message", key, exc_info=True)
        return False
    return True


def send_greeting(ticket: Any) -> bool:
    if ticket.queue_id is None or ticket.conversation.is_group:
        return False
    greeting = (ticket.queue.greeting or "").strip()
    if not greeting:
        return False
    return _system_send(ticket, greeting, "greeting")


def send_out_of_hours(ticket: Any, *, at: Any) -> bool:
    from .models import Ticket
    from .services.hours import is_open

    if ticket.out_of_hours_sent or ticket.conversation.is_group:
        return False
    company, queue = ticket.company, ticket.queue
    text = ((queue.out_of_hours_message if queue else "") or company.out_of_hours_message).strip()
    if not text or is_open(company, queue, at):
        return False
    if not Ticket.objects.filter(pk=ticket.pk, out_of_hours_sent=False).update(
        out_of_hours_sent=True
    ):
        return False
    ticket.out_of_hours_sent = True
    return _system_send(ticket, text, "out-of-hours")
