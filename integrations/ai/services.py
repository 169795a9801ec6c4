"""The AI reply: read the burst, call the model outside any transaction, save once.

Ordering and concurrency contract (DESIGN.md):
- a task whose sequence is stale exits (a newer message owns the burst);
- one task at a time per conversation (Redis lock); the lock is an optimisation only --
  correctness comes from the save transaction, which locks the conversation row,
  re-checks the cursor and uses the idempotency key ``ai:<last inbound id>`` (unique per
  conversation), so a crash, a retry or a duplicate delivery never replies twice;
- messages that arrive while the model answers stay pending and get their own reply.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import realtime
from conversations.models import Conversation, Message
from integrations.base import ContentType, Direction, SenderType
from integrations.models import LogEntry, LogLevel
from tickets.models import ACTIVE_STATUSES, Ticket

from . import bridge, buffer
from . import tools as ai_tools
from .client import AIError, Usage, chat, client_for, transcribe
from .models import AIReplyLog, AISettings, ReplyStatus

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 4
SPLIT_MIN_CHARS = 280
SPLIT_MAX_PARTS = 5
LOCK_MARGIN_MS = 30_000
BUSY_RETRY_SECONDS = 2

# Tests swap the Sheets factory for one bound to mocked HTTP.
store_factory: ai_tools.StoreFactory = ai_tools.default_store


@dataclass
class Burst:
    conversation: Conversation
    ticket: Ticket
    ai: AISettings
    cursor: int
    messages: list[Message]

    @property
    def last_id(self) -> int:
        return self.messages[-1].pk

    @property
    def key(self) -> str:
        return f"ai:{self.last_id}"


def _buffered(qs: Any) -> Any:
    return qs.filter(
        direction=Direction.INBOUND, sender_type=SenderType.CONTACT, is_private=False
    ).order_by("id")


def _active_ticket(company_id: int, conversation: Conversation) -> Ticket | None:
    return (
        Ticket.objects.for_company(company_id)
        .filter(conversation=conversation, status__in=ACTIVE_STATUSES)
        .select_related("contact")
        .first()
    )


def publish_buffer(company_id: int, conversation_id: int, state: str) -> None:
    """Tell the monitor (supervisors) that a buffer changed; it refetches its JSON."""
    realtime.publish_on_commit(
        [realtime.supervisors_group(company_id)],
        {"type": "ai.buffer", "conversation": conversation_id, "state": state},
    )


def _clear_pending(conversation: Conversation) -> None:
    Conversation.objects.filter(
        pk=conversation.pk, ai_pending_since=conversation.ai_pending_since
    ).update(ai_pending_since=None)
    publish_buffer(conversation.company_id, conversation.pk, "cleared")


# --- entry point (the task calls this) -------------------------------------------------


def reply_run(
    *, company_id: int, conversation_id: int, seq: int, attempt: int = 0, last_try: bool = False
) -> str:
    """Answer the conversation's pending burst. Returns what happened (for logs/tests).
    Raises AIError to be retried, unless ``last_try``: then the fallback runs."""
    try:
        if buffer.is_stale(conversation_id, seq):
            return "stale"
    except Exception:  # Redis down: the DB checks below still make this safe
        log.warning("AI sequence unreadable for conversation %s", conversation_id)
    ai = buffer.settings_for(company_id)
    ttl_ms = ((ai.request_timeout_seconds if ai else 45) * (MAX_TOOL_ROUNDS + 2)) * 1000
    lock = buffer.Lock(conversation_id, ttl_ms + LOCK_MARGIN_MS)
    try:
        locked = lock.acquire()
    except Exception:
        log.warning("AI lock unavailable for conversation %s", conversation_id)
        locked = True  # proceed; the save transaction is the real guard
    if not locked:
        # Another task is answering; try again shortly (it may leave newer messages).
        from .tasks import ai_reply

        ai_reply.apply_async((company_id, conversation_id, seq), countdown=BUSY_RETRY_SECONDS)
        return "busy"
    try:
        return _run_locked(
            company_id=company_id,
            conversation_id=conversation_id,
            attempt=attempt,
            last_try=last_try,
        )
    finally:
        lock.release()


def _load_burst(company_id: int, conversation_id: int) -> Burst | str:
    conversation = Conversation.objects.for_company(company_id).filter(pk=conversation_id).first()
    if conversation is None or conversation.ai_pending_since is None:
        return "nothing"
    ai = buffer.settings_for(company_id)
    ticket = _active_ticket(company_id, conversation)
    if ai is None or not ai.is_active or ticket is None or not buffer.ticket_is_ai_handled(ticket):
        _clear_pending(conversation)
        return "off"
    cursor = conversation.ai_cursor_message_id or 0
    messages = list(
        _buffered(
            Message.objects.for_company(company_id).filter(conversation=conversation, id__gt=cursor)
        )
    )
    if not messages:
        _clear_pending(conversation)
        return "nothing"
    return Burst(conversation=conversation, ticket=ticket, ai=ai, cursor=cursor, messages=messages)


def _run_locked(*, company_id: int, conversation_id: int, attempt: int, last_try: bool) -> str:
    loaded = _load_burst(company_id, conversation_id)
    if isinstance(loaded, str):
        return loaded
    burst = loaded
    record = AIReplyLog.objects.create(
        company_id=company_id,
        conversation=burst.conversation,
        ticket=burst.ticket,
        status=ReplyStatus.CALLING,
        attempt=attempt,
        model=burst.ai.model,
        first_message_id=burst.messages[0].pk,
        last_message_id=burst.last_id,
        messages_answered=len(burst.messages),
        started_at=timezone.now(),
    )
    publish_buffer(company_id, conversation_id, ReplyStatus.CALLING)
    usage = Usage()
    runner = ai_tools.ToolRunner(
        ai=burst.ai,
        conversation=burst.conversation,
        ticket=burst.ticket,
        contact=burst.ticket.contact,
        last_message_id=burst.last_id,
        store_factory=store_factory,
    )
    try:
        client = client_for(burst.ai)
        _transcribe_audio(client, burst)
        reply = _converse(client, burst, runner, usage)
    except AIError as exc:
        _finish_log(record, usage, runner, status=ReplyStatus.FAILED, error=str(exc))
        publish_buffer(company_id, conversation_id, ReplyStatus.FAILED)
        if last_try:
            return reply_fallback(burst=burst, error=str(exc))
        raise
    return _save_reply(burst=burst, reply=reply, runner=runner, usage=usage, record=record)


# --- model ------------------------------------------------------------------------------


def _download(url: str) -> bytes:
    try:
        response = requests.get(url, timeout=settings.OUTBOUND_HTTP_TIMEOUT)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise AIError(f"audio download failed: {exc}") from exc
    return response.content


def _audio_attachment(message: Message) -> dict[str, Any] | None:
    for item in message.attachments or []:
        if not isinstance(item, dict) or not item.get("url"):
            continue
        if item.get("kind") == ContentType.AUDIO or str(item.get("mime_type", "")).startswith(
            "audio/"
        ):
            return item
    return None


def _transcribe_audio(client: Any, burst: Burst) -> None:
    """Transcribe audio messages of the burst once; the text is stored on the message
    (staff see it) and fed to the model. Done before the model call, outside transactions."""
    if not burst.ai.transcription_model:
        return
    for message in burst.messages:
        attachment = _audio_attachment(message)
        if attachment is None or message.transcription:
            continue
        mime = str(attachment.get("mime_type") or "audio/ogg").split(";")[0]
        filename = attachment.get("filename") or f"audio-{message.pk}.{mime.split('/')[-1]}"
        text = transcribe(
            client,
            model=burst.ai.transcription_model,
            filename=filename,
            data=_download(str(attachment["url"])),
            mime_type=mime,
        )
        Message.objects.filter(pk=message.pk).update(transcription=text)
        message.transcription = text
        realtime.message_changed(message, "message.updated", transcription=True)


def _render(message: Message) -> str:
    text = (message.content or "").strip()
    if message.transcription:
        text = f"{text}\n[audio] {message.transcription}".strip()
    if not text and message.content_type != ContentType.TEXT:
        text = f"[{message.content_type}]"
    return text


def system_prompt(burst: Burst) -> str:
    company = burst.conversation.company
    now = timezone.localtime(timezone.now(), company.tzinfo)
    base = burst.ai.system_prompt.strip() or (
        f"You are the customer-service attendant of {company.name}. Answer briefly and "
        "kindly, in the customer's language. Never invent prices, policies or availability."
    )
    facts = f"Now: {now:%Y-%m-%d %H:%M} ({company.timezone}). Customer: {burst.ticket.contact}."
    return f"{base}\n\n{facts}"


def build_context(burst: Burst) -> list[dict[str, Any]]:
    """The latest messages of the conversation within the character budget, oldest first,
    then the burst being answered (always included, always last: replies stored after
    the burst began, such as the answer to an earlier burst, come before it)."""
    budget = burst.ai.max_context_chars
    burst_turns = [
        {"role": "user", "content": text[:budget]} for text in map(_render, burst.messages) if text
    ]
    used = sum(len(t["content"]) for t in burst_turns)
    history = (
        Message.objects.for_company(burst.conversation.company_id)
        .filter(conversation=burst.conversation, is_private=False, deleted=False)
        .filter(Q(id__lt=burst.messages[0].pk) | ~Q(direction=Direction.INBOUND))
        .exclude(pk__in=[m.pk for m in burst.messages])
        .order_by("-id")[:200]
    )
    picked: list[dict[str, Any]] = []
    for message in history:
        text = _render(message)
        if not text:
            continue
        if used + len(text) > budget:
            break
        used += len(text)
        role = "user" if message.direction == Direction.INBOUND else "assistant"
        picked.append({"role": role, "content": text})
    picked.reverse()
    return picked + burst_turns


def _assistant_with_tools(message: Any) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": message.content or "",
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in message.tool_calls
        ],
    }


def _converse(client: Any, burst: Burst, runner: ai_tools.ToolRunner, usage: Usage) -> str:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(burst)}]
    messages += build_context(burst)
    definitions = ai_tools.definitions(burst.ai)
    for _round in range(MAX_TOOL_ROUNDS + 1):
        answer = chat(
            client, model=burst.ai.model, messages=messages, tools=definitions, usage=usage
        )
        if not answer.tool_calls:
            text = (answer.content or "").strip()
            if not text and runner.handoff_summary is None:
                raise AIError("the model returned an empty reply")
            return text
        messages.append(_assistant_with_tools(answer))
        for call in answer.tool_calls:
            result = runner.execute(call.function.name, call.function.arguments)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    raise AIError("the model kept calling tools without answering")


def split_reply(text: str, *, enabled: bool) -> list[str]:
    """Paragraphs as separate messages (WhatsApp style), at most SPLIT_MAX_PARTS."""
    text = text.strip()
    if not enabled or len(text) < SPLIT_MIN_CHARS:
        return [text] if text else []
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paragraphs) <= 1:
        return [text]
    head, tail = paragraphs[: SPLIT_MAX_PARTS - 1], paragraphs[SPLIT_MAX_PARTS - 1 :]
    return head + (["\n\n".join(tail)] if tail else [])


# --- save -------------------------------------------------------------------------------


def _finish_log(
    record: AIReplyLog,
    usage: Usage,
    runner: ai_tools.ToolRunner,
    *,
    status: str,
    error: str = "",
    parts: list[str] | None = None,
    message_ids: list[int] | None = None,
) -> None:
    record.status = status
    record.error = error
    record.model_calls = usage.calls
    record.latency_ms = usage.latency_ms if usage.calls else None
    record.prompt_tokens = usage.prompt_tokens
    record.completion_tokens = usage.completion_tokens
    record.total_tokens = usage.total_tokens
    record.tool_calls = list(runner.called)
    record.finished_at = timezone.now()
    if parts is not None:
        record.parts = parts
        record.parts_sent = min(1, len(parts))
    if message_ids is not None:
        record.reply_message_ids = message_ids
    record.save()


def _lock_rows(burst: Burst) -> tuple[Conversation, Ticket]:
    # Ticket first, then conversation: the order ingest and outbound take them in
    # (found by bench/ai_buffer.py as a deadlock when reversed).
    ticket = Ticket.objects.select_for_update().get(pk=burst.ticket.pk)
    conversation = Conversation.objects.select_for_update().get(
        pk=burst.conversation.pk, company_id=burst.conversation.company_id
    )
    return conversation, ticket


def _advance(conversation: Conversation, burst: Burst) -> Message | None:
    """Move the cursor past the burst; keep the buffer pending if newer messages came."""
    newer = _buffered(
        Message.objects.for_company(conversation.company_id).filter(
            conversation=conversation, id__gt=burst.last_id
        )
    ).first()
    conversation.ai_cursor_message_id = burst.last_id
    conversation.ai_pending_since = newer.received_at if newer else None
    conversation.save(update_fields=["ai_cursor_message_id", "ai_pending_since"])
    return newer


def _already_answered(conversation: Conversation, burst: Burst) -> bool:
    return (conversation.ai_cursor_message_id or 0) != burst.cursor or Message.objects.filter(
        conversation=conversation, idempotency_key__in=[burst.key, f"{burst.key}:1"]
    ).exists()


def _after_save(burst: Burst, newer: Message | None, record: AIReplyLog | None) -> None:
    company_id, conversation_id = burst.conversation.company_id, burst.conversation.pk
    if record is not None and len(record.parts) > 1:
        from .tasks import ai_send_part

        pause, log_id = burst.ai.split_pause_seconds, record.pk

        def send_later(index: int) -> None:
            ai_send_part.apply_async((company_id, log_id, index), countdown=pause * (index - 1))

        for index in range(2, len(record.parts) + 1):
            transaction.on_commit(functools.partial(send_later, index))
    if newer is not None:
        ai = burst.ai
        since = newer.received_at
        transaction.on_commit(
            lambda: buffer.schedule_reply(
                company_id=company_id,
                conversation_id=conversation_id,
                buffer_seconds=ai.buffer_seconds,
                max_wait_seconds=ai.max_wait_seconds,
                pending_since=since,
            )
        )
    publish_buffer(company_id, conversation_id, "replied")


def _save_reply(
    *, burst: Burst, reply: str, runner: ai_tools.ToolRunner, usage: Usage, record: AIReplyLog
) -> str:
    parts = split_reply(reply, enabled=burst.ai.split_long_replies)
    with transaction.atomic():
        conversation, ticket = _lock_rows(burst)
        if _already_answered(conversation, burst):
            _finish_log(record, usage, runner, status=ReplyStatus.SKIPPED, error="already answered")
            return "duplicate"
        if not buffer.ticket_is_ai_handled(ticket):
            # Staff took over while the model was thinking: their turn, not ours.
            conversation.ai_pending_since = None
            conversation.save(update_fields=["ai_pending_since"])
            _finish_log(record, usage, runner, status=ReplyStatus.SKIPPED, error="ticket paused")
            publish_buffer(conversation.company_id, conversation.pk, "cleared")
            return "paused"
        message_ids = []
        if parts:
            key = burst.key if len(parts) == 1 else f"{burst.key}:1"
            message_ids.append(
                bridge.send_bot_message(ticket=ticket, content=parts[0], idempotency_key=key).pk
            )
        newer = _advance(conversation, burst)
        if runner.handoff_summary is not None:
            _handoff(
                burst.ai,
                ticket,
                note=_("AI hand-off: %(summary)s") % {"summary": runner.handoff_summary},
                reason="ai_handoff",
            )
        status = ReplyStatus.SENDING if len(parts) > 1 else ReplyStatus.SENT
        _finish_log(record, usage, runner, status=status, parts=parts, message_ids=message_ids)
        _after_save(burst, newer, record)
    return "handoff" if runner.handoff_summary is not None else "replied"


def _handoff(ai: AISettings, ticket: Ticket, *, note: str, reason: str) -> None:
    if ai.handoff_queue_id and ai.handoff_queue is not None:
        bridge.transfer(ticket=ticket, queue=ai.handoff_queue, note=note)
    else:
        bridge.add_note(ticket=ticket, note=note)
    bridge.pause_ai(ticket=ticket, reason=reason)


def reply_fallback(*, burst: Burst, error: str) -> str:
    """After the last try: the fallback message, hand-off with a note, AI paused, and an
    error in the company's logs -- once per burst (same idempotency key as a reply)."""
    with transaction.atomic():
        conversation, ticket = _lock_rows(burst)
        if _already_answered(conversation, burst):
            return "duplicate"
        if buffer.ticket_is_ai_handled(ticket) and burst.ai.fallback_message.strip():
            bridge.send_bot_message(
                ticket=ticket, content=burst.ai.fallback_message.strip(), idempotency_key=burst.key
            )
        newer = _advance(conversation, burst)
        with override(conversation.company.language):
            note = _("The AI attendant could not answer (%(error)s). Please take over.") % {
                "error": error[:300]
            }
        if not ticket.ai_paused:
            _handoff(burst.ai, ticket, note=note, reason="ai_failure")
        LogEntry.objects.create(
            company_id=conversation.company_id,
            level=LogLevel.ERROR,
            source="ai",
            message=note,
            context={
                "conversation": conversation.pk,
                "ticket": ticket.pk,
                "last_message": burst.last_id,
                "error": error[:2000],
            },
        )
        # Newer messages now belong to a paused ticket: nothing to schedule.
        if newer is not None:
            conversation.ai_pending_since = None
            conversation.save(update_fields=["ai_pending_since"])
        publish_buffer(conversation.company_id, conversation.pk, ReplyStatus.FAILED)
    return "fallback"


