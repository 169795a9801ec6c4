"""Reads for the buffer monitor and the settings page (company-scoped)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.models import Conversation, Message
from integrations.base import Direction, SenderType
from tenants.models import Company
from tickets.models import ACTIVE_STATUSES, Ticket

from .models import AIReplyLog, AISettings, ReplyStatus


def ai_settings_get(*, company: Company) -> AISettings:
    """The company's settings (an unsaved default row, off, until an admin saves)."""
    return AISettings.objects.filter(company=company).first() or AISettings(company=company)


def _state(log_status: str | None) -> str:
    if log_status == ReplyStatus.CALLING:
        return "calling"
    if log_status == ReplyStatus.SENDING:
        return "sending"
    if log_status == ReplyStatus.FAILED:
        return "failed"
    return "waiting"


def _state_label(state: str) -> str:
    """What the monitor shows for a buffer state, in the viewer's language."""
    labels = {
        "calling": ReplyStatus.CALLING.label,
        "sending": ReplyStatus.SENDING.label,
        "failed": ReplyStatus.FAILED.label,
    }
    return str(labels.get(state, _("Waiting")))


def pending_buffers(*, company: Company, now: datetime | None = None) -> list[dict[str, Any]]:
    """Conversations waiting for an AI reply: messages waiting, when the reply is due, and
    the state of the latest attempt (waiting / calling / sending / failed). Three queries."""
    now = now or timezone.now()
    ai = AISettings.objects.filter(company=company).first()
    buffer_s = ai.buffer_seconds if ai else 10
    max_wait = ai.max_wait_seconds if ai else 60
    latest = AIReplyLog.objects.filter(
        conversation=OuterRef("pk"), started_at__gte=OuterRef("ai_pending_since")
    ).order_by("-started_at")
    ticket = Ticket.objects.filter(conversation=OuterRef("pk"), status__in=ACTIVE_STATUSES)
    conversations = list(
        Conversation.objects.for_company(company)
        .filter(ai_pending_since__isnull=False)
        .select_related("contact")
        .annotate(
            log_status=Subquery(latest.values("status")[:1]),
            log_error=Subquery(latest.values("error")[:1]),
            ticket_number=Subquery(ticket.values("number")[:1]),
            ticket_id=Subquery(ticket.values("pk")[:1]),
        )
        .order_by("ai_pending_since")[:200]
    )
    counts = {
        row["conversation_id"]: row
        for row in Message.objects.for_company(company)
        .filter(
            conversation__in=[c.pk for c in conversations],
            direction=Direction.INBOUND,
            sender_type=SenderType.CONTACT,
            is_private=False,
            id__gt=F("conversation__ai_cursor_message_id"),
        )
        .values("conversation_id")
        .annotate(n=Count("id"), last=Max("received_at"))
    }
    rows = []
    for c in conversations:
        info = counts.get(c.pk, {"n": 0, "last": c.ai_pending_since})
        due = min(
            (info["last"] or c.ai_pending_since) + timedelta(seconds=buffer_s),
            c.ai_pending_since + timedelta(seconds=max_wait),
        )
        rows.append(
            {
                "conversation": c.pk,
                "contact": str(c.contact),
                "ticket": c.ticket_id,
                "ticket_number": c.ticket_number,
                "messages_waiting": info["n"],
                "pending_since": c.ai_pending_since.isoformat(),
                "due_at": due.isoformat(),
                "seconds_left": max(0, round((due - now).total_seconds())),
                "state": _state(c.log_status),
                "state_label": _state_label(_state(c.log_status)),
                "error": c.log_error or "" if c.log_status == ReplyStatus.FAILED else "",
            }
        )
    return rows


def recent_replies(*, company: Company, limit: int = 20) -> list[AIReplyLog]:
    return list(
        AIReplyLog.objects.for_company(company)
        .exclude(status=ReplyStatus.CALLING)
        .select_related("conversation__contact")
        .order_by("-started_at")[:limit]
    )


def reply_as_dict(log: AIReplyLog) -> dict[str, Any]:
    return {
        "id": log.pk,
        "conversation": log.conversation_id,
        "contact": str(log.conversation.contact),
        "status": log.status,
        "status_label": str(log.get_status_display()),
        "started_at": log.started_at.isoformat(),
        "messages": log.messages_answered,
        "latency_ms": log.latency_ms,
        "tokens": log.total_tokens,
        "tools": log.tool_calls,
        "error": log.error[:200],
    }
