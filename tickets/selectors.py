"""Reads about tickets, company-scoped and visibility-checked.

Minimal version written by the live-inbox branch against docs/contracts.md; the ticket
workflow branch owns this module and replaces it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import Ticket


def visible_tickets(membership: Any) -> QuerySet[Ticket]:
    """Agents see their queues' tickets and their own; supervisors/admins the company."""
    qs = Ticket.objects.for_company(membership.company_id)
    if membership.is_supervisor:
        return qs
    return qs.filter(
        Q(queue__members=membership.user_id) | Q(assignee_id=membership.user_id)
    ).distinct()


def ticket_for_member(membership: Any, number: int) -> Ticket:
    """The ticket with this number if the member may see it, else Http404."""
    ticket = visible_tickets(membership).filter(number=number).first()
    if ticket is None:
        raise Http404
    return ticket
