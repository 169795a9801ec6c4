"""Staff and AI replies going out: store first, send after commit, record the outcome.

``message_send`` stores a pending outbound message in one short transaction and, after
commit, enqueues ``integrations.tasks.send_message``. The task calls ``message_deliver``,
which claims the message, calls the platform client outside any transaction and records
the platform's id (or the failure) in another short transaction. Delivery is
at-least-once: a worker that dies after the platform accepted a message but before the
id is recorded sends it again when the task is redelivered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations import hooks, realtime
from conversations.models import Message
from conversations.services.ingest import message_apply_parked
from integrations.base import ContentType, DeliveryStatus, Direction, SenderType
from integrations.clients import (
    OutboundMessage,
    PermanentSendError,
    SendError,
    SendResult,
    TransientSendError,
    client_for,
)
from integrations.models import Integration, IntegrationKind, LogLevel
from integrations.services.logs import log_entry
from tickets.models import Ticket

logger = logging.getLogger(__name__)

MAX_CONTENT = 10_000  # WhatsApp allows 4096; Chatwoot more. Longer is surely a mistake.
SENDER_TYPES = {SenderType.AGENT, SenderType.BOT, SenderType.SYSTEM}


def _clean_attachments(attachments: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    cleaned = []
    for item in attachments:
        url = str(item.get("url") or "").strip()
        if not url.startswith(("https://", "http://")):
            raise ValidationError(_("Attachments need an http(s) URL."))
        cleaned.append({**item, "url": url})
    return cleaned


def message_send(
    *,
    ticket: Ticket,
    content: str,
    actor: Any = None,
    sender_type: str = SenderType.AGENT,
    attachments: Iterable[Mapping[str, Any]] = (),
    idempotency_key: str | None = None,
    source: str = "staff",
) -> Message:
    """Store a reply on ``ticket``'s conversation and send it after commit.

    With ``idempotency_key`` (the AI attendant passes the last inbound message it
    answers) a second call with the same key returns the first message and sends
    nothing: a crashed and retried caller never replies twice.
    """
    content = (content or "").strip()
    files = _clean_attachments(attachments)
    if not content and not files:
        raise ValidationError(_("A reply needs some text."))
    if len(content) > MAX_CONTENT:
        raise ValidationError(
            _("A reply can have at most %(max)d characters.") % {"max": MAX_CONTENT}
        )
    if sender_type not in SENDER_TYPES:
        raise ValidationError(_("Unknown sender type."))
    with transaction.atomic():
        # Locks the ticket so waiting_since/first_response_at stay consistent with
        # a concurrent inbound message (ingest takes the same lock).
        # of=("self",): lock the ticket row only, not the joined conversation/integration.
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("conversation__integration")
            .get(pk=ticket.pk, company_id=ticket.company_id)
        )
        conversation = ticket.conversation
        if idempotency_key:
            existing = Message.objects.filter(
                conversation=conversation, idempotency_key=idempotency_key
            ).first()
            if existing is not None:
                return existing
        now = timezone.now()
        # The web form has no platform to send through: the requester reads the
        # reply in Atende, so it is delivered as soon as it is stored.
        local_only = conversation.integration.kind == IntegrationKind.WEB
        message = Message(
            company_id=ticket.company_id,
            conversation=conversation,
            ticket=ticket,
            direction=Direction.OUTBOUND,
            sender_type=sender_type,
            sender_user=actor if sender_type == SenderType.AGENT else None,
            sender_name=getattr(actor, "display_name", "") if actor is not None else "",
            content=content,
            content_type=ContentType.TEXT if not files else files[0].get("kind", ContentType.FILE),
            attachments=files,
            delivery_status=DeliveryStatus.DELIVERED if local_only else DeliveryStatus.PENDING,
            sent_at=now if local_only else None,
            idempotency_key=idempotency_key or None,
            created_at=now,
        )
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            # A concurrent call with the same idempotency key won the race.
            existing = Message.objects.filter(
                conversation=conversation, idempotency_key=idempotency_key
            ).first()
            if idempotency_key and existing is not None:
                return existing
            raise
        # Metrics read the wait this reply ends (docs/contracts.md): keep it for the hooks.
        waited_since = ticket.waiting_since
        ticket_fields: dict[str, Any] = {"last_message_at": now, "updated_at": now}
        if sender_type in (SenderType.AGENT, SenderType.BOT):
            # Automatic system messages (greeting, out-of-hours reply) answer nobody:
            # the customer is still waiting for a person or the AI.
            ticket_fields["waiting_since"] = None
            if ticket.first_response_at is None:
                ticket_fields["first_response_at"] = now
        Ticket.objects.filter(pk=ticket.pk).update(**ticket_fields)
        for name, value in ticket_fields.items():
            setattr(ticket, name, value)
        type(conversation).objects.filter(pk=conversation.pk).update(last_message_at=now)
        hooks.message_stored(
            message,
            hooks.MessageContext(
                ticket=ticket, source=source, extra={"waiting_since": waited_since}
            ),
        )
        realtime.message_changed(message, "message.created")
        if not local_only:
            _enqueue_after_commit(message)
    return message


def note_add(*, ticket: Ticket, content: str, actor: Any) -> Message:
    """Store a private note on the ticket's conversation. Notes are never sent."""
    content = (content or "").strip()
    if not content:
        raise ValidationError(_("A note needs some text."))
    if len(content) > MAX_CONTENT:
        raise ValidationError(
            _("A note can have at most %(max)d characters.") % {"max": MAX_CONTENT}
        )
    with transaction.atomic():
        now = timezone.now()
        message = Message.objects.create(
            company_id=ticket.company_id,
            conversation_id=ticket.conversation_id,
            ticket=ticket,
            direction=Direction.OUTBOUND,
            sender_type=SenderType.AGENT,
            sender_user=actor,
            sender_name=getattr(actor, "display_name", ""),
            content=content,
            is_private=True,
            # Nothing to deliver; "sent" keeps it out of the pending/failed send index.
            delivery_status=DeliveryStatus.SENT,
            created_at=now,
        )
        hooks.message_stored(message, hooks.MessageContext(ticket=ticket, source="staff"))
        realtime.message_changed(message, "message.created")
    return message


