"""Writes of the metrics app: recording response times as replies are stored.

``response_time_record`` runs as a ``conversations.hooks.message_stored`` hook, inside the
pipeline's transaction, right after the reply is stored and BEFORE anything clears the
ticket's ``waiting_since`` -- or, when the pipeline clears it first, with the previous value
in ``MessageContext.extra["waiting_since"]`` (docs/contracts.md).
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Q

from atende.rows import write_behind_active
from conversations import batch
from integrations.base import Direction, SenderType
from tickets.services.hours import business_seconds_between

from . import rollups
from .models import ResponderType, ResponseTime

if TYPE_CHECKING:
    from conversations.hooks import MessageContext
    from conversations.models import Message
    from tenants.models import Company
    from tickets.models import Ticket

_MISSING = object()


def _opened_at(ticket: Ticket) -> datetime:
    """Start of the ticket's current cycle: its last reopen, else its creation."""
    return ticket.reopened_at or ticket.created_at


def _clock(start: datetime | None, floor: datetime, end: datetime) -> datetime | None:
    """A clock start no earlier than the cycle's start and no later than the reply."""
    if start is None:
        return None
    return min(max(start, floor), end)


def response_time_record(message: Message, context: MessageContext) -> ResponseTime | None:
    """Record one ResponseTime when ``message`` answers waiting customer messages.

    Counts only outbound, non-private replies sent by an agent or the bot; system
    messages, notes and inbound messages never count. ``is_first`` marks the first reply
    of the ticket's current cycle (a reopen starts a new cycle, see ``Ticket.reopen_count``
    and ``Ticket.reopened_at``); ``is_first_agent`` the first reply by a person, which is
    what agent metrics use. Sets ``Ticket.first_response_at`` on the cycle's first reply.
    """
    if (
        message.direction != Direction.OUTBOUND
        or message.is_private
        or message.sender_type not in (SenderType.AGENT, SenderType.BOT)
    ):
        return None
    ticket = context.ticket if context.ticket is not None else message.ticket
    if ticket is None:
        return None
    waited = context.extra.get("waiting_since", _MISSING)
    waited_since = ticket.waiting_since if waited is _MISSING else waited
    if waited_since is None:
        return None  # nothing was waiting: a follow-up, not an answer
    answered_at = message.created_at
    if answered_at < waited_since:
        answered_at = waited_since  # platform clocks disagree by a little: never negative

    is_bot = message.sender_type == SenderType.BOT
    cycle = ticket.reopen_count
    opened = _opened_at(ticket)
    # The firsts already recorded in this cycle. reopened_at guards the case where a
    # reopen did not bump reopen_count: rows before the reopen belong to the old cycle.
    earlier = (
        ResponseTime.objects.for_company(ticket.company_id)
        .filter(ticket=ticket, cycle=cycle)
        .filter(Q(is_first=True) | Q(is_first_agent=True))
    )
    if ticket.reopened_at is not None:
        earlier = earlier.filter(answered_at__gte=ticket.reopened_at)
    flags = set()
    for first, first_agent in earlier.values_list("is_first", "is_first_agent"):
        if first:
            flags.add("first")
        if first_agent:
            flags.add("agent")
    is_first = "first" not in flags
    is_first_agent = not is_bot and "agent" not in flags

    company = ticket.company
    queue = ticket.queue
    seconds = (answered_at - waited_since).total_seconds()
    row = ResponseTime(
        company_id=ticket.company_id,
        ticket=ticket,
        message=message,
        responder_type=ResponderType.BOT if is_bot else ResponderType.AGENT,
        responder_id=None if is_bot else message.sender_user_id,
        queue_id=ticket.queue_id,
        waited_since=waited_since,
        answered_at=answered_at,
        seconds=seconds,
        business_seconds=business_seconds_between(company, waited_since, answered_at, queue),
        is_first=is_first,
        is_first_agent=is_first_agent,
        cycle=cycle,
    )
    if is_first or is_first_agent:
        queue_start = _clock(ticket.queued_at or opened, opened, answered_at)
        if queue_start is not None:
            row.seconds_from_queue = (answered_at - queue_start).total_seconds()
            row.business_seconds_from_queue = business_seconds_between(
                company, queue_start, answered_at, queue
            )
        if not is_bot:
            assigned = _clock(ticket.assigned_at, opened, answered_at)
            if assigned is not None and ticket.assignee_id is not None:
                row.seconds_from_assignment = (answered_at - assigned).total_seconds()
                row.business_seconds_from_assignment = business_seconds_between(
                    company, assigned, answered_at, queue
                )
    row.save(force_insert=True)
    if is_first:
        ticket.first_response_at = answered_at
        type(ticket).objects.filter(pk=ticket.pk).update(first_response_at=answered_at)
    return row


