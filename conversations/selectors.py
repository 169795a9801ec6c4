"""Reads of contacts, conversations and messages for the API and staff pages.

Everything is company-scoped, and agents see only what their tickets let them see
(``tickets.selectors.visible_tickets``); supervisors and admins see the whole company.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from conversations.models import Contact, Conversation, Message
from tenants.models import Membership
from tickets.models import Ticket
from tickets.selectors import visible_tickets


def _visible_ticket_ids(membership: Membership) -> QuerySet[Ticket] | None:
    """Tickets an agent may see; None when the member sees the whole company."""
    if membership.is_supervisor:
        return None
    return visible_tickets(membership)


def visible_conversations(membership: Membership) -> QuerySet[Conversation]:
    conversations = Conversation.objects.for_company(membership.company_id)
    tickets = _visible_ticket_ids(membership)
    if tickets is None:
        return conversations
    return conversations.filter(Exists(tickets.filter(conversation_id=OuterRef("pk"))))


def visible_contacts(membership: Membership) -> QuerySet[Contact]:
    contacts = Contact.objects.for_company(membership.company_id)
    tickets = _visible_ticket_ids(membership)
    if tickets is None:
        return contacts
    return contacts.filter(Exists(tickets.filter(contact_id=OuterRef("pk"))))


def visible_messages(membership: Membership) -> QuerySet[Message]:
    return Message.objects.for_company(membership.company_id).filter(
        conversation__in=visible_conversations(membership)
    )


def conversation_list(
    membership: Membership,
    *,
    status: str = "",
    kind: str = "",
    integration_id: int | None = None,
    contact_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str = "",
) -> QuerySet[Conversation]:
    """Conversations with their current ticket (the latest one) and last public message
    annotated, newest activity first. ``status`` filters on the current ticket's status
    (``none`` for conversations without a ticket)."""
    latest_ticket = Ticket.objects.filter(conversation_id=OuterRef("pk")).order_by("-id")
    last_message = Message.objects.filter(
        conversation_id=OuterRef("pk"), is_private=False, deleted=False
    ).order_by("-id")
    conversations = (
        visible_conversations(membership)
        .select_related("contact", "integration")
        .annotate(
            ticket_id=Subquery(latest_ticket.values("id")[:1]),
            ticket_number=Subquery(latest_ticket.values("number")[:1]),
            ticket_status=Subquery(latest_ticket.values("status")[:1]),
            last_message_content=Subquery(last_message.values("content")[:1]),
            last_message_direction=Subquery(last_message.values("direction")[:1]),
            last_message_status=Subquery(last_message.values("delivery_status")[:1]),
        )
        .order_by("-last_message_at", "-id")
    )
    if status == "none":
        conversations = conversations.filter(ticket_id__isnull=True)
    elif status:
        conversations = conversations.filter(ticket_status=status)
    if kind:
        conversations = conversations.filter(integration__kind=kind)
    if integration_id:
        conversations = conversations.filter(integration_id=integration_id)
    if contact_id:
        conversations = conversations.filter(contact_id=contact_id)
    if since:
        conversations = conversations.filter(last_message_at__gte=since)
    if until:
        conversations = conversations.filter(last_message_at__lt=until)
    if search:
        conversations = conversations.filter(
            Q(contact__name__icontains=search)
            | Q(contact__phone__icontains=search)
            | Q(group_name__icontains=search)
        )
    return conversations


def conversation_messages(
    conversation: Conversation,
    *,
    status: str = "",
    direction: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Message]:
    messages = (
        Message.objects.for_company(conversation.company_id)
        .filter(conversation=conversation)
        .select_related("sender_user")
    )
    if status:
        messages = messages.filter(delivery_status=status)
    if direction:
        messages = messages.filter(direction=direction)
    if since:
        messages = messages.filter(created_at__gte=since)
    if until:
        messages = messages.filter(created_at__lt=until)
    return messages


def current_ticket(conversation: Conversation) -> Ticket | None:
    """The conversation's active ticket, else its latest one (replies attach to it)."""
    tickets = Ticket.objects.for_company(conversation.company_id).filter(conversation=conversation)
    return tickets.filter(status__in=("pending", "open")).first() or tickets.order_by("-id").first()


def contact_search(membership: Membership, *, search: str = "") -> QuerySet[Contact]:
    contacts = visible_contacts(membership).order_by("-last_activity_at", "-id")
    if search:
        contacts = contacts.filter(
            Q(name__icontains=search) | Q(phone__icontains=search) | Q(email__icontains=search)
        )
    return contacts


def as_datetime(value: Any) -> datetime | None:
    """Parse an ISO date or datetime from a query string; None when absent."""
    from django.utils import timezone
    from django.utils.dateparse import parse_date, parse_datetime

    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        day = parse_date(str(value))
        if day is None:
            raise ValueError(value)
        parsed = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - made aware below
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed
