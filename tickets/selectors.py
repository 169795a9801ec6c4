"""Reads about tickets: company-scoped and visibility-checked (STYLE.md rules 6-7).

Visibility (DESIGN.md "Tenancy and access"):

- supervisors and admins see every ticket of the company;
- agents see the tickets of the queues they are members of, plus the tickets assigned to
  them (whatever their queue).

Tickets without a queue are visible to supervisors/admins only (and to their assignee):
ingest files new tickets into the company's default queue, so an unqueued ticket is one
that still needs triage. This matches the websocket audience
(``conversations.realtime.ticket_audience``), so the inbox and the API never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.http import Http404

from atende.params import id_param
from conversations.models import Message
from tenants.models import Membership

from .models import ACTIVE_STATUSES, Queue, QuickReply, Ticket, TicketEvent, TicketStatus

# Inbox status groups ("tabs"): pending in a queue, open (with an agent), mine, resolved.
STATUS_GROUPS = ("pending", "open", "mine", "resolved", "all")
WHATSAPP_KINDS = ("twilio", "umbler")


def member_queue_ids(membership: Membership) -> QuerySet[Queue, int]:
    """Ids of the company's queues the member belongs to (a subquery, no round trip)."""
    return (
        Queue.objects.for_company(membership.company_id)
        .filter(members=membership.user_id)
        .values_list("id", flat=True)
    )


def visibility_q(membership: Membership) -> Q:
    """The visibility rule as a Q on Ticket (empty Q for supervisors/admins)."""
    if membership.is_supervisor:
        return Q()
    return Q(queue_id__in=member_queue_ids(membership)) | Q(assignee_id=membership.user_id)


def visible_tickets(membership: Membership) -> QuerySet[Ticket]:
    """Tickets the member may see (no duplicate rows: the queue rule is a subquery)."""
    return Ticket.objects.for_company(membership.company_id).filter(visibility_q(membership))


def can_see_ticket(membership: Membership, ticket: Ticket) -> bool:
    """The same rule as ``visible_tickets`` for a ticket already loaded (one query for
    agents whose ticket is not theirs)."""
    if ticket.company_id != membership.company_id:
        return False
    if membership.is_supervisor or ticket.assignee_id == membership.user_id:
        return True
    if ticket.queue_id is None:
        return False
    return Queue.members.through.objects.filter(
        queue_id=ticket.queue_id, user_id=membership.user_id
    ).exists()