def message_retry(*, message: Message, actor: Any) -> Message:
    """Send a failed outbound message again (failed -> pending, re-enqueued)."""
    if message.direction != Direction.OUTBOUND or message.is_private:
        raise ValidationError(_("Only replies can be sent again."))
    with transaction.atomic():
        updated = Message.objects.filter(
            pk=message.pk, company_id=message.company_id, delivery_status=DeliveryStatus.FAILED
        ).update(delivery_status=DeliveryStatus.PENDING, error_code="", error_message="")
        if not updated:
            raise ValidationError(_("Only a failed message can be sent again."))
        message.refresh_from_db()
        realtime.message_changed(message, "message.status", status=message.delivery_status)
        _enqueue_after_commit(message)
    logger.info("message %s re-queued by %s", message.pk, getattr(actor, "pk", None))
    return message


def _enqueue_after_commit(message: Message) -> None:
    from integrations.tasks import send_message

    company_id, message_id = message.company_id, message.pk
    transaction.on_commit(lambda: send_message.delay(company_id, message_id))


# --- delivery (called by integrations.tasks.send_message) ----------------------------


def _outbound_for(message: Message, integration: Integration) -> OutboundMessage:
    conversation = message.conversation
    contact = conversation.contact
    callback = integration.webhook_url()
    return OutboundMessage(
        client_id=str(message.client_id),
        content=message.content,
        conversation_external_id=conversation.external_id,
        contact_phone=contact.phone,
        contact_name=contact.name,
        attachments=tuple(message.attachments or ()),
        # Platforms need an absolute URL; without PUBLIC_BASE_URL there is none to give.
        status_callback=callback if callback.startswith(("https://", "http://")) else "",
    )