def send_part(*, company_id: int, log_id: int, index: int) -> str:
    """Send part ``index`` (2..n) of a split reply; idempotent by its key ``ai:<id>:<i>``."""
    record = AIReplyLog.objects.for_company(company_id).filter(pk=log_id).first()
    if record is None or index < 2 or index > len(record.parts):
        return "nothing"
    key = f"ai:{record.last_message_id}:{index}"
    conversation = Conversation.objects.get(pk=record.conversation_id, company_id=company_id)
    with transaction.atomic():
        # Same lock order as ingest/outbound: ticket, then conversation.
        ticket = (
            Ticket.objects.for_company(company_id)
            .select_for_update()
            .filter(conversation=conversation, status__in=ACTIVE_STATUSES)
            .first()
        )
        if ticket is None or ticket.ai_paused or ticket.assignee_id is not None:
            return "paused"  # staff took over mid-reply: they continue
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if Message.objects.filter(conversation=conversation, idempotency_key=key).exists():
            return "duplicate"
        message = bridge.send_bot_message(
            ticket=ticket, content=record.parts[index - 1], idempotency_key=key
        )
        record.parts_sent = max(record.parts_sent, index)
        record.reply_message_ids = [*record.reply_message_ids, message.pk]
        if record.parts_sent >= len(record.parts):
            record.status = ReplyStatus.SENT
        record.save(update_fields=["parts_sent", "reply_message_ids", "status"])
    return "sent"


