"""Scheduled messages: a reply written now and sent later by Celery beat.

``scheduled_send_due`` claims due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` in
small batches, so two overlapping beat runs (or workers) never send one row twice: the
row is sent (stored through ``message_send``, whose platform send happens after commit)
and marked ``sent`` in the same transaction that holds its lock. The message carries the
idempotency key ``scheduled:<id>`` as a second guard.

WhatsApp only lets a business message a customer freely within 24 hours of the
customer's last message (the customer-service window); outside it only approved
templates go through. ``outside_24h_window`` tells the UI to warn.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.models import Conversation
from tenants.models import Membership

from ..models import ACTIVE_STATUSES, ScheduledMessage, ScheduledStatus, Ticket

logger = logging.getLogger(__name__)

WHATSAPP_WINDOW = timedelta(hours=24)
BATCH = 20
MAX_CONTENT = 4000
# Chatwoot inbox channel types that are WhatsApp underneath.
CHATWOOT_WHATSAPP_CHANNELS = {"Channel::Whatsapp", "Channel::TwilioSms", "whatsapp"}


def is_whatsapp(conversation: Conversation) -> bool:
    integration = conversation.integration
    if integration.kind in ("twilio", "umbler"):
        return True
    if integration.kind == "chatwoot":
        settings = integration.settings or {}
        channel = str(settings.get("channel_type") or settings.get("channel") or "")
        extra_channel = str((conversation.extra or {}).get("channel") or "")
        return channel in CHATWOOT_WHATSAPP_CHANNELS or extra_channel in CHATWOOT_WHATSAPP_CHANNELS
    return False


def window_closes_at(conversation: Conversation) -> datetime | None:
    """When the 24-hour window closes (None when it is not a WhatsApp conversation or
    the customer never wrote)."""
    if not is_whatsapp(conversation) or conversation.last_inbound_at is None:
        return None
    return conversation.last_inbound_at + WHATSAPP_WINDOW


def outside_24h_window(conversation: Conversation, send_at: datetime) -> bool:
    """Would a message sent at ``send_at`` fall outside WhatsApp's 24-hour window?"""
    if not is_whatsapp(conversation):
        return False
    if conversation.last_inbound_at is None:
        return True
    return send_at > conversation.last_inbound_at + WHATSAPP_WINDOW


def scheduled_message_create(
    *, ticket: Ticket, content: str, send_at: datetime, actor: Any
) -> ScheduledMessage:
    content = (content or "").strip()
    if not content:
        raise ValidationError({"content": _("The message cannot be empty.")})
    if len(content) > MAX_CONTENT:
        raise ValidationError({"content": _("At most %(n)d characters.") % {"n": MAX_CONTENT}})
    if timezone.is_naive(send_at):
        raise ValidationError({"send_at": _("Give the time with its time zone.")})
    if send_at <= timezone.now():
        raise ValidationError({"send_at": _("Choose a time in the future.")})
    if send_at > timezone.now() + timedelta(days=366):
        raise ValidationError({"send_at": _("Choose a time within a year.")})
    if ticket.status not in ACTIVE_STATUSES:
        raise ValidationError(_("Reopen the ticket to schedule a message on it."))
    return ScheduledMessage.objects.create(
        company_id=ticket.company_id,
        ticket=ticket,
        content=content,
        send_at=send_at,
        created_by=actor,
    )


@transaction.atomic
def scheduled_message_cancel(
    *, scheduled: ScheduledMessage, membership: Membership
) -> ScheduledMessage:
    """Cancel a message not sent yet (its author, or a supervisor/admin)."""
    row = ScheduledMessage.objects.select_for_update().get(
        pk=scheduled.pk, company_id=scheduled.company_id
    )
    if row.created_by_id != membership.user_id and not membership.is_supervisor:
        raise PermissionDenied(_("Only its author or a supervisor cancels this message."))
    if row.status != ScheduledStatus.SCHEDULED:
        raise ValidationError(_("This message is no longer scheduled."))
    row.status = ScheduledStatus.CANCELLED
    row.cancelled_at = timezone.now()
    row.save(update_fields=["status", "cancelled_at"])
    return row


def _send_one(row: ScheduledMessage) -> None:
    from conversations.services.outbound import message_send

    try:
        with transaction.atomic():
            message = message_send(
                ticket=row.ticket,
                content=row.content,
                actor=row.created_by,
                idempotency_key=f"scheduled:{row.pk}",
                source="staff",
            )
    except (ValidationError, PermissionDenied) as exc:
        row.status = ScheduledStatus.FAILED
        row.error = "; ".join(getattr(exc, "messages", [str(exc)]))[:1000]
        row.save(update_fields=["status", "error"])
        return
    row.status = ScheduledStatus.SENT
    row.message = message
    row.sent_at = timezone.now()
    row.save(update_fields=["status", "message", "sent_at"])


def scheduled_claim_and_send(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Claim up to ``limit`` due rows (SKIP LOCKED) and send them in one transaction.
    Returns how many were handled."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            ScheduledMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket", "created_by")
            .filter(status=ScheduledStatus.SCHEDULED, send_at__lte=now)
            .order_by("send_at", "id")[:limit]
        )
        for row in rows:
            _send_one(row)
    return len(rows)


def scheduled_send_due(*, now: datetime | None = None, max_batches: int = 50) -> int:
    """Send everything due, batch after batch. Returns the number handled."""
    total = 0
    for _batch in range(max_batches):
        handled = scheduled_claim_and_send(now=now)
        total += handled
        if handled < BATCH:
            break
    return total
