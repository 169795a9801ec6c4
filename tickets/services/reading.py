"""Read markers: a staff member opening a ticket clears its unread badge."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from conversations import realtime

from ..models import Ticket


def ticket_mark_read(*, ticket: Ticket, actor: Any) -> bool:
    """Clear the ticket's unread count; publishes ``ticket.read`` (counts travel with it).

    A conditional UPDATE, so concurrent readers and a message arriving meanwhile never
    lose an increment made after the read. Returns whether anything changed."""
    with transaction.atomic():
        changed = (
            Ticket.objects.for_company(ticket.company_id)
            .filter(pk=ticket.pk, unread_count__gt=0)
            .update(unread_count=0)
        )
        if changed:
            ticket.unread_count = 0
            realtime.ticket_changed(ticket, "ticket.read", by=getattr(actor, "pk", None))
    return bool(changed)
