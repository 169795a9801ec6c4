"""The AI buffer (DESIGN.md "The AI attendant and its buffer").

The database is the buffer: ``Conversation.ai_pending_since`` says a burst waits for a
reply and ``ai_cursor_message_id`` is the last inbound message already answered. Redis
only times the reply: a sequence per conversation (the newest scheduled task owns the
burst; older ones exit as stale) and a short lock while one task works. Losing Redis
costs a delay (the sweeper re-schedules), never a message.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversations.hooks import MessageContext
from conversations.models import Conversation, Message
from integrations.base import Direction, SenderType
from tenants.models import Company
from tickets.models import ACTIVE_STATUSES, Ticket

from .models import AISettings

log = logging.getLogger(__name__)

SEQ_TTL_SECONDS = 24 * 3600


@lru_cache(maxsize=1)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def redis_client() -> redis.Redis:
    return _redis(settings.REDIS_URL)


def seq_key(conversation_id: int) -> str:
    return f"{settings.REDIS_PREFIX}:ai:seq:{conversation_id}"


def lock_key(conversation_id: int) -> str:
    return f"{settings.REDIS_PREFIX}:ai:lock:{conversation_id}"


def settings_for(company_id: int, company: Any = None) -> AISettings | None:
    """The company's AI settings; free when ``company`` was loaded with them (the webhook
    path selects them with the integration)."""
    if company is not None and Company.ai_settings.is_cached(company):
        try:
            return company.ai_settings  # type: ignore[no-any-return]
        except AISettings.DoesNotExist:
            return None
    return AISettings.objects.filter(company_id=company_id).first()


def ticket_is_ai_handled(ticket: Ticket | None) -> bool:
    """A ticket the AI answers: active, not paused, not with a human."""
    return (
        ticket is not None
        and ticket.status in ACTIVE_STATUSES
        and not ticket.ai_paused
        and ticket.assignee_id is None
    )


def is_buffered(message: Message) -> bool:
    return (
        message.direction == Direction.INBOUND
        and message.sender_type == SenderType.CONTACT
        and not message.is_private
    )


# --- the message_stored hook -----------------------------------------------------------


def on_message_stored(message: Message, ctx: MessageContext) -> None:
    """Runs inside the ingest transaction: one conditional UPDATE, scheduling after commit."""
    if not is_buffered(message):
        return
    ticket = ctx.ticket if ctx.ticket is not None else message.ticket
    if not ticket_is_ai_handled(ticket):
        return
    conversation = message.conversation
    if conversation.is_group:
        return  # WhatsApp groups are for people; the attendant stays out of them.
    company = conversation.company if Conversation.company.is_cached(conversation) else None
    ai = settings_for(message.company_id, company)
    if ai is None or not ai.is_active:
        return
    now = timezone.now()
    # Only the first message of a burst sets the start and moves the cursor up to just
    # before it: older inbound messages were handled by people (the AI was paused/off).
    started = Conversation.objects.filter(pk=conversation.pk, ai_pending_since__isnull=True).update(
        ai_pending_since=now, ai_cursor_message_id=message.pk - 1
    )
    if started:
        pending_since = now
    else:
        pending_since = (
            Conversation.objects.filter(pk=conversation.pk)
            .values_list("ai_pending_since", flat=True)
            .first()
        ) or now
    company_id, conversation_id = message.company_id, conversation.pk
    buffer_s, max_wait = ai.buffer_seconds, ai.max_wait_seconds
    transaction.on_commit(
        lambda: schedule_reply(
            company_id=company_id,
            conversation_id=conversation_id,
            buffer_seconds=buffer_s,
            max_wait_seconds=max_wait,
            pending_since=pending_since,
        )
    )


# --- scheduling ------------------------------------------------------------------------


def reply_countdown(
    *, buffer_seconds: float, max_wait_seconds: float, pending_since: datetime, now: datetime
) -> float:
    """Seconds until the reply: the buffer, but never past the burst's maximum wait."""
    waited = (now - pending_since).total_seconds()
    if waited >= max_wait_seconds:
        return 0.0
    return max(0.0, min(float(buffer_seconds), max_wait_seconds - waited))


