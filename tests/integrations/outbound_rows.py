"""Row builders for the outbound, API and staff-page tests (company first, defaults sane)."""

from __future__ import annotations

import itertools
from typing import Any

from django.db.models import Max

from conversations.models import Contact, Conversation, Message
from integrations.base import DeliveryStatus, Direction, SenderType
from integrations.models import Integration
from tenants.models import Company
from tickets.models import Ticket, TicketStatus

_seq = itertools.count(1)


def make_integration(
    company: Company,
    kind: str = "chatwoot",
    *,
    settings: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    name: str = "",
    **extra: Any,
) -> Integration:
    integration = Integration(
        company=company,
        kind=kind,
        name=name or f"{kind.title()} {next(_seq)}",
        settings=settings or {},
        **extra,
    )
    integration.set_secrets(secrets or {})
    integration.save()
    return integration


def make_conversation(
    integration: Integration,
    *,
    phone: str = "+5511987654321",
    name: str = "Maria Silva",
    external_id: str = "",
) -> Conversation:
    n = next(_seq)
    contact = Contact.objects.create(
        company_id=integration.company_id, name=name, phone=phone, phone_key=f"{phone}-{n}"
    )
    return Conversation.objects.create(
        company_id=integration.company_id,
        integration=integration,
        contact=contact,
        external_id=external_id or str(1000 + n),
    )


def make_ticket(
    conversation: Conversation, *, status: str = TicketStatus.OPEN, **extra: Any
) -> Ticket:
    last = Ticket.objects.filter(company_id=conversation.company_id).aggregate(n=Max("number"))["n"]
    return Ticket.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        contact_id=conversation.contact_id,
        number=(last or 0) + 1,
        status=status,
        **extra,
    )


def make_message(
    conversation: Conversation,
    *,
    ticket: Ticket | None = None,
    direction: str = Direction.INBOUND,
    content: str = "Oi",
    **extra: Any,
) -> Message:
    inbound = direction == Direction.INBOUND
    defaults: dict[str, Any] = {
        "sender_type": SenderType.CONTACT if inbound else SenderType.AGENT,
        "delivery_status": DeliveryStatus.RECEIVED if inbound else DeliveryStatus.SENT,
    }
    defaults.update(extra)
    return Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        ticket=ticket,
        direction=direction,
        content=content,
        **defaults,
    )