def _with_relations(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return qs.select_related(
        "contact", "conversation", "conversation__integration", "queue", "assignee", "requester"
    )


def ticket_for_member(membership: Membership, number: int) -> Ticket:
    """The ticket with this per-company number if the member may see it, else Http404
    (another company's ticket and a ticket of someone else's queue look the same)."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise Http404 from None
    ticket = _with_relations(visible_tickets(membership)).filter(number=number).first()
    if ticket is None:
        raise Http404
    return ticket


def ticket_by_id_for_member(membership: Membership, ticket_id: int) -> Ticket:
    """Like ``ticket_for_member`` but by primary key."""
    ticket = _with_relations(visible_tickets(membership)).filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404
    return ticket


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox and the API filter tickets by (all optional)."""

    status: str = ""  # one of STATUS_GROUPS ("" = active: pending + open)
    queue: int | None = None
    agent: int | None = None  # assignee user id
    tag: str = ""
    channel: str = ""  # integration kind (chatwoot, twilio, umbler, web) or integration id
    search: str = ""
    unread: bool = False


def inbox_filters_from(params: Any) -> InboxFilters:
    """Build filters from a QueryDict/dict, ignoring malformed numbers (never a 500)."""

    def _int(name: str) -> int | None:
        raw = str(params.get(name) or "").strip()
        return id_param(raw)

    status = str(params.get("status") or "").strip()
    return InboxFilters(
        status=status if status in STATUS_GROUPS else "",
        queue=_int("queue"),
        agent=_int("agent"),
        tag=str(params.get("tag") or "").strip()[:50],
        channel=str(params.get("channel") or "").strip()[:40],
        search=str(params.get("q") or params.get("search") or "").strip()[:100],
        unread=str(params.get("unread") or "").lower() in {"1", "true", "yes", "on"},
    )


def _status_filter(membership: Membership, status: str) -> Q:
    if status == "pending":
        return Q(status=TicketStatus.PENDING)
    if status == "open":
        return Q(status=TicketStatus.OPEN)
    if status == "mine":
        return Q(status__in=ACTIVE_STATUSES, assignee_id=membership.user_id)
    if status == "resolved":
        return Q(status__in=(TicketStatus.RESOLVED, TicketStatus.CLOSED))
    if status == "all":
        return Q()
    return Q(status__in=ACTIVE_STATUSES)


def inbox_tickets(membership: Membership, filters: InboxFilters | None = None) -> QuerySet[Ticket]:
    """The inbox list: visible tickets matching ``filters``, newest activity first, with
    everything a row shows loaded in the same query (constant query count)."""
    filters = filters or InboxFilters()
    qs = visible_tickets(membership).filter(_status_filter(membership, filters.status))
    if filters.queue is not None:
        qs = qs.filter(queue_id=filters.queue)
    if filters.agent is not None:
        qs = qs.filter(assignee_id=filters.agent)
    if filters.tag:
        qs = qs.filter(tags__contains=[filters.tag])
    if filters.channel:
        if (integration_id := id_param(filters.channel)) is not None:
            qs = qs.filter(conversation__integration_id=integration_id)
        else:
            qs = qs.filter(conversation__integration__kind=filters.channel)
    if filters.unread:
        qs = qs.filter(unread_count__gt=0)
    if filters.search:
        qs = qs.filter(_search_q(membership, filters.search))
    return _with_relations(qs).order_by("-last_message_at", "-id")


def _search_q(membership: Membership, text: str) -> Q:
    """Contact name/phone/email, ticket number/title, or any message text."""
    q = (
        Q(contact__name__icontains=text)
        | Q(contact__email__icontains=text)
        | Q(title__icontains=text)
        | Q(conversation__group_name__icontains=text)
    )
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits:
        q |= Q(contact__phone__contains=digits)
        if digits == text.lstrip("#"):
            q |= Q(number=int(digits))
    in_messages = Message.objects.filter(
        company_id=membership.company_id, ticket_id=OuterRef("pk"), content__icontains=text
    )
    return q | Q(Exists(in_messages))


def inbox_counts(membership: Membership) -> dict[str, Any]:
    """Counts for the inbox tabs and badges in two aggregate queries:
    ``{"pending", "open", "mine", "unread", "mine_unread", "queues": {id: {...}}}``."""
    user_id = membership.user_id
    active = visible_tickets(membership).filter(status__in=ACTIVE_STATUSES)
    pending = Q(status=TicketStatus.PENDING)
    open_ = Q(status=TicketStatus.OPEN)
    mine = Q(assignee_id=user_id)
    totals = active.aggregate(
        pending=Count("id", filter=pending),
        open=Count("id", filter=open_),
        mine=Count("id", filter=mine),
        unread=Sum("unread_count"),
        mine_unread=Sum("unread_count", filter=mine),
    )
    per_queue = (
        active.order_by()
        .values("queue_id")
        .annotate(
            pending=Count("id", filter=pending),
            open=Count("id", filter=open_),
            unread=Sum("unread_count"),
        )
    )
    queues = {
        row["queue_id"]: {
            "pending": row["pending"],
            "open": row["open"],
            "unread": row["unread"] or 0,
        }
        for row in per_queue
    }
    return {
        "pending": totals["pending"],
        "open": totals["open"],
        "mine": totals["mine"],
        "unread": totals["unread"] or 0,
        "mine_unread": totals["mine_unread"] or 0,
        "queues": queues,
    }


def ticket_timeline(ticket: Ticket) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(company_id=ticket.company_id, ticket=ticket).select_related(
        "actor"
    )


def ticket_messages(ticket: Ticket, *, include_private: bool = True) -> QuerySet[Message]:
    qs = Message.objects.filter(company_id=ticket.company_id, ticket=ticket).select_related(
        "sender_user"
    )
    if not include_private:
        qs = qs.filter(is_private=False)
    return qs.order_by("created_at", "id")


def member_queues(membership: Membership) -> QuerySet[Queue]:
    """Queues the member works in (all of them for supervisors/admins)."""
    qs = Queue.objects.for_company(membership.company_id)
    if not membership.is_supervisor:
        qs = qs.filter(id__in=member_queue_ids(membership))
    return qs.order_by("order", "name")


def transfer_targets(membership: Membership) -> QuerySet[Membership]:
    """Active members one may assign or transfer to."""
    return (
        Membership.objects.for_company(membership.company_id)
        .filter(is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def ticket_timeline_items(ticket: Ticket, *, limit: int = 500) -> list[dict[str, Any]]:
    """Events and messages of the ticket interleaved by time (two queries), oldest first,
    the most recent ``limit`` of them."""
    events = list(ticket_timeline(ticket).order_by("-created_at", "-id")[:limit])
    messages = list(ticket_messages(ticket).order_by("-created_at", "-id")[:limit])
    items: list[dict[str, Any]] = [
        {
            "item": "event",
            "id": e.pk,
            "at": e.created_at,
            "kind": e.kind,
            "data": {
                **(e.data or {}),
                "note": e.note,
                "actor": e.actor.display_name if e.actor else e.actor_label,
            },
        }
        for e in events
    ]
    items += [
        {
            "item": "message",
            "id": m.pk,
            "at": m.created_at,
            "kind": m.sender_type,
            "data": {
                "direction": m.direction,
                "content": m.content,
                "content_type": m.content_type,
                "attachments": m.attachments,
                "is_private": m.is_private,
                "delivery_status": m.delivery_status,
                "sender": m.sender_user.display_name if m.sender_user else m.sender_name,
            },
        }
        for m in messages
    ]
    items.sort(key=lambda i: (i["at"], 0 if i["item"] == "message" else 1, i["id"]))
    return items[-limit:]


def quick_replies_for(membership: Membership, prefix: str = "") -> list[QuickReply]:
    """Replies the member may use whose shortcut starts with ``prefix`` (``/`` ignored),
    personal ones hiding company-wide ones of the same shortcut; sorted by shortcut."""
    qs: QuerySet[QuickReply] = QuickReply.objects.for_company(membership.company_id).filter(
        owner__isnull=True
    ) | QuickReply.objects.for_company(membership.company_id).filter(owner_id=membership.user_id)
    prefix = str(prefix or "").lstrip("/").strip()
    if prefix:
        qs = qs.filter(shortcut__istartswith=prefix)
    chosen: dict[str, QuickReply] = {}
    for reply in qs.order_by("shortcut", "owner_id"):
        if reply.shortcut not in chosen or reply.owner_id is not None:
            chosen[reply.shortcut] = reply
    return [chosen[k] for k in sorted(chosen)]
