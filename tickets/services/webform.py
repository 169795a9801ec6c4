"""The web ticket form ("Abrir chamado"): members open requests through Atende itself,
for themselves or for another person, and follow them on "My tickets".

A request lives on the company's ``web`` integration (created on first use): one
contact (the requester, or the person it is for), one conversation per request, one
ticket carrying title, description, complexity and requester fields, and a first
customer message (title + description) that runs the normal message hooks (greeting,
out-of-hours reply, routing, metrics).

Chatwoot mirror (optional): when the web integration's settings hold
``chatwoot_base_url`` and ``chatwoot_inbox_identifier`` (an API-channel inbox; secret
``chatwoot_hmac_token`` when the inbox enforces HMAC identity), each request is also
opened there through the Client API, after commit, by the
``tickets.chatwoot_open_request`` task (retried with backoff): one Chatwoot contact per
user and inbox (``ChatwootContactLink``), one Chatwoot conversation per request. The
conversation's Chatwoot id becomes the web conversation's ``external_id``, so the inbox's
webhook (pointed at this web integration's webhook URL; parsed by the Chatwoot adapter)
lands replies of Chatwoot agents on the same ticket through the ingest pipeline, and the
requester's own messages echo back as duplicates of the ids we stored. The requester's
chat messages go to Chatwoot by the ``tickets.chatwoot_post_message`` task.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations import hooks, realtime
from conversations.models import Contact, Conversation, Message
from conversations.phones import normalize_phone, phone_key
from integrations.models import Integration, IntegrationKind
from tenants.models import Company

from ..models import (
    ChatwootContactLink,
    Complexity,
    Queue,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)

logger = logging.getLogger(__name__)

MAX_MESSAGE = 10_000


@dataclass(frozen=True)
class WebRequest:
    title: str
    description: str
    complexity: str
    queue: Queue | None = None
    for_other: bool = False
    other_name: str = ""
    other_email: str = ""
    other_phone: str = ""


def web_integration(company: Company) -> Integration:
    """The company's web-form integration, created on first use."""
    integration = (
        Integration.objects.for_company(company)
        .filter(kind=IntegrationKind.WEB)
        .order_by("id")
        .first()
    )
    if integration is None:
        integration = Integration.objects.create(
            company=company, kind=IntegrationKind.WEB, name=str(_("Web form"))
        )
    return integration


def chatwoot_settings(integration: Integration) -> dict[str, str] | None:
    settings = integration.settings or {}
    base_url = str(settings.get("chatwoot_base_url") or "").strip()
    inbox = str(settings.get("chatwoot_inbox_identifier") or "").strip()
    if not base_url or not inbox:
        return None
    token = (
        integration.get_secrets().get("chatwoot_hmac_token", "")
        if integration.secrets_encrypted
        else ""
    )
    return {"base_url": base_url, "inbox_identifier": inbox, "hmac_token": token}


def _clean_request(request: WebRequest, company: Company) -> dict[str, Any]:
    errors: dict[str, str] = {}
    title = " ".join(request.title.split())[:200]
    description = request.description.strip()
    if not title:
        errors["title"] = _("Give the request a title.")
    if not description:
        errors["description"] = _("Describe what you need.")
    if request.complexity not in Complexity.values:
        errors["complexity"] = _("Choose the complexity.")
    if request.queue is not None and request.queue.company_id != company.pk:
        errors["queue"] = _("Unknown sector.")
    other: dict[str, str] = {}
    if request.for_other:
        name = " ".join(request.other_name.split())[:200]
        email = request.other_email.strip().lower()
        raw_phone = request.other_phone.strip()
        phone = normalize_phone(raw_phone) if raw_phone else ""
        if not name:
            errors["other_name"] = _("Give the person's name.")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors["other_email"] = _("Enter a valid e-mail address.")
        if raw_phone and not phone:
            errors["other_phone"] = _("Enter a valid phone number with area code.")
        if not email and not raw_phone:
            errors["other_email"] = _("Give the person's e-mail or phone.")
        other = {"name": name, "email": email, "phone": phone}
    if errors:
        raise ValidationError(errors)
    return {"title": title, "description": description, "other": other}


