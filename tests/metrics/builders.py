"""Builders for metrics tests: tickets and messages at chosen times, run through the
message_stored hooks the way the pipeline does (hooks first, then waiting_since cleared)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from conversations import hooks
from conversations.models import Contact, Conversation, Message
from integrations.models import Integration
from tenants.models import Company, User
from tickets.models import Queue, Ticket, TicketStatus

_seq = itertools.count(1)


def make_ticket(
    company: Company,
    *,
    at: datetime,
    queue: Queue | None = None,
    assignee: User | None = None,
    kind: str = "web",
    tags: list[str] | None = None,
    contact: Contact | None = None,
) -> Ticket:
    n = next(_seq)
    integration = Integration.objects.for_company(company).filter(kind=kind).first()
    if integration is None:
        integration = Integration.objects.create(company=company, kind=kind, name=f"{kind} {n}")
    if contact is None:
        contact = Contact.objects.create(
            company=company, name=f"Cliente {n}", phone=f"+55119{n:08d}"
        )
    conversation = Conversation.objects.create(
        company=company, integration=integration, contact=contact, external_id=f"c{n}"
    )
    ticket = Ticket.objects.create(
        company=company,
        number=n,
        conversation=conversation,
        contact=contact,
        queue=queue,
        assignee=assignee,
        tags=tags or [],
        status=TicketStatus.OPEN if assignee else TicketStatus.PENDING,
        queued_at=at if queue else None,
        assigned_at=at if assignee else None,
    )
    Ticket.objects.filter(pk=ticket.pk).update(created_at=at)
    ticket.refresh_from_db()
    return ticket


def inbound(ticket: Ticket, at: datetime, text: str = "oi") -> Message:
    message = Message.objects.create(
        company_id=ticket.company_id,
        conversation=ticket.conversation,
        ticket=ticket,
        direction="in",
        sender_type="contact",
        content=text,
        created_at=at,
    )
    hooks.message_stored(message, hooks.MessageContext(ticket=ticket))
    if ticket.waiting_since is None:
        ticket.waiting_since = at
    ticket.unread_count += 1
    ticket.last_message_at = at
    ticket.save(update_fields=["waiting_since", "unread_count", "last_message_at"])
    return message


def reply(
    ticket: Ticket,
    at: datetime,
    *,
    user: User | None = None,
    bot: bool = False,
    private: bool = False,
    system: bool = False,
    **ctx_extra: Any,
) -> Message:
    sender_type = "system" if system else ("bot" if bot else "agent")
    message = Message.objects.create(
        company_id=ticket.company_id,
        conversation=ticket.conversation,
        ticket=ticket,
        direction="out",
        sender_type=sender_type,
        sender_user=user,
        content="resposta",
        created_at=at,
        is_private=private,
        delivery_status="sent",
    )
    hooks.message_stored(
        message,
        hooks.MessageContext(ticket=ticket, source="ai" if bot else "staff", extra=ctx_extra),
    )
    if not private and sender_type != "system":
        ticket.waiting_since = None
        ticket.unread_count = 0
    ticket.save(update_fields=["waiting_since", "unread_count"])
    return message


def assign(ticket: Ticket, user: User, at: datetime) -> None:
    ticket.assignee = user
    ticket.assigned_at = at
    ticket.status = TicketStatus.OPEN
    ticket.save(update_fields=["assignee", "assigned_at", "status"])


def resolve(ticket: Ticket, at: datetime) -> None:
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_at = at
    ticket.waiting_since = None
    ticket.save(update_fields=["status", "resolved_at", "waiting_since"])


def reopen(ticket: Ticket, at: datetime) -> None:
    """What the workflow/ingest side does on reopen (docs/contracts.md)."""
    ticket.status = TicketStatus.PENDING if ticket.assignee_id is None else TicketStatus.OPEN
    ticket.reopened_at = at
    ticket.reopen_count += 1
    ticket.first_response_at = None
    ticket.save(update_fields=["status", "reopened_at", "reopen_count", "first_response_at"])