def message_deliver(*, company_id: int, message_id: int, final_attempt: bool = False) -> str:
    """Send one pending outbound message through its integration's client.

    Returns "sent", "failed" or "skipped" (not pending any more, or claimed by another
    worker). Raises TransientSendError when a retry may succeed and this is not the
    final attempt; the caller (the task) retries with backoff.
    """
    message = (
        Message.objects.for_company(company_id)
        .select_related("conversation__integration", "conversation__contact")
        .filter(pk=message_id, direction=Direction.OUTBOUND, is_private=False)
        .first()
    )
    if message is None or message.delivery_status != DeliveryStatus.PENDING:
        return "skipped"
    # Claim: only the worker that moves send_attempts from the value it read sends.
    claimed = Message.objects.filter(
        pk=message.pk,
        delivery_status=DeliveryStatus.PENDING,
        send_attempts=message.send_attempts,
    ).update(send_attempts=F("send_attempts") + 1)
    if not claimed:
        return "skipped"
    message.send_attempts += 1
    integration = message.conversation.integration
    try:
        if not integration.is_active:
            raise PermanentSendError("the integration is deactivated", code="inactive")
        try:
            client = client_for(integration)
        except ValueError as exc:  # secrets that cannot be decrypted
            raise PermanentSendError(str(exc), code="secrets") from exc
        if client is None:
            result = SendResult(external_id="")
        else:
            result = client.send(_outbound_for(message, integration))
    except PermanentSendError as exc:
        _record_failure(message, integration, exc, final=True)
        return "failed"
    except TransientSendError as exc:
        _record_failure(message, integration, exc, final=final_attempt)
        if final_attempt:
            return "failed"
        raise
    _record_sent(message, integration, result)
    return "sent"


def _record_sent(message: Message, integration: Integration, result: SendResult) -> None:
    now = timezone.now()
    with transaction.atomic():
        row = Message.objects.select_for_update().get(pk=message.pk)
        # The echo (Chatwoot) may have been ingested first and already set the id.
        if result.external_id and not row.external_id:
            row.external_id = result.external_id
        if row.delivery_status == DeliveryStatus.PENDING:
            row.delivery_status = DeliveryStatus.SENT
        row.sent_at = row.sent_at or now
        row.error_code = ""
        row.error_message = ""
        fields = ["external_id", "delivery_status", "sent_at", "error_code", "error_message"]
        try:
            with transaction.atomic():
                row.save(update_fields=fields)
        except IntegrityError:
            # Another row of this conversation already holds the platform id: the echo
            # was stored as a separate message. Keep ours without the id rather than lose it.
            row.external_id = None
            row.save(update_fields=fields)
            _log(
                integration,
                LogLevel.WARNING,
                "platform id already used by another message",
                {"message_id": row.pk, "external_id": result.external_id},
            )
        Integration.objects.filter(pk=integration.pk).update(last_send_ok_at=now)
        realtime.message_changed(row, "message.status", status=row.delivery_status)
        # Statuses that arrived before we knew the platform id (Twilio can call back
        # before messages.create returns) were parked by ingest: apply them now.
        _apply_parked(row, integration)
    _log(
        integration,
        LogLevel.INFO,
        "message sent",
        {
            "message_id": message.pk,
            "external_id": result.external_id,
            "attempt": message.send_attempts,
        },
    )


def _record_failure(
    message: Message, integration: Integration, exc: SendError, *, final: bool
) -> None:
    now = timezone.now()
    text = str(exc)
    with transaction.atomic():
        if final:
            Message.objects.filter(pk=message.pk, delivery_status=DeliveryStatus.PENDING).update(
                delivery_status=DeliveryStatus.FAILED,
                error_code=exc.code or type(exc).__name__,
                error_message=exc.reason,
            )
            message.refresh_from_db()
            realtime.message_changed(
                message,
                "message.status",
                status=message.delivery_status,
                error=message.error_message,
            )
        else:
            # Still pending: the reason is kept so staff see why it is taking long.
            Message.objects.filter(pk=message.pk).update(
                error_code=exc.code or type(exc).__name__, error_message=exc.reason
            )
        Integration.objects.filter(pk=integration.pk).update(
            last_send_error_at=now, last_send_error=text[:1000]
        )
    level = LogLevel.ERROR if final else LogLevel.WARNING
    summary = "send failed" if final else "send failed, will retry"
    _log(
        integration,
        level,
        summary,
        {
            "message_id": message.pk,
            "error": text,
            "attempt": message.send_attempts,
            "transient": isinstance(exc, TransientSendError),
        },
    )


def _apply_parked(message: Message, integration: Integration) -> None:
    message_apply_parked(message, integration_id=integration.pk)


def _log(integration: Integration, level: str, text: str, context: dict[str, Any]) -> None:
    log_entry(
        company=integration.company_id,
        integration=integration,
        level=level,
        source="send",
        message=text,
        context=context,
    )