def _contact_for(company: Company, *, name: str, email: str, phone: str) -> Contact:
    if phone:
        key = phone_key(phone)
        contact = Contact.objects.for_company(company).filter(phone_key=key).first()
        if contact is not None:
            return contact
    if email:
        contact = (
            Contact.objects.for_company(company).filter(email__iexact=email).order_by("id").first()
        )
        if contact is not None:
            return contact
    return Contact.objects.create(
        company=company,
        name=name,
        email=email,
        phone=phone,
        phone_key=phone_key(phone) if phone else "",
    )


@transaction.atomic
def web_ticket_open(*, company: Company, actor: Any, request: WebRequest) -> Ticket:
    """Open a request from the web form. ``actor`` is the requester (a member)."""
    from .lifecycle import ticket_next_number

    clean = _clean_request(request, company)
    integration = web_integration(company)
    other = clean["other"]
    if other:
        contact = _contact_for(
            company, name=other["name"], email=other["email"], phone=other["phone"]
        )
    else:
        contact = _contact_for(company, name=actor.display_name, email=actor.email, phone="")
    now = timezone.now()
    conversation = Conversation.objects.create(
        company=company,
        integration=integration,
        contact=contact,
        external_id=f"web:{uuid.uuid4().hex}",
        last_message_at=now,
        last_inbound_at=now,
        extra={"web": True},
    )
    queue = request.queue or Queue.objects.for_company(company).filter(is_default=True).first()
    ticket = Ticket.objects.create(
        company=company,
        number=ticket_next_number(company.pk),
        conversation=conversation,
        contact=contact,
        status=TicketStatus.PENDING,
        queue=queue,
        queued_at=now if queue else None,
        title=clean["title"],
        description=clean["description"],
        complexity=request.complexity,
        requester=actor,
        requested_for_name=other.get("name", ""),
        requested_for_email=other.get("email", ""),
        requested_for_phone=other.get("phone", ""),
        unread_count=1,
        waiting_since=now,
        last_message_at=now,
    )
    TicketEvent.objects.create(
        company=company,
        ticket=ticket,
        kind=TicketEventKind.CREATED,
        actor=actor,
        data={"source": "web", "queue": queue.pk if queue else None, "for_other": bool(other)},
    )
    realtime.ticket_changed(ticket, "ticket.created", status=ticket.status, queue=ticket.queue_id)
    message = Message.objects.create(
        company=company,
        conversation=conversation,
        ticket=ticket,
        direction="in",
        sender_type="contact",
        sender_user=actor,
        sender_name=actor.display_name,
        content=f"{clean['title']}\n\n{clean['description']}",
        delivery_status="received",
        created_at=now,
    )
    hooks.message_stored(
        message, hooks.MessageContext(ticket=ticket, ticket_created=True, source="web")
    )
    realtime.message_changed(message, "message.created")
    if chatwoot_settings(integration) is not None:
        from ..tasks import chatwoot_open_request as task

        transaction.on_commit(lambda: task.delay(company.pk, ticket.pk))
    return ticket


