"""Small builders for the live-inbox tests: an integration, a conversation and its ticket."""

from __future__ import annotations

import itertools
from typing import Any

from django.utils import timezone

from conversations.models import Contact, Conversation, Message
from integrations.models import Integration
from tenants.models import Company
from tickets.models import Queue, Ticket, TicketStatus

_numbers = itertools.count(1)


def make_queue(company: Company, name: str, *members: Any) -> Queue:
    queue = Queue.objects.create(company=company, name=name)
    queue.members.add(*members)
    return queue


def make_ticket(
    company: Company,
    *,
    queue: Queue | None = None,
    assignee: Any = None,
    status: str = TicketStatus.PENDING,
    name: str = "Maria Silva",
    phone: str = "",
    is_group: bool = False,
    kind: str = "chatwoot",
) -> Ticket:
    n = next(_numbers)
    integration = Integration.objects.filter(company=company, kind=kind).first()
    if integration is None:
        integration = Integration.objects.create(company=company, kind=kind, name=kind.title())
    contact = Contact.objects.create(
        company=company, name=name, phone=phone or f"+55119{n:08d}", is_group=is_group
    )
    conversation = Conversation.objects.create(
        company=company,
        integration=integration,
        contact=contact,
        external_id=f"c{n}",
        is_group=is_group,
        group_name=name if is_group else "",
    )
    number = (
        Ticket.objects.for_company(company)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
        or 0
    ) + 1
    return Ticket.objects.create(
        company=company,
        number=number,
        conversation=conversation,
        contact=contact,
        queue=queue,
        assignee=assignee,
        status=status,
        last_message_at=timezone.now(),
    )


def make_message(ticket: Ticket, content: str = "Olá", **extra: Any) -> Message:
    extra.setdefault("direction", "in")
    extra.setdefault("sender_type", "contact")
    return Message.objects.create(
        company_id=ticket.company_id,
        conversation=ticket.conversation,
        ticket=ticket,
        content=content,
        **extra,
    )