def _company_tz(message: Message, ticket: Ticket | None) -> Any:
    """The company's time zone from an already loaded company; None on PostgreSQL when
    none is loaded (the roll-up statement then reads it itself: no extra query on the
    webhook path); a query elsewhere."""
    for obj in (ticket, message):
        if obj is not None and "company" in obj._state.fields_cache:
            return obj.company.tzinfo
    if connection.vendor == "postgresql":
        return None
    from tenants.models import Company

    return zoneinfo.ZoneInfo(
        Company.objects.values_list("timezone", flat=True).get(pk=message.company_id)
    )


def record_on_message_stored(message: Message, context: MessageContext) -> None:
    """The ``message_stored`` hook (registered in MetricsConfig.ready): records the
    response time the message ends, if any, then adds the message (and that response
    time) to the roll-ups -- one extra SQL statement on PostgreSQL (metrics.rollups)."""
    row = response_time_record(message, context)
    company_tz = _company_tz(message, context.ticket)
    current = batch.active()
    if row is None and current is not None and company_tz is not None:
        # A batch of queued webhooks: summed with the batch's other messages and written
        # with the batch's rows, in the same statement (atende.rows.write_behind), or
        # once when the batch ends (conversations.batch); still in its transaction.
        pending = write_behind_active()
        if pending is not None:
            pending.later(rollups.messages_statements, (message, company_tz))
        else:
            current.defer(_flush_message_rollups, (message, company_tz))
        return
    statements = rollups.message_statements(message, company_tz)
    if row is not None:
        # Recording read ticket.company: its time zone is at hand.
        statements += rollups.response_time_statements(row, row.ticket.company.tzinfo)
    rollups.execute(statements)


def _flush_message_rollups(items: list[tuple[Message, Any]]) -> None:
    rollups.execute(rollups.messages_statements(items))


def rollups_rebuild(*, company: Company, since: date | None = None) -> dict[str, int]:
    """Rebuild the company's roll-ups from the source rows (from local day ``since`` on,
    else all): after a bulk import that bypassed the services, a changed time zone, or to
    build them on an existing install. Concurrent writes wait for it (metrics.rollups)."""
    return rollups.rebuild(company, first_day=since)


def business_hours_recompute(
    *, company: Company, since: date | None = None, batch_size: int = 2000
) -> int:
    """Recompute ``business_seconds*`` of the company's response times answered from
    local day ``since`` on (else all) with the hours in force NOW, then rebuild the
    response-time histograms of those days, in one transaction: the screen, the API and
    the CSV switch to the new figures together. Returns the number of rows updated.

    Run after a company or queue changes its hours when the past should be re-counted
    (docs/metrics.md); without it, past rows keep the hours in force when recorded."""
    from tickets.models import Queue

    queues = {q.pk: q for q in Queue.objects.for_company(company)}
    rows = ResponseTime.objects.for_company(company).order_by("pk")
    if since is not None:
        start = datetime.combine(since, time(0), tzinfo=company.tzinfo)
        rows = rows.filter(answered_at__gte=start)
    updated = 0
    with transaction.atomic():
        batch: list[ResponseTime] = []
        for rt in rows.iterator(chunk_size=batch_size):
            queue = queues.get(rt.queue_id) if rt.queue_id else None
            end = rt.answered_at
            rt.business_seconds = business_seconds_between(company, rt.waited_since, end, queue)
            if rt.seconds_from_queue is not None:
                start_q = end - timedelta(seconds=rt.seconds_from_queue)
                rt.business_seconds_from_queue = business_seconds_between(
                    company, start_q, end, queue
                )
            if rt.seconds_from_assignment is not None:
                start_a = end - timedelta(seconds=rt.seconds_from_assignment)
                rt.business_seconds_from_assignment = business_seconds_between(
                    company, start_a, end, queue
                )
            batch.append(rt)
            if len(batch) >= batch_size:
                updated += _save_business(batch)
        updated += _save_business(batch)
        rollups.rebuild(company, first_day=since, messages=False)
    return updated


def _save_business(batch: list[ResponseTime]) -> int:
    n = ResponseTime.objects.bulk_update(
        batch,
        ["business_seconds", "business_seconds_from_queue", "business_seconds_from_assignment"],
    )
    batch.clear()
    return n
