"""Distribution of waiting tickets to agents, and giving back tickets of absent agents.

Rules (``Queue.distribution``):

- ``manual``: nothing happens; agents accept tickets from the queue themselves.
- ``round_robin``: the next eligible member after the queue's last pick (by user id).
- ``least_busy``: the eligible member with the fewest open tickets in the company, ties
  broken round-robin.

Eligible = active member of the company and of the queue, online (tickets.presence: a
connected websocket or gone for less than the grace period) and under capacity
(``Membership.max_open_tickets`` open tickets; 0 = unlimited).

Routing runs after commit in the ``tickets.tasks.route_ticket`` / ``route_queue`` tasks.
Each decision runs in one transaction that locks the queue row first (so two routings of
the same queue never both give the last free slot to one agent) and then the ticket,
re-checking that the ticket still waits (pending, unassigned, same queue).

Triggers: a new ticket (message_stored hook), a ticket put back in a queue (transfer,
unassign, reopen, give-back), capacity freed (resolve), an agent coming online.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from conversations.models import Message
from tenants.models import Membership

from .. import presence
from ..models import DistributionRule, Queue, Ticket, TicketEventKind, TicketStatus

logger = logging.getLogger(__name__)

ROUTE_QUEUE_BATCH = 50


# --- scheduling (after commit) ------------------------------------------------------


def schedule_route(ticket: Ticket) -> None:
    """Route ``ticket`` after the current transaction commits. Not for a queue known
    (already loaded) to be manual: the task would find nothing to do, and its sending was
    a tenth of a new conversation's ingest (~0.8 ms of CPU). A queue switched to an
    automatic rule routes its waiting tickets then (``queue_update``)."""
    if ticket.queue_id is None:
        return
    queue = Ticket._meta.get_field("queue").get_cached_value(ticket, default=None)
    if isinstance(queue, Queue) and queue.distribution == DistributionRule.MANUAL:
        return
    from ..tasks import route_ticket

    company_id, ticket_id = ticket.company_id, ticket.pk
    transaction.on_commit(lambda: route_ticket.delay(company_id, ticket_id))


def schedule_route_queue(company_id: int, queue_id: int) -> None:
    from ..tasks import route_queue

    transaction.on_commit(lambda: route_queue.delay(company_id, queue_id))


def schedule_route_for_user(company_id: int, user_id: int) -> None:
    """The user came online: their automatic queues may have tickets waiting for them."""
    queue_ids = list(
        Queue.objects.for_company(company_id)
        .filter(members=user_id)
        .exclude(distribution=DistributionRule.MANUAL)
        .values_list("id", flat=True)
    )
    for queue_id in queue_ids:
        schedule_route_queue(company_id, queue_id)


# --- decisions ------------------------------------------------------------------------


def open_ticket_counts(company_id: int, user_ids: list[int]) -> dict[int, int]:
    rows = (
        Ticket.objects.for_company(company_id)
        .filter(status=TicketStatus.OPEN, assignee_id__in=user_ids)
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("id"))
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def eligible_agents(queue: Queue) -> list[tuple[int, int]]:
    """``[(user_id, open_tickets)]`` of the queue members who may receive a ticket now,
    ordered by user id. Empty when presence is unknown (Redis down)."""
    members = list(
        Membership.objects.for_company(queue.company_id)
        .filter(is_active=True, user__is_active=True, user__queues=queue)
        .values_list("user_id", "max_open_tickets")
        .order_by("user_id")
    )
    if not members:
        return []
    online = presence.online_user_ids(queue.company_id, [uid for uid, _ in members])
    if not online:
        return []
    counts = open_ticket_counts(queue.company_id, [uid for uid, _ in members])
    out = []
    for uid, capacity in members:
        n = counts.get(uid, 0)
        if uid in online and (capacity == 0 or n < capacity):
            out.append((uid, n))
    return out


def pick_agent(queue: Queue, candidates: list[tuple[int, int]]) -> int | None:
    if not candidates:
        return None
    last = queue.last_routed_user_id or 0
    # Rotation order: members after the last pick first, then from the start.
    rotated = [c for c in candidates if c[0] > last] + [c for c in candidates if c[0] <= last]
    if queue.distribution == DistributionRule.LEAST_BUSY:
        fewest = min(n for _, n in rotated)
        return next(uid for uid, n in rotated if n == fewest)
    return rotated[0][0]


@transaction.atomic
def ticket_route(*, company_id: int, ticket_id: int) -> int | None:
    """Give one waiting ticket to an agent per its queue's rule. Returns the user id,
    or None when nothing was done (manual queue, nobody eligible, no longer waiting)."""
    from .actions import _event, _publish, _set_assignee_locked

    queue_id = (
        Ticket.objects.for_company(company_id)
        .filter(pk=ticket_id)
        .values_list("queue_id", flat=True)
        .first()
    )
    if queue_id is None:
        return None
    queue = Queue.objects.for_company(company_id).select_for_update().filter(pk=queue_id).first()
    if queue is None or queue.distribution == DistributionRule.MANUAL:
        return None
    ticket = (
        Ticket.objects.for_company(company_id)
        .select_for_update(of=("self",))
        .select_related("assignee")
        .filter(pk=ticket_id)
        .first()
    )
    if (
        ticket is None
        or ticket.status != TicketStatus.PENDING
        or ticket.assignee_id is not None
        or ticket.queue_id != queue.pk
    ):
        return None
    user_id = pick_agent(queue, eligible_agents(queue))
    if user_id is None:
        return None
    member = Membership.objects.select_related("user").get(company_id=company_id, user_id=user_id)
    _set_assignee_locked(ticket, member.user, now=timezone.now())
    queue.last_routed_user_id = user_id
    queue.save(update_fields=["last_routed_user_id"])
    _event(
        ticket,
        TicketEventKind.ASSIGNED,
        None,
        label="routing",
        to=user_id,
        to_name=member.user.display_name,
        rule=queue.distribution,
    )
    _publish(ticket, "ticket.assigned", previous_assignee=None)
    return user_id


def queue_route(*, company_id: int, queue_id: int) -> int:
    """Route the queue's waiting tickets, oldest first, until nobody is eligible.
    Returns how many were assigned."""
    waiting = list(
        Ticket.objects.for_company(company_id)
        .filter(queue_id=queue_id, status=TicketStatus.PENDING, assignee__isnull=True)
        .order_by("queued_at", "id")
        .values_list("id", flat=True)[:ROUTE_QUEUE_BATCH]
    )
    assigned = 0
    for ticket_id in waiting:
        if ticket_route(company_id=company_id, ticket_id=ticket_id) is None:
            break
        assigned += 1
    return assigned


# --- give back ----------------------------------------------------------------------


def assignee_has_replied(ticket: Ticket) -> bool:
    """Has the assignee sent the customer anything since the ticket was assigned?"""
    qs = Message.objects.filter(
        company_id=ticket.company_id,
        ticket_id=ticket.pk,
        direction="out",
        sender_type="agent",
        is_private=False,
        sender_user_id=ticket.assignee_id,
    )
    if ticket.assigned_at is not None:
        qs = qs.filter(created_at__gte=ticket.assigned_at)
    return qs.exists()


def give_back_candidates(*, now: Any = None) -> list[tuple[int, int, int]]:
    """``[(company_id, ticket_id, assignee_id)]``: open tickets assigned longer than the
    grace period whose assignee has not replied since."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=presence.grace_seconds())
    replied = Message.objects.filter(
        ticket_id=OuterRef("pk"),
        direction="out",
        sender_type="agent",
        is_private=False,
        sender_user_id=OuterRef("assignee_id"),
        created_at__gte=OuterRef("assigned_at"),
    )
    rows = (
        Ticket.objects.filter(status=TicketStatus.OPEN, assignee__isnull=False)
        .filter(Q(assigned_at__lt=cutoff) | Q(assigned_at__isnull=True))
        .filter(~Exists(replied))
        .order_by("company_id", "id")
        .values_list("company_id", "id", "assignee_id")
    )
    return list(rows)


def give_back_offline_tickets(*, now: Any = None) -> int:
    """Take back the unanswered tickets of agents who are not online (past the grace
    period). Returns how many were given back. Does nothing when presence is unknown."""
    from .actions import ticket_give_back

    candidates = give_back_candidates(now=now)
    by_company: dict[int, list[tuple[int, int]]] = {}
    for company_id, ticket_id, assignee_id in candidates:
        by_company.setdefault(company_id, []).append((ticket_id, assignee_id))
    given = 0
    for company_id, items in by_company.items():
        online = presence.online_user_ids(company_id, [a for _, a in items])
        if online is None:
            continue
        for ticket_id, assignee_id in items:
            if assignee_id in online:
                continue
            ticket = Ticket.objects.filter(company_id=company_id, pk=ticket_id).first()
            if ticket is None:
                continue
            if ticket_give_back(ticket=ticket, reason="offline") is not None:
                given += 1
    return given
