"""Factories for the ticket workflow tests: rows with sensible defaults in one call."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from django.db.models import Max
from django.utils import timezone

from conversations.models import Contact, Conversation, Message
from integrations.models import Integration
from tenants.models import Company
from tickets.models import Queue, Ticket, TicketStatus

_seq = itertools.count(1)


def make_integration(company: Company, kind: str = "umbler", **extra: Any) -> Integration:
    existing = Integration.objects.filter(company=company, kind=kind).first()
    if existing and not extra:
        return existing
    return Integration.objects.create(
        company=company, kind=kind, name=f"{kind} {next(_seq)}", **extra
    )


def make_queue(company: Company, name: str = "Suporte", members: tuple = (), **extra: Any) -> Queue:
    queue = Queue.objects.create(company=company, name=name, **extra)
    if members:
        queue.members.set(members)
    return queue


def make_ticket(
    company: Company,
    *,
    queue: Queue | None = None,
    status: str = TicketStatus.PENDING,
    assignee: Any = None,
    contact_name: str = "Maria Cliente",
    phone: str = "",
    kind: str = "umbler",
    last_message_at: datetime | None = None,
    **extra: Any,
) -> Ticket:
    n = next(_seq)
    integration = make_integration(company, kind)
    contact = Contact.objects.create(company=company, name=contact_name, phone=phone)
    conversation = Conversation.objects.create(
        company=company, integration=integration, contact=contact, external_id=f"conv-{n}"
    )
    number = (Ticket.objects.filter(company=company).aggregate(m=Max("number"))["m"] or 0) + 1
    now = timezone.now()
    extra.setdefault("assigned_at", now if assignee else None)
    return Ticket.objects.create(
        company=company,
        number=number,
        conversation=conversation,
        contact=contact,
        status=status,
        queue=queue,
        assignee=assignee,
        queued_at=now,
        last_message_at=last_message_at or now,
        **extra,
    )


def make_message(
    ticket: Ticket, content: str = "Olá", *, direction: str = "in", **extra: Any
) -> Message:
    defaults: dict[str, Any] = {
        "sender_type": "contact" if direction == "in" else "agent",
        "delivery_status": "received" if direction == "in" else "sent",
    }
    defaults.update(extra)
    return Message.objects.create(
        company_id=ticket.company_id,
        conversation=ticket.conversation,
        ticket=ticket,
        direction=direction,
        content=content,
        **defaults,
    )