@transaction.atomic
def web_message_post(*, ticket: Ticket, content: str, actor: Any) -> Message:
    """The requester writes in the chat of their request. A message on a resolved
    request reopens it within the company's window, else opens a follow-up ticket
    (the same rule as any customer message: tickets.services.lifecycle)."""
    from .lifecycle import ticket_for_inbound

    if ticket.requester_id != actor.pk:
        raise PermissionDenied(_("Only the requester writes in this chat."))
    content = (content or "").strip()
    if not content:
        raise ValidationError({"content": _("Write a message.")})
    if len(content) > MAX_MESSAGE:
        raise ValidationError({"content": _("At most %(n)d characters.") % {"n": MAX_MESSAGE}})
    now = timezone.now()
    conversation = Conversation.objects.select_related("company").get(pk=ticket.conversation_id)
    current, created, reopened = ticket_for_inbound(conversation=conversation, at=now)
    if created:
        Ticket.objects.filter(pk=current.pk).update(
            title=ticket.title,
            complexity=ticket.complexity,
            requester=actor,
            requested_for_name=ticket.requested_for_name,
            requested_for_email=ticket.requested_for_email,
            requested_for_phone=ticket.requested_for_phone,
        )
        current.requester = actor
    message = Message.objects.create(
        company_id=ticket.company_id,
        conversation=conversation,
        ticket=current,
        direction="in",
        sender_type="contact",
        sender_user=actor,
        sender_name=actor.display_name,
        content=content,
        delivery_status="received",
        created_at=now,
    )
    Ticket.objects.filter(pk=current.pk).update(
        unread_count=F("unread_count") + 1,
        last_message_at=now,
        updated_at=now,
        waiting_since=current.waiting_since or now,
    )
    current.waiting_since = current.waiting_since or now
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now, last_inbound_at=now)
    hooks.message_stored(
        message,
        hooks.MessageContext(
            ticket=current, ticket_created=created, ticket_reopened=reopened, source="web"
        ),
    )
    realtime.message_changed(message, "message.created")
    if chatwoot_settings(conversation.integration) is not None:
        from ..tasks import chatwoot_post_message as task

        transaction.on_commit(lambda: task.delay(ticket.company_id, message.pk))
    return message


# --- reads for the requester -------------------------------------------------------------


def requester_tickets(company: Company, user: Any) -> Any:
    return (
        Ticket.objects.for_company(company)
        .filter(requester=user)
        .select_related("queue", "assignee")
        .order_by("-created_at", "-id")
    )


