"""Ticket lifecycle driven by the message pipeline: open, reuse, reopen, and follow the
platform's own conversation status/assignee/team.

These functions run inside the ingest transaction (conversations/services/ingest.py) and do
no network I/O; real-time events go out after commit through ``conversations.realtime``.
Staff actions (accept, assign, transfer...) live in ``tickets/services/actions.py``.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from atende.rows import Counter, columns, fetch, insert, write_behind_active
from conversations import batch, realtime
from conversations.models import Conversation
from integrations.base import ConversationChange, ConversationStatus
from integrations.models import Integration
from tickets.models import (
    ACTIVE_STATUSES,
    Priority,
    Queue,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
)

__all__ = [
    "default_queues_sql",
    "ticket_apply_platform_status",
    "ticket_for_inbound",
    "ticket_for_reply",
    "ticket_next_number",
]


def ticket_next_number(company_id: int) -> int:
    """Take the company's next ticket number (gap-free; call inside a transaction).

    One statement: ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING`` both creates the counter
    (starting after any number already in use) and increments it under the row lock, which
    PostgreSQL holds until commit, so concurrent openers queue instead of colliding.
    """
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_NUMBER_SQL, [company_id, company_id])
        row = cursor.fetchone()
    assert row is not None  # noqa: S101 - RETURNING always yields the row
    return int(row[0])


def _insert_numbered(ticket: Ticket) -> None:
    """INSERT ``ticket`` with the company's next number (``ticket_next_number``'s
    statement as a CTE): one round trip for both. In a batch of queued webhooks the row is
    written behind (atende.rows) and numbered at the flush, with the batch's other new
    tickets: ``ticket.number`` is 0 until then (nothing reads it before the commit)."""
    if connection.vendor != "postgresql":
        ticket.number = ticket_next_number(ticket.company_id)
        insert(ticket)
        return
    ticket.number = 0  # replaced by the counter's value in the statement
    pending = write_behind_active()
    if pending is not None:
        pending.insert_numbered(ticket, _TICKET_NUMBERS)
        return
    number = insert(ticket, numbered=("number", _NEXT_NUMBER_SQL, [ticket.company_id] * 2))
    ticket.number = number


_NEXT_NUMBER_SQL = (
    "INSERT INTO tickets_ticketcounter (company_id, last_number) VALUES (%s, "
    "(SELECT COALESCE(MAX(number), 0) + 1 FROM tickets_ticket WHERE company_id = %s)) "
    "ON CONFLICT (company_id) DO UPDATE "
    "SET last_number = tickets_ticketcounter.last_number + 1 RETURNING last_number"
)

# ``_NEXT_NUMBER_SQL`` for many companies and counts at once (a flush of written-behind
# tickets). A new counter starts after the numbers in use plus the count; an existing one
# adds the count, which the conflict branch recovers as EXCLUDED's value minus the same
# MAX (one snapshot: the same value).
_TICKET_NUMBERS = Counter(
    field="number",
    by="company_id",
    sql=(
        "INSERT INTO tickets_ticketcounter AS c (company_id, last_number) "
        "SELECT u.company_id, u.n + (SELECT COALESCE(MAX(t.number), 0) FROM tickets_ticket t "
        "WHERE t.company_id = u.company_id) "
        "FROM unnest(%s::bigint[], %s::int[]) AS u (company_id, n) "
        "ON CONFLICT (company_id) DO UPDATE SET last_number = c.last_number "
        "+ EXCLUDED.last_number - (SELECT COALESCE(MAX(t.number), 0) FROM tickets_ticket t "
        "WHERE t.company_id = EXCLUDED.company_id) "
        "RETURNING c.company_id, c.last_number"
    ),
)


@functools.cache
def _active_ticket_sql() -> str:
    # At most one active ticket per conversation (a constraint): no ORDER BY needed.
    return (
        f"SELECT {columns(Ticket, 't')}, {columns(Queue, 'q')} "  # noqa: S608 - column names from the models
        "FROM tickets_ticket t LEFT JOIN tickets_queue q ON q.id = t.queue_id "
        "WHERE t.conversation_id = %s AND t.status IN ('pending', 'open') LIMIT 1"
    )


@functools.cache
def default_queues_sql() -> str:
    """The default queue of each company of an array of ids (one row per company that has
    one): read for one company when a ticket opens, or for a batch of queued webhooks
    with its prefetch."""
    return (
        f"SELECT DISTINCT ON (q.company_id) {columns(Queue, 'q')} "  # noqa: S608 - model columns
        "FROM tickets_queue q WHERE q.company_id = ANY(%s::bigint[]) AND q.is_default "
        'ORDER BY q.company_id, q."order", q.name'
    )


def _active_ticket(conversation_id: int) -> Ticket | None:
    """The conversation's active ticket with its queue (the message hooks read the queue's
    hours and greeting): one plain statement, as every customer message runs it, or the
    row the current ingest batch prefetched (conversations.batch)."""
    prefetched = batch.take_ticket(conversation_id)
    if prefetched is not None:
        return prefetched  # type: ignore[no-any-return]
    return fetch(_active_ticket_sql(), [conversation_id], Ticket, queue=Queue)


def _latest_ticket(conversation: Conversation) -> Ticket | None:
    """The conversation's active ticket if any, else its most recent one.

    Two simple queries rather than one ordered by a CASE: the first answers the common case
    (a conversation with an active ticket) and is cheaper to build on the hot path.
    """
    if getattr(conversation, "just_created", False):
        return None
    latest = _active_ticket(conversation.pk)
    if latest is None:
        latest = Ticket.objects.filter(conversation=conversation).order_by("-id").first()
    if latest is not None:
        # Already in memory: the hooks must not load them again.
        latest.conversation = conversation
        if Conversation.company.is_cached(conversation):
            latest.company = conversation.company
    return latest


def _event(ticket: Ticket, kind: str, *, actor_label: str = "", **data: Any) -> TicketEvent:
    event = TicketEvent(
        company_id=ticket.company_id, ticket=ticket, kind=kind, actor_label=actor_label, data=data
    )
    insert(event, defer=True)
    return event


def _reopen(ticket: Ticket, *, at: datetime, actor_label: str) -> None:
    previous = ticket.status
    ticket.status = TicketStatus.OPEN if ticket.assignee_id else TicketStatus.PENDING
    ticket.reopened_at = at
    ticket.reopen_count += 1
    ticket.resolved_at = None
    # Response-time metrics restart on reopen (DESIGN.md): the first reply is awaited again.
    ticket.first_response_at = None
    ticket.waiting_since = None
    ticket.save(
        update_fields=[
            "status",
            "reopened_at",
            "reopen_count",
            "resolved_at",
            "first_response_at",
            "waiting_since",
            "updated_at",
        ]
    )
    _event(ticket, TicketEventKind.REOPENED, actor_label=actor_label, previous=previous)
    realtime.ticket_changed(ticket, "ticket.status", status=ticket.status)


def ticket_for_inbound(*, conversation: Conversation, at: datetime) -> tuple[Ticket, bool, bool]:
    """The ticket an inbound customer message belongs to: ``(ticket, created, reopened)``.

    Reuses the active (pending/open) ticket; else reopens the last resolved one when it was
    resolved less than ``company.reopen_window_hours`` before ``at``; else opens a new ticket
    with the next per-company number in the company's default queue. Must run inside the
    ingest transaction: the one-active-ticket-per-conversation constraint turns a concurrent
    second opener into an IntegrityError that the caller retries (and then reuses).
    """
    latest = _latest_ticket(conversation)
    if latest is not None and latest.status in ACTIVE_STATUSES:
        return latest, False, False
    company = conversation.company
    if (
        latest is not None
        and latest.status == TicketStatus.RESOLVED
        and latest.resolved_at is not None
        and latest.resolved_at >= at - timedelta(hours=company.reopen_window_hours)
    ):
        _reopen(latest, at=at, actor_label="system")
        return latest, False, True

    queue = batch.default_queue(
        company.pk, lambda: fetch(default_queues_sql(), [[company.pk]], Queue)
    )
    now = timezone.now()
    ticket = Ticket(
        company_id=company.pk,
        conversation=conversation,
        contact_id=conversation.contact_id,
        status=TicketStatus.PENDING,
        queue=queue,
        queued_at=now if queue else None,
    )
    _insert_numbered(ticket)
    ticket.company = company  # in memory already: the message hooks read it
    _event(ticket, TicketEventKind.CREATED, actor_label="system", queue=queue.pk if queue else None)
    realtime.ticket_changed(ticket, "ticket.created", status=ticket.status)
    conversation.just_created = False  # type: ignore[attr-defined]  # it has a ticket now
    batch.note_conversation(conversation, ticket)
    return ticket, True, False


def ticket_for_reply(*, conversation: Conversation) -> Ticket | None:
    """The ticket a message sent on the platform itself (an agent answering inside
    Chatwoot, a private note, a bot) belongs to: the active ticket, else the latest one,
    else none. Such messages never open a ticket: only customers do."""
    return _latest_ticket(conversation)


# --- the platform's own status / assignee / team ------------------------------------


def _platform_label(integration: Integration, name: str = "") -> str:
    label = integration.get_kind_display()
    label = label.split(" ")[0] if integration.kind == "twilio" else label
    return f"{label}: {name}" if name else str(label)


def _queue_for_team(integration: Integration, team_id: str, team_name: str) -> Queue | None:
    # A company has a handful of queues: matching in Python keeps the JSON lookup portable
    # (a numeric key such as "7" would be read as an array index by the ORM).
    queues = list(Queue.objects.filter(company_id=integration.company_id))
    key = str(integration.pk)
    for queue in queues:
        refs = queue.external_refs if isinstance(queue.external_refs, dict) else {}
        if team_id and str(refs.get(key, "")) == team_id:
            return queue
    folded = team_name.strip().casefold()
    for queue in queues:
        if folded and queue.name.strip().casefold() == folded:
            return queue
    return None


def ticket_apply_platform_status(
    *,
    integration: Integration,
    conversation: Conversation,
    change: ConversationChange,
    at: datetime | None = None,
) -> bool:
    """Make the conversation's ticket follow the platform: status, assignee, team, labels,
    priority. Returns True when anything changed.

    What the platform last said is remembered in ``conversation.extra["platform"]`` so a
    repeated statement (Umbler repeats the whole chat on every message) changes nothing.
    Platform assignees are recorded on the timeline ("Chatwoot: <name>"); they are not our
    users (platforms send no e-mail with the assignee), so ``ticket.assignee`` is left to
    staff. A matching queue (``Queue.external_refs[<integration id>]`` or the same name)
    moves the ticket. Without a ticket nothing is recorded: a conversation only gets a
    ticket from a customer message.
    """
    at = at or change.at or timezone.now()
    platform: dict[str, Any] = dict(conversation.extra.get("platform") or {})
    before = dict(platform)
    if change.status is not None:
        platform["status"] = change.status
    if change.assignee_external_id is not None:
        platform["assignee"] = change.assignee_external_id
        platform["assignee_name"] = change.assignee_name
    if change.team_external_id is not None:
        platform["team"] = change.team_external_id
        platform["team_name"] = change.team_name
    if platform != before:
        conversation.extra = {**conversation.extra, "platform": platform}
        Conversation.objects.filter(pk=conversation.pk).update(extra=conversation.extra)

    ticket = _latest_ticket(conversation)
    if ticket is None or ticket.status == TicketStatus.CLOSED:
        return platform != before
    changed_fields: set[str] = set()
    events: list[tuple[str, str, dict[str, Any]]] = []

    if change.status is not None and change.status != before.get("status"):
        if change.status == ConversationStatus.RESOLVED and ticket.status in ACTIVE_STATUSES:
            ticket.status = TicketStatus.RESOLVED
            ticket.resolved_at = at
            ticket.waiting_since = None
            changed_fields |= {"status", "resolved_at", "waiting_since"}
            events.append((TicketEventKind.RESOLVED, _platform_label(integration), {}))
        elif change.status == ConversationStatus.OPEN and ticket.status == TicketStatus.RESOLVED:
            _reopen(ticket, at=at, actor_label=_platform_label(integration))

    if change.assignee_external_id is not None and change.assignee_external_id != before.get(
        "assignee"
    ):
        if change.assignee_external_id:
            events.append(
                (
                    TicketEventKind.ASSIGNED,
                    _platform_label(integration, change.assignee_name),
                    {
                        "platform_assignee": change.assignee_external_id,
                        "platform_assignee_name": change.assignee_name,
                    },
                )
            )
        elif before.get("assignee"):
            events.append(
                (
                    TicketEventKind.UNASSIGNED,
                    _platform_label(integration),
                    {"platform_assignee": before.get("assignee")},
                )
            )

    if change.team_external_id is not None and change.team_external_id != before.get("team"):
        queue = _queue_for_team(integration, change.team_external_id, change.team_name)
        data: dict[str, Any] = {
            "platform_team": change.team_external_id,
            "platform_team_name": change.team_name,
            "from_queue": ticket.queue_id,
        }
        if queue is not None and queue.pk != ticket.queue_id:
            ticket.queue = queue
            ticket.queued_at = at
            changed_fields |= {"queue", "queued_at"}
        data["to_queue"] = ticket.queue_id
        if change.team_external_id or before.get("team"):
            events.append((TicketEventKind.TRANSFERRED, _platform_label(integration), data))

    if change.priority is not None:
        priority = change.priority or Priority.MEDIUM
        if priority in Priority.values and priority != ticket.priority:
            events.append(
                (
                    TicketEventKind.PRIORITY_CHANGED,
                    _platform_label(integration),
                    {"from": ticket.priority, "to": priority},
                )
            )
            ticket.priority = priority
            changed_fields.add("priority")
    if change.labels is not None and list(change.labels) != list(ticket.tags):
        events.append(
            (
                TicketEventKind.TAGS_CHANGED,
                _platform_label(integration),
                {"from": ticket.tags, "to": list(change.labels)},
            )
        )
        ticket.tags = list(change.labels)
        changed_fields.add("tags")

    if changed_fields:
        ticket.save(update_fields=[*sorted(changed_fields), "updated_at"])
    for kind, label, data in events:
        _event(ticket, kind, actor_label=label, **data)
    if events:
        realtime.ticket_changed(
            ticket,
            "ticket.status" if "status" in changed_fields else "ticket.updated",
            status=ticket.status,
            queue=ticket.queue_id,
        )
    return bool(events) or bool(changed_fields) or platform != before