def sweep(*, now: datetime | None = None) -> int:
    """Re-schedule bursts waiting past their window + margin (a lost task, a flushed
    Redis). Conversations with a reply attempt in progress are left to it."""
    now = now or timezone.now()
    stale = buffer.stale_pending(
        now=now,
        margin_seconds=settings.AI_SWEEP_MARGIN_SECONDS,
        activity_seconds=settings.AI_SWEEP_ACTIVITY_SECONDS,
    )
    count = 0
    for company_id, conversation_id in stale:
        if buffer.schedule_now(company_id=company_id, conversation_id=conversation_id):
            count += 1
    return count


def ai_pause(*, conversation: Conversation, actor: Any) -> bool:
    """The monitor's "pause AI": staff take this conversation; the queued reply finds
    nothing to do."""
    ticket = _active_ticket(conversation.company_id, conversation)
    with transaction.atomic():
        if ticket is not None and not ticket.ai_paused:
            bridge.pause_ai(ticket=ticket, actor=actor)
        Conversation.objects.filter(pk=conversation.pk).update(ai_pending_since=None)
        publish_buffer(conversation.company_id, conversation.pk, "cleared")
    return ticket is not None


def reply_now(*, conversation: Conversation, actor: Any) -> bool:
    """The monitor's "reply now": skip the rest of the window."""
    if conversation.ai_pending_since is None:
        return False
    return buffer.schedule_now(company_id=conversation.company_id, conversation_id=conversation.pk)