def requester_ticket(company: Company, user: Any, number: int) -> Ticket:
    ticket = (
        requester_tickets(company, user)
        .select_related("conversation")
        .filter(number=number)
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket


def requester_thread_numbers(company: Company, user: Any, ticket: Ticket) -> list[int]:
    """Numbers of the requester's tickets on ``ticket``'s conversation: the request and
    any follow-up opened by writing after it was closed for good. Their messages share
    the page (``requester_messages``), so the page follows all of them live."""
    tickets = requester_tickets(company, user).filter(conversation_id=ticket.conversation_id)
    return sorted(tickets.values_list("number", flat=True))


def requester_list_numbers(tickets: Sequence[Ticket]) -> list[int]:
    """The numbers the "My tickets" list follows live: its tickets not closed for good,
    in the list's order (newest first), within the requester socket's cap."""
    from tickets.consumers import MAX_TICKET_SUBSCRIPTIONS

    open_ = [t.number for t in tickets if t.status != TicketStatus.CLOSED]
    return open_[:MAX_TICKET_SUBSCRIPTIONS]


def requester_messages(ticket: Ticket) -> Any:
    """Everything of the request's conversation the requester may read (no private notes)."""
    return (
        Message.objects.filter(company_id=ticket.company_id, conversation_id=ticket.conversation_id)
        .filter(is_private=False, deleted=False)
        .select_related("sender_user")
        .order_by("created_at", "id")
    )


# --- the Chatwoot mirror (tasks; network outside transactions) ---------------------------


def _client(integration: Integration) -> Any:
    from integrations.chatwoot.client_api import ChatwootClientAPI

    cfg = chatwoot_settings(integration)
    if cfg is None:
        return None
    return ChatwootClientAPI(
        base_url=cfg["base_url"],
        inbox_identifier=cfg["inbox_identifier"],
        hmac_token=cfg["hmac_token"],
    )


def _contact_link(client: Any, ticket: Ticket, inbox: str) -> ChatwootContactLink:
    user = ticket.requester
    assert user is not None  # noqa: S101 - callers check the requester first
    link = ChatwootContactLink.objects.filter(
        company_id=ticket.company_id, user=user, inbox_identifier=inbox
    ).first()
    if link is not None:
        return link
    body = client.create_contact(
        identifier=f"atende-user-{user.pk}", name=user.display_name, email=user.email
    )
    link, _created = ChatwootContactLink.objects.get_or_create(
        company_id=ticket.company_id,
        user=user,
        inbox_identifier=inbox,
        defaults={
            "contact_identifier": str(body["source_id"]),
            "pubsub_token": str(body.get("pubsub_token") or ""),
        },
    )
    return link


def chatwoot_open_request(*, company_id: int, ticket_id: int) -> str | None:
    """Mirror the request in Chatwoot; idempotent (does nothing once mirrored).
    Returns the Chatwoot conversation id."""
    ticket = (
        Ticket.objects.for_company(company_id)
        .select_related("conversation__integration", "requester", "queue")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None or ticket.requester is None:
        return None
    conversation = ticket.conversation
    existing = (conversation.extra or {}).get("chatwoot_conversation_id")
    client = _client(conversation.integration)
    if client is None:
        return None
    inbox = chatwoot_settings(conversation.integration)["inbox_identifier"]  # type: ignore[index]
    link = _contact_link(client, ticket, inbox)
    if not existing:
        body = client.create_conversation(
            contact_identifier=link.contact_identifier,
            custom_attributes={
                "atende_ticket": ticket.number,
                "complexity": ticket.complexity,
                "sector": ticket.queue.name if ticket.queue else "",
                "requested_for": ticket.requested_for_name,
            },
        )
        existing = str(body["id"])
        with transaction.atomic():
            locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
            if (locked.extra or {}).get("chatwoot_conversation_id"):
                existing = locked.extra["chatwoot_conversation_id"]
            else:
                locked.extra = {
                    **(locked.extra or {}),
                    "chatwoot_conversation_id": existing,
                    "chatwoot_contact_identifier": link.contact_identifier,
                }
                # Webhooks of the inbox name the conversation by its Chatwoot id.
                locked.external_id = existing
                locked.save(update_fields=["extra", "external_id"])
    # Everything the requester wrote so far (the first message, and any chat message
    # stored before the mirror existed) goes out in order.
    pending = Message.objects.filter(
        conversation_id=conversation.pk,
        direction="in",
        external_id__isnull=True,
        sender_user__isnull=False,
    ).order_by("created_at", "id")
    for message in pending:
        _post(client, link.contact_identifier, existing, message)
    return existing


def _post(client: Any, contact_identifier: str, conversation_id: str, message: Message) -> None:
    body = client.create_message(
        contact_identifier=contact_identifier,
        conversation_id=conversation_id,
        content=message.content,
        echo_id=str(message.client_id),
    )
    if body.get("id"):
        # The inbox's webhook echoes the message back: the stored id makes it a duplicate.
        Message.objects.filter(pk=message.pk, external_id__isnull=True).update(
            external_id=str(body["id"]), sent_at=timezone.now()
        )


def chatwoot_post_message(*, company_id: int, message_id: int) -> bool:
    """Send one requester chat message to the mirrored conversation (idempotent)."""
    message = (
        Message.objects.filter(company_id=company_id, pk=message_id)
        .select_related("conversation__integration")
        .first()
    )
    if message is None or message.external_id:
        return False
    conversation = message.conversation
    extra = conversation.extra or {}
    if not extra.get("chatwoot_conversation_id"):
        # Not mirrored yet: chatwoot_open_request sends it with the rest when it runs.
        return False
    client = _client(conversation.integration)
    if client is None:
        return False
    _post(client, extra["chatwoot_contact_identifier"], extra["chatwoot_conversation_id"], message)
    return True