def next_seq(conversation_id: int) -> int:
    client = redis_client()
    key = seq_key(conversation_id)
    pipe = client.pipeline()
    pipe.incr(key)
    pipe.expire(key, SEQ_TTL_SECONDS)
    value, _ok = pipe.execute()
    return int(value)


def schedule_reply(
    *,
    company_id: int,
    conversation_id: int,
    buffer_seconds: float,
    max_wait_seconds: float,
    pending_since: datetime,
    now: datetime | None = None,
) -> bool:
    """After commit: claim the burst (INCR) and enqueue the reply task with its countdown.
    A Redis or broker outage is logged, not raised: the sweeper re-schedules later."""
    from .tasks import ai_reply

    now = now or timezone.now()
    countdown = reply_countdown(
        buffer_seconds=buffer_seconds,
        max_wait_seconds=max_wait_seconds,
        pending_since=pending_since,
        now=now,
    )
    try:
        seq = next_seq(conversation_id)
        ai_reply.apply_async((company_id, conversation_id, seq), countdown=countdown)
    except Exception:  # Redis/broker down: the sweeper owns recovery
        log.warning("AI reply not scheduled for conversation %s", conversation_id, exc_info=True)
        return False
    notify_monitor(company_id, conversation_id, "waiting")
    return True


def notify_monitor(company_id: int, conversation_id: int, state: str) -> None:
    """Already after commit: tell the supervisors' monitor now (best effort)."""
    from conversations import realtime

    try:
        realtime.send_now(
            [realtime.supervisors_group(company_id)],
            {"type": "ai.buffer", "conversation": conversation_id, "state": state},
        )
    except Exception:
        log.warning("AI monitor not notified", exc_info=True)


def schedule_now(*, company_id: int, conversation_id: int) -> bool:
    """Reply now (monitor button, sweeper): a new sequence makes queued tasks stale."""
    from .tasks import ai_reply

    try:
        seq = next_seq(conversation_id)
        ai_reply.apply_async((company_id, conversation_id, seq), countdown=0)
    except Exception:
        log.warning("AI reply not scheduled for conversation %s", conversation_id, exc_info=True)
        return False
    return True


def is_stale(conversation_id: int, seq: int) -> bool:
    """True when a newer task owns the burst. A missing key (Redis flushed) is not stale:
    the task proceeds and the cursor check keeps it from answering twice."""
    current = redis_client().get(seq_key(conversation_id))
    return current is not None and int(current) > seq


class Lock:
    """SET NX PX with a token; released only by its owner (compare-and-delete)."""

    _release = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
        "else return 0 end"
    )

    def __init__(self, conversation_id: int, ttl_ms: int) -> None:
        self.key = lock_key(conversation_id)
        self.ttl_ms = ttl_ms
        self.token = secrets.token_hex(8)

    def acquire(self) -> bool:
        return bool(redis_client().set(self.key, self.token, nx=True, px=self.ttl_ms))

    def release(self) -> None:
        try:
            redis_client().eval(self._release, 1, self.key, self.token)
        except redis.RedisError:
            log.warning("AI lock %s not released (expires by itself)", self.key)


def stale_pending(
    *, now: datetime, margin_seconds: int, activity_seconds: int
) -> list[tuple[int, int]]:
    """(company_id, conversation_id) of bursts waiting longer than their maximum wait +
    margin, leaving out those with a reply attempt still in progress (calling, or failed
    and waiting for its retry)."""
    from .models import AIReplyLog, ReplyStatus

    busy = AIReplyLog.objects.filter(
        started_at__gte=now - timedelta(seconds=activity_seconds),
        status__in=[ReplyStatus.CALLING, ReplyStatus.FAILED],
    ).values("conversation_id")
    rows = (
        Conversation.objects.filter(ai_pending_since__isnull=False)
        .exclude(pk__in=busy)
        .values_list("company_id", "pk", "ai_pending_since")
    )
    windows = dict(AISettings.objects.values_list("company_id", "max_wait_seconds"))
    out = []
    for company_id, conversation_id, since in rows:
        window = windows.get(company_id, 60)
        if since is not None and since <= now - timedelta(seconds=window + margin_seconds):
            out.append((company_id, conversation_id))
    return out
